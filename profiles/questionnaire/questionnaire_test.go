package questionnaire

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/outcome"
)

// tree decodes JSON the way profiles/ does (numbers as json.Number).
func tree(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

func errorsOf(issues []Issue) []Issue {
	var out []Issue
	for _, is := range issues {
		if is.Severity == outcome.Error || is.Severity == outcome.Fatal {
			out = append(out, is)
		}
	}
	return out
}

// testEnv knows one value set (http://example.org/vs: example#a, example#b,
// both with display "A"/"B") and one ValueSet resource for string answers.
var testEnv = Env{
	Resolve: func(canonical string) (map[string]any, bool) {
		switch canonical {
		case "http://example.org/vs":
			return map[string]any{"resourceType": "ValueSet", "compose": map[string]any{"include": []any{map[string]any{"system": "http://example.org"}}}}, true
		case "http://example.org/not-a-q":
			return map[string]any{"resourceType": "ValueSet"}, true
		case "http://example.org/q":
			return map[string]any{"resourceType": "Questionnaire", "item": []any{map[string]any{"linkId": "a", "type": "boolean", "required": true}}}, true
		}
		return nil, false
	},
	MemberOf: func(vs, system, code string) (bool, bool) {
		if vs != "http://example.org/vs" {
			return false, false
		}
		return system == "http://example.org" && (code == "a" || code == "b"), true
	},
	DisplayOK: func(system, code, display string) (bool, bool) {
		if system != "http://example.org" {
			return false, false
		}
		return strings.EqualFold(display, code), true
	},
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name string
		q    string
		qr   string
		want []string // substrings of the expected error messages, in order; none means valid
		warn string   // a substring of an expected warning
	}{
		{name: "valid boolean answer",
			q:  `{"item":[{"linkId":"a","type":"boolean","required":true}]}`,
			qr: `{"status":"completed","item":[{"linkId":"a","answer":[{"valueBoolean":true}]}]}`},
		{name: "unknown linkId",
			q:    `{"item":[{"linkId":"a","type":"boolean"}]}`,
			qr:   `{"item":[{"linkId":"zz","answer":[{"valueBoolean":true}]}]}`,
			want: []string{`linkId "zz" is not in the questionnaire`}},
		{name: "item at the wrong level",
			q:    `{"item":[{"linkId":"g","type":"group","item":[{"linkId":"a","type":"string"}]}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueString":"x"}]}]}`,
			want: []string{"not at this level"}},
		{name: "items out of order",
			q:    `{"item":[{"linkId":"a","type":"string"},{"linkId":"b","type":"string"}]}`,
			qr:   `{"item":[{"linkId":"b","answer":[{"valueString":"x"}]},{"linkId":"a","answer":[{"valueString":"y"}]}]}`,
			want: []string{"out of order"}},
		{name: "second answer to a non-repeating item",
			q:    `{"item":[{"linkId":"a","type":"string"}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueString":"x"},{"valueString":"y"}]}]}`,
			want: []string{"does not repeat"}},
		{name: "repeated non-repeating item",
			q:    `{"item":[{"linkId":"a","type":"string"}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueString":"x"}]},{"linkId":"a","answer":[{"valueString":"y"}]}]}`,
			want: []string{"appears more than once"}},
		{name: "required item missing in a completed response",
			q:    `{"item":[{"linkId":"a","type":"string","required":true}]}`,
			qr:   `{"status":"completed"}`,
			want: []string{`required item "a"`}},
		{name: "required item missing in an in-progress response",
			q:  `{"item":[{"linkId":"a","type":"string","required":true}]}`,
			qr: `{"status":"in-progress"}`},
		{name: "required item disabled by enableWhen",
			q:  `{"item":[{"linkId":"c","type":"boolean"},{"linkId":"a","type":"string","required":true,"enableWhen":[{"question":"c","operator":"=","answerBoolean":true}]}]}`,
			qr: `{"status":"completed","item":[{"linkId":"c","answer":[{"valueBoolean":false}]}]}`},
		{name: "answer to an item enableWhen disables",
			q:    `{"item":[{"linkId":"c","type":"boolean"},{"linkId":"a","type":"string","enableWhen":[{"question":"c","operator":"=","answerBoolean":true}]}]}`,
			qr:   `{"item":[{"linkId":"c","answer":[{"valueBoolean":false}]},{"linkId":"a","answer":[{"valueString":"x"}]}]}`,
			want: []string{"not enabled"}},
		{name: "enableBehavior any with one condition met",
			q:  `{"item":[{"linkId":"n","type":"integer"},{"linkId":"a","type":"string","enableBehavior":"any","enableWhen":[{"question":"n","operator":">","answerInteger":5},{"question":"n","operator":"=","answerInteger":1}]}]}`,
			qr: `{"item":[{"linkId":"n","answer":[{"valueInteger":1}]},{"linkId":"a","answer":[{"valueString":"x"}]}]}`},
		{name: "enableBehavior all with one condition failing",
			q:    `{"item":[{"linkId":"n","type":"integer"},{"linkId":"a","type":"string","enableBehavior":"all","enableWhen":[{"question":"n","operator":">","answerInteger":5},{"question":"n","operator":"exists","answerBoolean":true}]}]}`,
			qr:   `{"item":[{"linkId":"n","answer":[{"valueInteger":1}]},{"linkId":"a","answer":[{"valueString":"x"}]}]}`,
			want: []string{"not enabled"}},
		{name: "enableWhenExpression false disables",
			q:    `{"item":[{"linkId":"c","type":"boolean"},{"linkId":"a","type":"boolean","extension":[{"url":"http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression","valueExpression":{"language":"text/fhirpath","expression":"%resource.item.where(linkId='c').answer.value"}}]}]}`,
			qr:   `{"resourceType":"QuestionnaireResponse","item":[{"linkId":"c","answer":[{"valueBoolean":false}]},{"linkId":"a","answer":[{"valueBoolean":true}]}]}`,
			want: []string{"not enabled"}},
		{name: "enableWhenExpression true enables",
			q:  `{"item":[{"linkId":"c","type":"boolean"},{"linkId":"a","type":"boolean","extension":[{"url":"http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression","valueExpression":{"language":"text/fhirpath","expression":"%resource.item.where(linkId='c').answer.value"}}]}]}`,
			qr: `{"resourceType":"QuestionnaireResponse","item":[{"linkId":"c","answer":[{"valueBoolean":true}]},{"linkId":"a","answer":[{"valueBoolean":true}]}]}`},
		{name: "answer of the wrong type",
			q:    `{"item":[{"linkId":"a","type":"integer"}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueString":"7"}]}]}`,
			want: []string{"must be of type Integer"}},
		{name: "answer to a display item",
			q:    `{"item":[{"linkId":"d","type":"display"}]}`,
			qr:   `{"item":[{"linkId":"d","answer":[{"valueString":"x"}]}]}`,
			want: []string{"display item"}},
		{name: "answer to a group item",
			q:    `{"item":[{"linkId":"g","type":"group","item":[{"linkId":"a","type":"string"}]}]}`,
			qr:   `{"item":[{"linkId":"g","answer":[{"valueString":"x"}]}]}`,
			want: []string{"group item"}},
		{name: "answer to an abstract question item",
			q:    `{"item":[{"linkId":"a","type":"question"}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueString":"x"}]}]}`,
			want: []string{"abstract type question"}},
		{name: "answer not among the options",
			q:    `{"item":[{"linkId":"a","type":"choice","answerOption":[{"valueCoding":{"system":"http://example.org","code":"a"}}]}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueCoding":{"system":"http://example.org","code":"z"}}]}]}`,
			want: []string{"not one of the answer options"}},
		{name: "integer option matched",
			q:  `{"item":[{"linkId":"a","type":"integer","answerOption":[{"valueInteger":3},{"valueInteger":4}]}]}`,
			qr: `{"item":[{"linkId":"a","answer":[{"valueInteger":4}]}]}`},
		{name: "open-choice free text beside options",
			q:  `{"item":[{"linkId":"a","type":"open-choice","answerOption":[{"valueCoding":{"system":"http://example.org","code":"a"}}]}]}`,
			qr: `{"item":[{"linkId":"a","answer":[{"valueString":"something else"}]}]}`},
		{name: "exclusive option with another answer",
			q:    `{"item":[{"linkId":"a","type":"choice","repeats":true,"answerOption":[{"valueCoding":{"system":"http://example.org","code":"a"}},{"valueCoding":{"system":"http://example.org","code":"none"},"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive","valueBoolean":true}]}]}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueCoding":{"system":"http://example.org","code":"a"}},{"valueCoding":{"system":"http://example.org","code":"none"}}]}]}`,
			want: []string{"exclusive option"}},
		{name: "code outside the answer value set",
			q:    `{"item":[{"linkId":"a","type":"choice","answerValueSet":"http://example.org/vs"}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueCoding":{"system":"http://example.org","code":"z"}}]}]}`,
			want: []string{"not in the value set"}},
		{name: "code in the value set with a wrong display",
			q:    `{"item":[{"linkId":"a","type":"choice","answerValueSet":"http://example.org/vs"}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueCoding":{"system":"http://example.org","code":"a","display":"Bee"}}]}]}`,
			want: []string{"wrong display"}},
		{name: "value set the hook cannot decide",
			q:    `{"item":[{"linkId":"a","type":"choice","answerValueSet":"http://example.org/unknown-vs"}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueCoding":{"system":"http://other.org","code":"z"}}]}]}`,
			warn: "could not be checked offline"},
		{name: "string answer that is not a code of the value set",
			q:    `{"item":[{"linkId":"a","type":"string","repeats":true,"answerValueSet":"http://example.org/vs"}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueString":"a"},{"valueString":"Alpha"}]}]}`,
			want: []string{`"Alpha" is not in the list of allowed values`}},
		{name: "maxLength exceeded",
			q:    `{"item":[{"linkId":"a","type":"string","maxLength":3}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueString":"abcd"}]}]}`,
			want: []string{"maxLength 3"}},
		{name: "regex not matched",
			q:    `{"item":[{"linkId":"a","type":"string","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/regex","valueString":"[0-9]+"}]}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueString":"12a"}]}]}`,
			want: []string{"does not match the pattern"}},
		{name: "integer below minValue and decimal above maxValue",
			q:    `{"item":[{"linkId":"i","type":"integer","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/minValue","valueInteger":10}]},{"linkId":"d","type":"decimal","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/maxValue","valueDecimal":1.5}]}]}`,
			qr:   `{"item":[{"linkId":"i","answer":[{"valueInteger":9}]},{"linkId":"d","answer":[{"valueDecimal":1.50001}]}]}`,
			want: []string{"less than the minimum 10", "greater than the maximum 1.5"}},
		{name: "date within bounds",
			q:  `{"item":[{"linkId":"a","type":"date","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/minValue","valueDate":"2020-01-01"}]}]}`,
			qr: `{"item":[{"linkId":"a","answer":[{"valueDate":"2021-06-30"}]}]}`},
		{name: "too many decimal places",
			q:    `{"item":[{"linkId":"a","type":"decimal","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces","valueInteger":2}]}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueDecimal":1.234}]}]}`,
			want: []string{"3 decimal places"}},
		{name: "attachment of a type and size not allowed",
			q:    `{"item":[{"linkId":"a","type":"attachment","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/mimeType","valueCode":"application/pdf"},{"url":"http://hl7.org/fhir/StructureDefinition/maxSize","valueDecimal":100}]}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueAttachment":{"contentType":"image/png","size":101}}]}]}`,
			want: []string{"content type image/png is not allowed", "larger than the maximum"}},
		{name: "reference to a type not allowed",
			q:    `{"item":[{"linkId":"a","type":"reference","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/questionnaire-referenceResource","valueCode":"Patient"}]}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueReference":{"reference":"https://example.org/fhir/Organization/1"}}]}]}`,
			want: []string{"resource type Organization"}},
		{name: "reference to an allowed type",
			q:  `{"item":[{"linkId":"a","type":"reference","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/questionnaire-referenceResource","valueCode":"Patient"}]}]}`,
			qr: `{"item":[{"linkId":"a","answer":[{"valueReference":{"reference":"Patient/p1"}}]}]}`},
		{name: "quantity unit not among the unit options",
			q:    `{"item":[{"linkId":"a","type":"quantity","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption","valueCoding":{"system":"http://unitsofmeasure.org","code":"kg"}}]}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueQuantity":{"value":3,"system":"http://unitsofmeasure.org","code":"g"}}]}]}`,
			want: []string{"unit options"}},
		{name: "nested answers checked",
			q:    `{"item":[{"linkId":"a","type":"boolean","item":[{"linkId":"b","type":"integer"}]}]}`,
			qr:   `{"item":[{"linkId":"a","answer":[{"valueBoolean":true,"item":[{"linkId":"b","answer":[{"valueDecimal":1.5}]}]}]}]}`,
			want: []string{"must be of type Integer"}},
		{name: "STU3 options and hasAnswer",
			q:  `{"item":[{"linkId":"c","type":"boolean"},{"linkId":"a","type":"choice","option":[{"valueCoding":{"system":"http://example.org","code":"a"}}],"enableWhen":[{"question":"c","hasAnswer":true}]}]}`,
			qr: `{"questionnaire":{"reference":"Questionnaire/x"},"item":[{"linkId":"c","answer":[{"valueBoolean":true}]},{"linkId":"a","answer":[{"valueCoding":{"system":"http://example.org","code":"a"}}]}]}`},
		{name: "huge exponent is not compared",
			q:  `{"item":[{"linkId":"a","type":"decimal","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/maxValue","valueDecimal":1e999999999}]}]}`,
			qr: `{"item":[{"linkId":"a","answer":[{"valueDecimal":2e999999999}]}]}`},
		{name: "invalid enableWhenExpression leaves the item enabled",
			q:  `{"item":[{"linkId":"a","type":"boolean","extension":[{"url":"http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression","valueExpression":{"language":"text/fhirpath","expression":"item.where(("}}]}]}`,
			qr: `{"item":[{"linkId":"a","answer":[{"valueBoolean":true}]}]}`},
		{name: "garbage shapes do not panic",
			q:    `{"item":[{"linkId":"a","type":"string","maxLength":"x","extension":"nope"},7,null]}`,
			qr:   `{"item":[{"linkId":"a","answer":[7,"s",{"valueString":{"x":1}}]},null,"x"]}`,
			want: []string{"does not repeat", `linkId "" is not in the questionnaire`, `linkId "" is not in the questionnaire`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			all := Check(context.Background(), tree(t, tc.qr), tree(t, tc.q), testEnv)
			if tc.warn != "" {
				found := false
				for _, is := range all {
					found = found || is.Severity == outcome.Warning && strings.Contains(is.Diagnostics, tc.warn)
				}
				if !found {
					t.Errorf("want a warning mentioning %q, got %+v", tc.warn, all)
				}
			}
			errs := errorsOf(all)
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d error(s), want %d: %+v", len(errs), len(tc.want), errs)
			}
			for i, w := range tc.want {
				if !strings.Contains(errs[i].Diagnostics, w) {
					t.Errorf("error %d = %q, want it to mention %q", i, errs[i].Diagnostics, w)
				}
				if len(errs[i].Expression) == 0 || !strings.HasPrefix(errs[i].Expression[0], "QuestionnaireResponse") {
					t.Errorf("error %d has no QuestionnaireResponse location: %v", i, errs[i].Expression)
				}
			}
		})
	}
}

