package bundle

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/outcome"
)

func tree(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("test input: %v", err)
	}
	return m
}

// want is one expected issue: severity, location, and a word of the message.
type want struct{ severity, expression, word string }

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		version string
		bundle  string
		want    []want // exactly these issues, in order
	}{
		{
			name:    "not a bundle gives nothing",
			version: "4.0.1",
			bundle:  `{"resourceType":"Patient","id":"p"}`,
		},
		{
			name:    "search set: match without id and of a type not searched",
			version: "4.0.1",
			bundle: `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":"http://x/fhir/Patient?name=a"}],
				"entry":[{"fullUrl":"http://x/fhir/Observation/o","resource":{"resourceType":"Observation"},"search":{"mode":"match"}}]}`,
			want: []want{
				{outcome.Error, "Bundle.entry[0].resource", "must have an id"},
				{outcome.Error, "Bundle.entry[0].resource", "asked for Patient"},
			},
		},
		{
			name:    "search set: _type lists the types, outcome must be an OperationOutcome",
			version: "4.0.1",
			bundle: `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":"http://x/fhir?_type=Observation,Condition"}],
				"entry":[{"resource":{"resourceType":"Condition","id":"c"},"search":{"mode":"match"}},
				         {"resource":{"resourceType":"Patient","id":"p"},"search":{"mode":"outcome"}}]}`,
			want: []want{{outcome.Error, "Bundle.entry[1].resource", "must be an OperationOutcome"}},
		},
		{
			name:    "search set: include without id and entries without mode are warnings",
			version: "4.0.1",
			bundle: `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":"http://x/fhir/Patient"}],
				"entry":[{"resource":{"resourceType":"Organization"},"search":{"mode":"include"}},
				         {"resource":{"resourceType":"Patient","id":"p"}}]}`,
			want: []want{
				{outcome.Warning, "Bundle.entry[0].resource", "should have an id"},
				{outcome.Warning, "Bundle.entry[1]", "search mode"},
			},
		},
		{
			name:    "search set without self link or modes: warnings only",
			version: "4.0.1",
			bundle:  `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"OperationOutcome"}}]}`,
			want: []want{
				{outcome.Warning, "Bundle", "self link"},
				{outcome.Warning, "Bundle", "search mode"},
			},
		},
		{
			name:    "document: versioned reference to a version not in the bundle, unversioned one matching two",
			version: "4.0.1",
			bundle: `{"resourceType":"Bundle","type":"document","entry":[
				{"fullUrl":"http://x/fhir/Composition/c","resource":{"resourceType":"Composition","id":"c","subject":{"reference":"Patient/p"},
				  "section":[{"entry":[{"reference":"Observation/o/_history/3"},{"reference":"Observation/o/_history/1"},{"reference":"Observation/o"}]}]}},
				{"fullUrl":"http://x/fhir/Patient/p","resource":{"resourceType":"Patient","id":"p"}},
				{"fullUrl":"http://x/fhir/Observation/o","resource":{"resourceType":"Observation","id":"o","meta":{"versionId":"1"}}},
				{"fullUrl":"http://x/fhir/Observation/o","resource":{"resourceType":"Observation","id":"o","meta":{"versionId":"2"}}}]}`,
			want: []want{
				{outcome.Error, "Bundle.entry[0].resource.section[0].entry[0]", "is not in the document Bundle"},
				{outcome.Error, "Bundle.entry[0].resource.section[0].entry[2]", "matches 2 entries"},
			},
		},
		{
			name:    "document: relative reference resolves against the fullUrl base only",
			version: "4.0.1",
			bundle: `{"resourceType":"Bundle","type":"document","entry":[
				{"fullUrl":"http://a/fhir/Composition/c","resource":{"resourceType":"Composition","id":"c","author":[{"reference":"Practitioner/pr"}],
				  "attester":[{"party":{"reference":"urn:uuid:0c7a1601-3912-11ea-1758-020000000000"}}],"section":[{"section":[{"entry":[{"reference":"urn:uuid:9"}]}]}]}},
				{"fullUrl":"http://b/fhir/Practitioner/pr","resource":{"resourceType":"Practitioner","id":"pr"}},
				{"fullUrl":"urn:uuid:0c7a1601-3912-11ea-1758-020000000000","resource":{"resourceType":"Organization"}}]}`,
			want: []want{
				{outcome.Error, "Bundle.entry[0].resource.author[0]", "1 entry has the type and id"},
				{outcome.Error, "Bundle.entry[0].resource.section[0].section[0].entry[0]", "urn:uuid:9"},
			},
		},
		{
			name:    "document with urn:uuid fullUrls resolves Type/id on type and id",
			version: "4.0.1",
			bundle: `{"resourceType":"Bundle","type":"document","entry":[
				{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Composition","subject":{"reference":"Patient/p"},"encounter":{"reference":"#x"}}},
				{"fullUrl":"urn:uuid:2","resource":{"resourceType":"Patient","id":"p"}}]}`,
		},
		{
			name:    "STU3 document: date is meta.lastUpdated, Composition first",
			version: "3.0.1",
			bundle:  `{"resourceType":"Bundle","type":"document","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"}}]}`,
			want: []want{
				{outcome.Error, "Bundle", "meta.lastUpdated"},
				{outcome.Error, "Bundle.entry[0]", "must be a Composition"},
			},
		},
		{
			name:    "R4 document leaves date and first entry to bdl-10 and bdl-11",
			version: "4.0.1",
			bundle:  `{"resourceType":"Bundle","type":"document","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"}}]}`,
		},
		{
			name:    "STU3 message: MessageHeader first",
			version: "3.0",
			bundle:  `{"resourceType":"Bundle","type":"message","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"}}]}`,
			want:    []want{{outcome.Error, "Bundle.entry[0]", "must be a MessageHeader"}},
		},
		{
			name:    "message: focus not in the bundle is a warning",
			version: "4.0.1",
			bundle: `{"resourceType":"Bundle","type":"message","entry":[
				{"fullUrl":"urn:uuid:1","resource":{"resourceType":"MessageHeader","focus":[{"reference":"urn:uuid:2"},{"reference":"urn:uuid:3"}]}},
				{"fullUrl":"urn:uuid:2","resource":{"resourceType":"Encounter"}}]}`,
			want: []want{{outcome.Warning, "Bundle.entry[0].resource.focus[1]", "urn:uuid:3"}},
		},
		{
			name:    "relative reference whose id is an entry of another type",
			version: "4.0.1",
			bundle: `{"resourceType":"Bundle","type":"collection","entry":[
				{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","generalPractitioner":[{"reference":"Practitioner/5d9588d8"}]}},
				{"fullUrl":"urn:uuid:5d9588d8","resource":{"resourceType":"Organization"}}]}`,
			want: []want{{outcome.Error, "Bundle.entry[0].resource.generalPractitioner[0]", "is a Organization"}},
		},
		{
			name:    "relative reference with the right type elsewhere is fine",
			version: "4.0.1",
			bundle: `{"resourceType":"Bundle","type":"collection","entry":[
				{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","generalPractitioner":[{"reference":"Practitioner/x"}]}},
				{"fullUrl":"urn:uuid:2","resource":{"resourceType":"Organization","id":"x"}},
				{"fullUrl":"urn:uuid:3","resource":{"resourceType":"Practitioner","id":"x"}}]}`,
		},
		{
			name:    "history bundle: several versions of one resource are its point",
			version: "4.0.1",
			bundle: `{"resourceType":"Bundle","type":"history","entry":[
				{"fullUrl":"http://x/Patient/p","resource":{"resourceType":"Patient","id":"p","link":[{"other":{"reference":"Patient/p"}}]}},
				{"fullUrl":"http://x/Patient/p","resource":{"resourceType":"Patient","id":"p"}}]}`,
		},
		{
			name:    "collection: ambiguous reference anywhere in a resource",
			version: "4.0.1",
			bundle: `{"resourceType":"Bundle","type":"collection","entry":[
				{"fullUrl":"http://x/Observation/o","resource":{"resourceType":"Observation","id":"o","subject":{"reference":"http://x/Patient/p"}}},
				{"fullUrl":"http://x/Patient/p","resource":{"resourceType":"Patient","id":"p","meta":{"versionId":"1"}}},
				{"fullUrl":"http://x/Patient/p","resource":{"resourceType":"Patient","id":"p","meta":{"versionId":"2"}}}]}`,
			want: []want{{outcome.Error, "Bundle.entry[0].resource.subject", "matches 2 entries"}},
		},
		{
			name:    "nested bundle references are not resolved in the outer one",
			version: "4.0.1",
			bundle: `{"resourceType":"Bundle","type":"collection","entry":[
				{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","generalPractitioner":[{"reference":"Practitioner/9"}]}}]}},
				{"fullUrl":"urn:uuid:9","resource":{"resourceType":"Organization"}}]}`,
		},
		{
			name:    "transaction: a PUT resource must carry the id of the URL",
			version: "4.0.1",
			bundle: `{"resourceType":"Bundle","type":"transaction","entry":[
				{"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/a"}},
				{"resource":{"resourceType":"Patient","id":"b"},"request":{"method":"PUT","url":"Patient/c"}},
				{"resource":{"resourceType":"Patient"},"request":{"method":"PUT","url":"Organization/d"}},
				{"resource":{"resourceType":"Patient"},"request":{"method":"PUT","url":"Patient?identifier=x|1"}},
				{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`,
			want: []want{
				{outcome.Warning, "Bundle.entry[1].resource", "with id \"c\""},
				{outcome.Warning, "Bundle.entry[2].request.url", "puts a Patient to a Organization URL"},
			},
		},
		{
			name:    "wrong shapes everywhere do not panic",
			version: "4.0.1",
			bundle: `{"resourceType":"Bundle","type":"document","link":"x","entry":[1,"a",null,{"resource":[]},{"resource":{"resourceType":"Composition","subject":"x",
				"author":[1,{"reference":2}],"attester":[{"party":[]}],"event":{"detail":{"reference":"Patient/p"}},"section":[{"entry":{"reference":"Patient/q"},"section":7}]}}]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Check(tree(t, tc.bundle), tc.version)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d issues, want %d:\n%s", len(got), len(tc.want), dump(got))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Severity != w.severity || strings.Join(g.Expression, ",") != w.expression || !strings.Contains(g.Diagnostics, w.word) {
					t.Errorf("issue %d: got %s %v %q, want %s %s containing %q", i, g.Severity, g.Expression, g.Diagnostics, w.severity, w.expression, w.word)
				}
			}
		})
	}
}

func dump(is []outcome.Issue) string {
	var b strings.Builder
	for _, i := range is {
		b.WriteString("  " + i.Severity + " " + strings.Join(i.Expression, ",") + ": " + i.Diagnostics + "\n")
	}
	return b.String()
}

// TestCheckBounded feeds deep nesting, many entries and many bad
// references: Check returns, with its issues capped.
func TestCheckBounded(t *testing.T) {
	var deep any = map[string]any{"reference": "Patient/x"}
	for i := 0; i < 10000; i++ {
		deep = map[string]any{"extension": []any{deep}}
	}
	entries := []any{map[string]any{"fullUrl": "urn:uuid:d", "resource": map[string]any{"resourceType": "Basic", "extension": []any{deep}}}}
	for i := 0; i < 1200; i++ {
		entries = append(entries,
			map[string]any{"fullUrl": "http://x/Patient/p", "resource": map[string]any{"resourceType": "Patient", "id": "p"}},
			map[string]any{"fullUrl": "urn:uuid:o", "resource": map[string]any{"resourceType": "Observation", "subject": map[string]any{"reference": "http://x/Patient/p"}}})
	}
	got := Check(map[string]any{"resourceType": "Bundle", "type": "collection", "entry": entries}, "4.0.1")
	if len(got) != MaxIssues+1 {
		t.Fatalf("got %d issues, want the cap %d plus one saying so", len(got), MaxIssues)
	}
	if last := got[len(got)-1]; last.Code != outcome.CodeTooCostly {
		t.Errorf("last issue should say the list was cut: %+v", last)
	}
}

func TestCheckAt(t *testing.T) {
	b := tree(t, `{"resourceType":"Bundle","type":"message","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"}}]}`)
	got := CheckAt(b, "3.0.1", "Bundle.entry[2].resource")
	if len(got) != 1 || strings.Join(got[0].Expression, ",") != "Bundle.entry[2].resource.entry[0]" {
		t.Fatalf("locations not rebased: %s", dump(got))
	}
}

func TestSelect(t *testing.T) {
	b := tree(t, `{"resourceType":"Bundle","type":"collection","entry":[
		{"resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Observation","id":"o"}},
		{"resource":{"resourceType":"Patient","id":"b"}},"junk",{"resource":7}]}`)
	tests := []struct {
		name, rule string
		want       []int
		fails      bool
	}{
		{"every entry of a type", "Patient", []int{0, 2}, false},
		{"first of a type", "Patient:0", []int{0}, false},
		{"second of a type counts that type only", "Patient:1", []int{2}, false},
		{"by id", "Patient:b", []int{2}, false},
		{"index past the end selects nothing", "Patient:9", nil, false},
		{"type not present", "Condition", nil, false},
		{"empty rule", "", nil, true},
		{"empty selector", "Patient:", nil, true},
		{"negative index", "Patient:-1", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(b, tc.rule)
			if (err != nil) != tc.fails {
				t.Fatalf("error %v, want failure %v", err, tc.fails)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
