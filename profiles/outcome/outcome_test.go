package outcome

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestOutcome(t *testing.T) {
	o := New()
	if o.HasErrors() {
		t.Error("empty outcome has errors")
	}
	o.Add(Warning, CodeValue, "Patient.b", "w %d", 1)
	o.Add(Information, CodeInformational, "", "note")
	o.Add(Error, CodeStructure, "Patient.a", "e")
	if !o.HasErrors() || o.Count(Error) != 1 || len(o.Errors()) != 1 {
		t.Errorf("counts wrong: %+v", o.Issue)
	}
	o.Sort()
	if o.Issue[0].Severity != Error || o.Issue[2].Severity != Information {
		t.Errorf("not sorted by severity: %+v", o.Issue)
	}
	txt := o.Text()
	if !strings.HasPrefix(txt, "1 error(s), 1 warning(s), 1 information") || !strings.Contains(txt, "Patient.a: e") {
		t.Errorf("text form:\n%s", txt)
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil || back["resourceType"] != "OperationOutcome" {
		t.Errorf("JSON form: %s", b)
	}
	if strings.Contains(string(b), `"expression":[""]`) {
		t.Errorf("empty expression serialised: %s", b)
	}
}