func TestValidateFindsQuestionnaire(t *testing.T) {
	cases := []struct {
		name     string
		qr       string
		wantErr  string
		wantWarn string
	}{
		{name: "canonical resolved and checked", qr: `{"questionnaire":"http://example.org/q","status":"completed"}`, wantErr: `required item "a"`},
		{name: "canonical of a ValueSet", qr: `{"questionnaire":"http://example.org/not-a-q"}`, wantErr: "refers to a ValueSet, not a Questionnaire"},
		{name: "canonical not found", qr: `{"questionnaire":"http://example.org/missing"}`, wantWarn: "could not be found"},
		{name: "contained questionnaire", qr: `{"questionnaire":"#q","contained":[{"resourceType":"Questionnaire","id":"q","item":[{"linkId":"a","type":"integer"}]}],"item":[{"linkId":"a","answer":[{"valueBoolean":true}]}]}`, wantErr: "must be of type Integer"},
		{name: "no questionnaire", qr: `{"status":"completed"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := Validate(context.Background(), tree(t, tc.qr), testEnv)
			errs := errorsOf(out)
			switch {
			case tc.wantErr != "" && (len(errs) != 1 || !strings.Contains(errs[0].Diagnostics, tc.wantErr)):
				t.Errorf("want one error mentioning %q, got %+v", tc.wantErr, out)
			case tc.wantErr == "" && len(errs) > 0:
				t.Errorf("want no error, got %+v", errs)
			case tc.wantWarn != "" && (len(out) != 1 || out[0].Severity != outcome.Warning || !strings.Contains(out[0].Diagnostics, tc.wantWarn)):
				t.Errorf("want one warning mentioning %q, got %+v", tc.wantWarn, out)
			case tc.wantErr == "" && tc.wantWarn == "" && len(out) > 0:
				t.Errorf("want nothing, got %+v", out)
			}
		})
	}
}

func TestCheckQuestionnaire(t *testing.T) {
	cases := []struct {
		name string
		q    string
		want string // "" means no error
	}{
		{name: "valid enableWhen on an earlier item",
			q: `{"item":[{"linkId":"a","type":"boolean"},{"linkId":"b","type":"string","enableWhen":[{"question":"a","operator":"exists","answerBoolean":true}]}]}`},
		{name: "enableWhen on an inner question",
			q:    `{"item":[{"linkId":"g","type":"group","enableWhen":[{"question":"c","operator":"=","answerBoolean":true}],"item":[{"linkId":"c","type":"boolean"}]}]}`,
			want: "inner question"},
		{name: "enableWhen on a missing question",
			q:    `{"item":[{"linkId":"b","type":"string","enableWhen":[{"question":"nope","operator":"exists","answerBoolean":true}]}]}`,
			want: "not in the questionnaire"},
		{name: "enableWhen on the item itself",
			q:    `{"item":[{"linkId":"b","type":"string","enableWhen":[{"question":"b","operator":"exists","answerBoolean":true}]}]}`,
			want: "the item itself"},
		{name: "two enableWhen without enableBehavior (que-12)",
			q:    `{"item":[{"linkId":"a","type":"integer"},{"linkId":"b","type":"integer","enableWhen":[{"question":"a","operator":"=","answerInteger":1},{"question":"a","operator":"=","answerInteger":2}]}]}`,
			want: "que-12"},
		{name: "two STU3 enableWhen need no enableBehavior",
			q: `{"item":[{"linkId":"a","type":"integer"},{"linkId":"b","type":"integer","enableWhen":[{"question":"a","hasAnswer":true},{"question":"a","answerInteger":2}]}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := errorsOf(CheckQuestionnaire(tree(t, tc.q), ""))
			if tc.want == "" {
				if len(errs) > 0 {
					t.Errorf("want no error, got %+v", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Diagnostics, tc.want) {
				t.Errorf("want one error mentioning %q, got %+v", tc.want, errs)
			}
		})
	}
}

// TestHostileNesting: 10,000 levels of items give one bounded error, not a
// stack overflow, and an issue flood is capped.
func TestHostileNesting(t *testing.T) {
	const depth = 10000
	nest := func() map[string]any {
		root := map[string]any{}
		cur := root
		for i := 0; i < depth; i++ {
			next := map[string]any{"linkId": fmt.Sprint("g", i), "type": "group"}
			cur["item"] = []any{next}
			cur = next
		}
		return root
	}
	q, qr := nest(), nest()
	errs := errorsOf(Check(context.Background(), qr, q, Env{}))
	if len(errs) != 1 || errs[0].Code != outcome.CodeTooCostly {
		t.Errorf("want one too-costly error, got %d: %+v", len(errs), errs[:min(len(errs), 3)])
	}
	if errs := errorsOf(CheckQuestionnaire(q, "")); len(errs) != 1 {
		t.Errorf("CheckQuestionnaire: want one too-costly error, got %d", len(errs))
	}

	items := make([]any, 5000)
	for i := range items {
		items[i] = map[string]any{"linkId": "missing"}
	}
	flood := Check(context.Background(), map[string]any{"item": items}, map[string]any{}, Env{})
	if len(flood) != MaxIssues {
		t.Errorf("want the issues capped at %d, got %d", MaxIssues, len(flood))
	}
}
