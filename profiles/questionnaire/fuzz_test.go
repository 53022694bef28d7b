package questionnaire

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzCheck feeds arbitrary JSON as Questionnaire and response: the checks
// must return (bounded) issues and never panic.
func FuzzCheck(f *testing.F) {
	f.Add(`{"item":[{"linkId":"a","type":"integer","required":true,"enableWhen":[{"question":"b","operator":">","answerInteger":1}]}]}`,
		`{"status":"completed","item":[{"linkId":"a","answer":[{"valueInteger":"x"}]}]}`)
	f.Add(`{"item":[{"linkId":"a","type":"quantity","extension":[{"url":"http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-minQuantity","valueQuantity":{"value":1e5,"system":"http://unitsofmeasure.org","code":"km"}}]}]}`,
		`{"item":[{"linkId":"a","answer":[{"valueQuantity":{"value":3,"system":"http://unitsofmeasure.org","code":"m"}}]}]}`)
	f.Add(`{"item":[{"linkId":"a","type":"boolean","extension":[{"url":"http://phr.kanta.fi/StructureDefinition/fiphr-ext-questionnaire-enablewhen","valueString":"descendants().count() > 1"}]}]}`,
		`{"item":[{"linkId":"a","answer":[{"valueBoolean":true,"item":[{"linkId":"a"}]}]}],"questionnaire":{"reference":"#q"}}`)
	f.Fuzz(func(t *testing.T, qs, rs string) {
		d := json.NewDecoder(strings.NewReader(qs))
		d.UseNumber()
		var q map[string]any
		if d.Decode(&q) != nil {
			return
		}
		d = json.NewDecoder(strings.NewReader(rs))
		d.UseNumber()
		var qr map[string]any
		if d.Decode(&qr) != nil {
			return
		}
		if out := Check(context.Background(), qr, q, testEnv); len(out) > MaxIssues {
			t.Fatalf("%d issues, more than the cap %d", len(out), MaxIssues)
		}
		_ = Validate(context.Background(), qr, testEnv)
		_ = CheckQuestionnaire(q, "")
	})
}
