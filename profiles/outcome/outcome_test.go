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

func TestUndecided(t *testing.T) {
	o := New()
	o.Add(Warning, CodeValue, "Patient.b", "a real warning")
	o.AddUndecided(Warning, CodeNotSupported, "Patient.c", "membership could not be checked")
	if got := o.Undecided(); len(got) != 1 || got[0].Expression[0] != "Patient.c" {
		t.Fatalf("Undecided() = %+v, want the one marked issue", got)
	}
	if o.HasErrors() {
		t.Error("an undecided issue is not an error")
	}
	if !strings.Contains(o.Text(), "1 undecided") || !strings.Contains(o.Text(), "undecided   Patient.c") {
		t.Errorf("text form does not show the undecided check:\n%s", o.Text())
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"extension":[{"url":"`+UndecidedURL+`","valueBoolean":true}],"severity":"warning"`) {
		t.Errorf("JSON does not carry the undecided extension on the issue: %s", b)
	}
	var back OperationOutcome
	if err := json.Unmarshal(b, &back); err != nil || len(back.Undecided()) != 1 {
		t.Errorf("the marker does not survive a JSON round trip: %v %+v", err, back.Issue)
	}
	if is := o.Issue[1].MarkUndecided(); len(is.Extension) != 1 {
		t.Errorf("marking twice adds the extension twice: %+v", is.Extension)
	}
}
