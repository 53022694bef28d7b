package terminology

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// synthetic builds a Source from JSON texts of ValueSets and CodeSystems.
func synthetic(t testing.TB, resources ...string) mapSource {
	t.Helper()
	src := mapSource{}
	for _, r := range resources {
		dec := json.NewDecoder(bytes.NewReader([]byte(r)))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("bad test resource: %v\n%s", err, r)
		}
		src.add(m)
	}
	return src
}

// A small clinical code system: nesting and parent properties both build the
// hierarchy; properties for = / in / regex / exists filters.
const testCS = `{"resourceType":"CodeSystem","url":"http://example.org/cs/finding","version":"2","content":"complete",
 "caseSensitive":true,"hierarchyMeaning":"is-a",
 "property":[{"code":"parent","type":"code"},{"code":"severity","type":"code"},{"code":"notSelectable","type":"boolean"},{"code":"rank","type":"integer"}],
 "concept":[
  {"code":"finding","display":"Finding","property":[{"code":"notSelectable","valueBoolean":true}],"concept":[
    {"code":"pain","display":"Pain","designation":[{"language":"nl","value":"Pijn"}],"property":[{"code":"severity","valueCode":"moderate"},{"code":"rank","valueInteger":2}],"concept":[
      {"code":"headache","display":"Headache","property":[{"code":"severity","valueCode":"mild"}]},
      {"code":"chest-pain","display":"Chest pain","property":[{"code":"severity","valueCode":"severe"}]}]},
    {"code":"fever","display":"Fever","property":[{"code":"severity","valueCode":"moderate"}]}]},
  {"code":"contraction","display":"Contraction","property":[{"code":"parent","valueCode":"finding"}]},
  {"code":"other","display":"Other"}]}`

const testFragment = `{"resourceType":"CodeSystem","url":"http://example.org/cs/fragment","content":"fragment",
 "concept":[{"code":"a","display":"A","concept":[{"code":"a1","display":"A one"}]},{"code":"b","display":"B"}]}`

const testCaseless = `{"resourceType":"CodeSystem","url":"http://example.org/cs/caseless","content":"complete","caseSensitive":false,
 "concept":[{"code":"Alpha","display":"Alpha"}]}`

func vs(url, compose string) string {
	return fmt.Sprintf(`{"resourceType":"ValueSet","url":%q,"version":"1","compose":%s}`, url, compose)
}

func TestComposeSynthetic(t *testing.T) {
	const fs = "http://example.org/cs/finding"
	f := func(op, value string) string {
		return vs("http://example.org/vs/"+op, fmt.Sprintf(`{"include":[{"system":%q,"filter":[{"property":"concept","op":%q,"value":%q}]}]}`, fs, op, value))
	}
	src := synthetic(t, testCS, testFragment, testCaseless,
		f("is-a", "pain"), f("descendent-of", "pain"), f("is-not-a", "pain"), f("generalizes", "headache"),
		f("in", "fever,other"), f("not-in", "fever,other"), f("regex", ".*-pain"), f("child-of", "finding"),
		vs("http://example.org/vs/severity", `{"include":[{"system":"http://example.org/cs/finding","filter":[{"property":"severity","op":"=","value":"moderate"}]}]}`),
		vs("http://example.org/vs/severity-in", `{"include":[{"system":"http://example.org/cs/finding","filter":[{"property":"severity","op":"in","value":"mild,severe"}]}]}`),
		vs("http://example.org/vs/severity-exists", `{"include":[{"system":"http://example.org/cs/finding","filter":[{"property":"severity","op":"exists","value":"false"}]}]}`),
		vs("http://example.org/vs/rank", `{"include":[{"system":"http://example.org/cs/finding","filter":[{"property":"rank","op":"=","value":"2"}]}]}`),
		vs("http://example.org/vs/parent", `{"include":[{"system":"http://example.org/cs/finding","filter":[{"property":"parent","op":"=","value":"finding"}]}]}`),
		vs("http://example.org/vs/two-filters", `{"include":[{"system":"http://example.org/cs/finding","filter":[
			{"property":"concept","op":"is-a","value":"finding"},{"property":"severity","op":"=","value":"moderate"}]}]}`),
		vs("http://example.org/vs/bad-filter-code", `{"include":[{"system":"http://example.org/cs/finding","filter":[{"property":"concept","op":"is-a","value":"nope"}]}]}`),
		vs("http://example.org/vs/bad-property", `{"include":[{"system":"http://example.org/cs/finding","filter":[{"property":"colour","op":"=","value":"red"}]}]}`),
		vs("http://example.org/vs/bad-regex", `{"include":[{"system":"http://example.org/cs/finding","filter":[{"property":"concept","op":"regex","value":"(?<=x)a"}]}]}`),
		vs("http://example.org/vs/whole", `{"include":[{"system":"http://example.org/cs/finding"}]}`),
		vs("http://example.org/vs/whole-v2", `{"include":[{"system":"http://example.org/cs/finding","version":"2"}]}`),
		vs("http://example.org/vs/whole-v9", `{"include":[{"system":"http://example.org/cs/finding","version":"9"}]}`),
		vs("http://example.org/vs/fragment", `{"include":[{"system":"http://example.org/cs/fragment"}]}`),
		vs("http://example.org/vs/fragment-isa", `{"include":[{"system":"http://example.org/cs/fragment","filter":[{"property":"concept","op":"is-a","value":"a"}]}]}`),
		vs("http://example.org/vs/caseless", `{"include":[{"system":"http://example.org/cs/caseless"}]}`),
		vs("http://example.org/vs/listed-bad", `{"include":[{"system":"http://example.org/cs/finding","concept":[{"code":"pain"},{"code":"invented"}]}]}`),
		vs("http://example.org/vs/snomed-mixed", `{"include":[{"system":"http://snomed.info/sct","concept":[{"code":"22298006","display":"Myocardial infarction"}]},
			{"system":"http://snomed.info/sct","filter":[{"property":"concept","op":"is-a","value":"404684003"}]}]}`),
		vs("http://example.org/vs/snomed-desc", `{"include":[{"system":"http://snomed.info/sct","filter":[{"property":"concept","op":"descendent-of","value":"404684003"}]}]}`),
		vs("http://example.org/vs/loinc-regex", `{"include":[{"system":"http://loinc.org","filter":[{"property":"code","op":"regex","value":"[0-9]+-[0-9]"}]}]}`),
		vs("http://example.org/vs/loinc-scale", `{"include":[{"system":"http://loinc.org","filter":[{"property":"SCALE_TYP","op":"=","value":"Qn"}]}]}`),
		vs("http://example.org/vs/snomed-excl", `{"include":[{"system":"http://example.org/cs/finding","filter":[{"property":"concept","op":"is-a","value":"pain"}]},
			{"system":"http://snomed.info/sct","concept":[{"code":"22298006"}]}],
			"exclude":[{"system":"http://snomed.info/sct","filter":[{"property":"concept","op":"is-a","value":"64572001"}]}]}`),
		vs("http://example.org/vs/loinc-all-minus", `{"include":[{"system":"http://loinc.org"}],"exclude":[{"system":"http://loinc.org","concept":[{"code":"8480-6"}]}]}`),
		vs("http://example.org/vs/import-pain", `{"include":[{"valueSet":["http://example.org/vs/is-a"]}]}`),
		vs("http://example.org/vs/intersect", `{"include":[{"valueSet":["http://example.org/vs/is-a","http://example.org/vs/severity"]}]}`),
		vs("http://example.org/vs/intersect-open", `{"include":[{"valueSet":["http://example.org/vs/is-a","http://example.org/vs/snomed-mixed"]}]}`),
		vs("http://example.org/vs/system-and-import", `{"include":[{"system":"http://example.org/cs/finding","concept":[{"code":"pain"},{"code":"fever"}],"valueSet":["http://example.org/vs/severity"]}]}`),
		vs("http://example.org/vs/import-missing", `{"include":[{"valueSet":["http://example.org/vs/absent"]}]}`),
		vs("http://example.org/vs/cycle-a", `{"include":[{"valueSet":["http://example.org/vs/cycle-b"]}]}`),
		vs("http://example.org/vs/cycle-b", `{"include":[{"valueSet":["http://example.org/vs/cycle-a"]}]}`),
		`{"resourceType":"ValueSet","url":"http://example.org/vs/partial","expansion":{"total":10,"contains":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic blood pressure"}]}}`,
		`{"resourceType":"ValueSet","url":"http://example.org/vs/versioned","version":"1","compose":{"include":[{"system":"http://example.org/cs/finding","concept":[{"code":"pain"}]}]}}`,
	)
	// A second version of a value set under the same url.
	src.add(mustJSON(t, `{"resourceType":"ValueSet","url":"http://example.org/vs/versioned","version":"2","compose":{"include":[{"system":"http://example.org/cs/finding","concept":[{"code":"fever"}]}]}}`))
	svc := New(src)
	c := func(code string) Coding { return Coding{System: fs, Code: code} }
	sct := func(code string) Coding { return Coding{System: "http://snomed.info/sct", Code: code} }
	ex := "http://example.org/vs/"
	runCodeCases(t, svc, []codeCase{
		{name: "is-a includes root", valueSet: ex + "is-a", coding: c("pain"), want: Member},
		{name: "is-a includes child", valueSet: ex + "is-a", coding: c("headache"), want: Member},
		{name: "is-a excludes sibling", valueSet: ex + "is-a", coding: c("fever"), want: NotMember},
		{name: "descendent-of excludes root", valueSet: ex + "descendent-of", coding: c("pain"), want: NotMember},
		{name: "descendent-of includes child", valueSet: ex + "descendent-of", coding: c("chest-pain"), want: Member},
		{name: "is-not-a keeps others", valueSet: ex + "is-not-a", coding: c("fever"), want: Member},
		{name: "is-not-a drops subtree", valueSet: ex + "is-not-a", coding: c("headache"), want: NotMember},
		{name: "generalizes includes ancestors", valueSet: ex + "generalizes", coding: c("finding"), want: Member},
		{name: "generalizes excludes siblings", valueSet: ex + "generalizes", coding: c("chest-pain"), want: NotMember},
		{name: "parent property links hierarchy", valueSet: ex + "child-of", coding: c("contraction"), want: Member},
		{name: "in list", valueSet: ex + "in", coding: c("other"), want: Member},
		{name: "not-in list", valueSet: ex + "not-in", coding: c("other"), want: NotMember},
		{name: "not-in keeps others", valueSet: ex + "not-in", coding: c("pain"), want: Member},
		{name: "regex on code", valueSet: ex + "regex", coding: c("chest-pain"), want: Member},
		{name: "regex is anchored", valueSet: ex + "regex", coding: c("pain"), want: NotMember},
		{name: "property =", valueSet: ex + "severity", coding: c("fever"), want: Member},
		{name: "property = other value", valueSet: ex + "severity", coding: c("headache"), want: NotMember},
		{name: "property in", valueSet: ex + "severity-in", coding: c("chest-pain"), want: Member},
		{name: "property exists false", valueSet: ex + "severity-exists", coding: c("other"), want: Member},
		{name: "property exists false drops", valueSet: ex + "severity-exists", coding: c("pain"), want: NotMember},
		{name: "integer property", valueSet: ex + "rank", coding: c("pain"), want: Member},
		{name: "parent = direct children", valueSet: ex + "parent", coding: c("fever"), want: Member},
		{name: "parent = not grandchildren", valueSet: ex + "parent", coding: c("headache"), want: NotMember},
		{name: "two filters intersect", valueSet: ex + "two-filters", coding: c("pain"), want: Member},
		{name: "two filters intersect drops", valueSet: ex + "two-filters", coding: c("headache"), want: NotMember},
		{name: "filter on undefined code is unknown", valueSet: ex + "bad-filter-code", coding: c("pain"), want: Unknown, msg: []string{`"nope"`}},
		{name: "filter on undefined property is unknown", valueSet: ex + "bad-property", coding: c("pain"), want: Unknown, msg: []string{"colour"}},
		{name: "regex Go cannot evaluate is unknown", valueSet: ex + "bad-regex", coding: c("pain"), want: Unknown, msg: []string{"regex"}},
		{name: "whole complete system", valueSet: ex + "whole", coding: c("contraction"), want: Member},
		{name: "whole complete system unknown code", valueSet: ex + "whole", coding: c("cramp"), want: NotMember},
		{name: "designation counts as display", valueSet: ex + "whole", coding: Coding{System: fs, Code: "pain", Display: "pijn"}, want: Member},
		{name: "wrong display warns", valueSet: ex + "whole", coding: Coding{System: fs, Code: "pain", Display: "Ache"}, want: Member, displayWarning: true},
		{name: "include version present", valueSet: ex + "whole-v2", coding: c("pain"), want: Member},
		{name: "include version absent falls back", valueSet: ex + "whole-v9", coding: c("pain"), want: Member},
		{name: "fragment known code", valueSet: ex + "fragment", coding: Coding{System: "http://example.org/cs/fragment", Code: "a1"}, want: Member},
		{name: "fragment other code unknown", valueSet: ex + "fragment", coding: Coding{System: "http://example.org/cs/fragment", Code: "z"}, want: Unknown, msg: []string{"fragment"}},
		{name: "fragment filter other code unknown", valueSet: ex + "fragment-isa", coding: Coding{System: "http://example.org/cs/fragment", Code: "b"}, want: Unknown, msg: []string{"is-a a"}},
		{name: "case-insensitive system", valueSet: ex + "caseless", coding: Coding{System: "http://example.org/cs/caseless", Code: "alpha"}, want: Member},
		{name: "listed code not in complete system", valueSet: ex + "listed-bad", coding: c("invented"), want: NotMember, msg: []string{"not defined"}},
		{name: "snomed listed code", valueSet: ex + "snomed-mixed", coding: sct("22298006"), want: Member},
		{name: "snomed listed, other display: no warning (its synonyms are not known offline)", valueSet: ex + "snomed-mixed", coding: Coding{System: "http://snomed.info/sct", Code: "22298006", Display: "Heart attack"}, want: Member},
		{name: "snomed other code filter unknown", valueSet: ex + "snomed-mixed", coding: sct("38341003"), want: Unknown, msg: []string{"is-a 404684003", "could not be checked"}},
		{name: "snomed is-a includes the filter's own code", valueSet: ex + "snomed-mixed", coding: sct("404684003"), want: Member},
		{name: "snomed descendent-of excludes the filter's own code", valueSet: ex + "snomed-desc", coding: sct("404684003"), want: NotMember, msg: []string{"descendent-of 404684003"}},
		{name: "snomed descendent-of other code unknown", valueSet: ex + "snomed-desc", coding: sct("38341003"), want: Unknown},
		{name: "loinc regex on code decided by the code", valueSet: ex + "loinc-regex", coding: Coding{System: loinc, Code: "8480-6"}, want: Member},
		{name: "loinc regex on code fails", valueSet: ex + "loinc-regex", coding: Coding{System: loinc, Code: "LP1234-5"}, want: NotMember},
		{name: "loinc property filter unknown", valueSet: ex + "loinc-scale", coding: Coding{System: loinc, Code: "8480-6"}, want: Unknown, msg: []string{"SCALE_TYP = Qn"}},
		{name: "open exclude makes member unknown", valueSet: ex + "snomed-excl", coding: sct("22298006"), want: Unknown, msg: []string{"exclude", "is-a 64572001"}},
		{name: "open exclude other system member", valueSet: ex + "snomed-excl", coding: c("headache"), want: Member},
		{name: "whole LOINC unknown", valueSet: ex + "loinc-all-minus", coding: Coding{System: loinc, Code: "8462-4"}, want: Unknown, msg: []string{loinc}},
		{name: "whole LOINC listed exclude", valueSet: ex + "loinc-all-minus", coding: Coding{System: loinc, Code: "8480-6"}, want: NotMember, msg: []string{"excluded"}},
		{name: "import", valueSet: ex + "import-pain", coding: c("headache"), want: Member},
		{name: "import not member", valueSet: ex + "import-pain", coding: c("fever"), want: NotMember},
		{name: "intersection member", valueSet: ex + "intersect", coding: c("pain"), want: Member},
		{name: "intersection drops", valueSet: ex + "intersect", coding: c("headache"), want: NotMember},
		{name: "intersection: a definite non-member part decides", valueSet: ex + "intersect-open", coding: sct("38341003"), want: NotMember},
		{name: "system and import intersect", valueSet: ex + "system-and-import", coding: c("fever"), want: Member},
		{name: "system and import intersect drops", valueSet: ex + "system-and-import", coding: c("headache"), want: NotMember},
		{name: "missing import is unknown", valueSet: ex + "import-missing", coding: c("pain"), want: Unknown, msg: []string{"vs/absent"}},
		{name: "import cycle is unknown, not a hang", valueSet: ex + "cycle-a", coding: c("pain"), want: Unknown, msg: []string{"cycle"}},
		{name: "partial expansion listed", valueSet: ex + "partial", coding: Coding{System: loinc, Code: "8480-6"}, want: Member},
		{name: "partial expansion other unknown", valueSet: ex + "partial", coding: Coding{System: loinc, Code: "8462-4"}, want: Unknown, msg: []string{"partial", "1 of 10"}},
		{name: "implicit SNOMED value set, all", valueSet: "http://snomed.info/sct?fhir_vs", coding: sct("22298006"), want: Unknown, msg: []string{"all of code system http://snomed.info/sct"}},
		{name: "implicit SNOMED value set, bad identifier", valueSet: "http://snomed.info/sct?fhir_vs", coding: sct("22298007"), want: NotMember},
		{name: "implicit SNOMED is-a, own code", valueSet: "http://snomed.info/sct?fhir_vs=isa/404684003", coding: sct("404684003"), want: Member},
		{name: "implicit SNOMED is-a, other code", valueSet: "http://snomed.info/sct?fhir_vs=isa/404684003", coding: sct("22298006"), want: Unknown, msg: []string{"is-a 404684003"}},
		{name: "implicit SNOMED refset", valueSet: "http://snomed.info/sct?fhir_vs=refset/929360041000036105", coding: sct("22298006"), want: Unknown, msg: []string{"in 929360041000036105"}},
		{name: "implicit LOINC answer list", valueSet: "http://loinc.org/vs/LL379-9|4.0.1", coding: Coding{System: loinc, Code: "LA6576-8"}, want: Unknown, msg: []string{"answer-list = LL379-9"}},
		{name: "implicit LOINC all, other system", valueSet: "http://loinc.org/vs", coding: sct("22298006"), want: NotMember},
		{name: "versioned value set v1", valueSet: ex + "versioned|1", coding: c("pain"), want: Member},
		{name: "versioned value set v2", valueSet: ex + "versioned|2", coding: c("pain"), want: NotMember},
		{name: "versioned value set v2 fever", valueSet: ex + "versioned|2", coding: c("fever"), want: Member},
		{name: "absent version falls back to the loaded one, and says so", valueSet: ex + "versioned|3", coding: c("fever"), want: Member, msg: []string{"versioned|3 is not loaded", `version "2"`}},
		{name: "absent version fallback not member", valueSet: ex + "versioned|3", coding: c("pain"), want: NotMember, msg: []string{"versioned|3 is not loaded"}},
	})

	exp, err := svc.Expand(ex + "is-a")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, con := range exp.Contains {
		got = append(got, con.Code)
	}
	if strings.Join(got, ",") != "chest-pain,headache,pain" || !exp.Complete || exp.Contains[0].Version != "2" {
		t.Errorf("expansion of is-a = %v complete=%v (%+v)", got, exp.Complete, exp.Contains)
	}
	exp, err = svc.Expand(ex + "whole")
	if err != nil {
		t.Fatal(err)
	}
	for _, con := range exp.Contains {
		if con.Code == "finding" && !con.Abstract {
			t.Errorf("finding is notSelectable but not abstract in the expansion")
		}
	}
	exp, err = svc.Expand(ex + "snomed-mixed")
	if err != nil {
		t.Fatal(err)
	}
	if exp.Complete || len(exp.Contains) != 1 || len(exp.Incomplete) != 1 || !strings.Contains(exp.Incomplete[0], "is-a 404684003") {
		t.Errorf("snomed-mixed expansion = %+v", exp)
	}
}

func mustJSON(t testing.TB, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// A Service is used by many validator goroutines at once; the first
// expansions race each other. Run with -race.
func TestConcurrentUse(t *testing.T) {
	src := synthetic(t, testCS,
		vs("http://example.org/vs/a", `{"include":[{"system":"http://example.org/cs/finding","filter":[{"property":"concept","op":"is-a","value":"pain"}]}]}`),
		vs("http://example.org/vs/b", `{"include":[{"valueSet":["http://example.org/vs/a"]}]}`),
	)
	svc := New(src)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			vsURL := "http://example.org/vs/a"
			if i%2 == 1 {
				vsURL = "http://example.org/vs/b"
			}
			for j := 0; j < 200; j++ {
				if r := svc.ValidateCode(vsURL, Coding{System: "http://example.org/cs/finding", Code: "headache"}); r.Outcome != Member {
					errs <- r.Message
					return
				}
				if r := svc.ValidateCodeInSystem(Coding{System: "http://example.org/cs/finding", Code: "fever"}); r.Outcome != Member {
					errs <- r.Message
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestValidateConcept(t *testing.T) {
	src := synthetic(t, testCS,
		vs("http://example.org/vs/mixed", `{"include":[{"system":"http://example.org/cs/finding","concept":[{"code":"pain"}]},
			{"system":"http://snomed.info/sct","filter":[{"property":"concept","op":"is-a","value":"404684003"}]}]}`))
	svc := New(src)
	fs := "http://example.org/cs/finding"
	cases := []struct {
		name    string
		codings []Coding
		want    Outcome
	}{
		{"any member wins", []Coding{{System: "http://snomed.info/sct", Code: "38341003"}, {System: fs, Code: "pain"}}, Member},
		{"unknown beats not-member", []Coding{{System: fs, Code: "fever"}, {System: "http://snomed.info/sct", Code: "38341003"}}, Unknown},
		{"all not-member", []Coding{{System: fs, Code: "fever"}, {System: fs, Code: "other"}}, NotMember},
		{"no codings", nil, NotMember},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := svc.ValidateConcept("http://example.org/vs/mixed", tc.codings); got.Outcome != tc.want {
				t.Errorf("got %v (%s), want %v", got.Outcome, got.Message, tc.want)
			}
		})
	}
}

// Malformed or hostile definitions give Unknown / errors, never a panic or a
// hang.
func TestMalformedDefinitions(t *testing.T) {
	deepCS := map[string]any{"resourceType": "CodeSystem", "url": "http://example.org/cs/deep", "content": "complete"}
	cur := deepCS
	for i := 0; i < 10000; i++ {
		child := map[string]any{"code": fmt.Sprintf("c%d", i)}
		cur["concept"] = []any{child}
		cur = child
	}
	deepExp := map[string]any{"resourceType": "ValueSet", "url": "http://example.org/vs/deep-expansion"}
	exp := map[string]any{}
	deepExp["expansion"] = exp
	cur = exp
	for i := 0; i < 10000; i++ {
		child := map[string]any{"system": "http://loinc.org", "code": fmt.Sprintf("%d-0", i)}
		cur["contains"] = []any{child}
		cur = child
	}
	src := synthetic(t,
		`{"resourceType":"ValueSet","url":"http://example.org/vs/no-compose"}`,
		`{"resourceType":"ValueSet","url":"http://example.org/vs/junk","compose":{"include":[1,"a",null,{"system":5,"concept":"x","filter":[{"op":3}]},{"concept":[{"code":"x"}]}],"exclude":"nope"}}`,
		`{"resourceType":"CodeSystem","url":"http://example.org/vs/not-a-vs","content":"complete"}`,
		vs("http://example.org/vs/deep-cs", `{"include":[{"system":"http://example.org/cs/deep","filter":[{"property":"concept","op":"is-a","value":"c0"}]}]}`),
		vs("http://example.org/vs/huge-regex", fmt.Sprintf(`{"include":[{"system":"http://example.org/cs/deep","filter":[{"property":"code","op":"regex","value":%q}]}]}`, strings.Repeat("a", 5000))),
	)
	src.add(deepCS)
	src.add(deepExp)
	// A chain of imports longer than maxImportDepth.
	for i := 0; i < 40; i++ {
		src.add(mustJSON(t, vs(fmt.Sprintf("http://example.org/vs/chain%d", i), fmt.Sprintf(`{"include":[{"valueSet":["http://example.org/vs/chain%d"]}]}`, i+1))))
	}
	svc := New(src)
	code := Coding{System: "http://loinc.org", Code: "1-0"}
	for _, u := range []string{"no-compose", "junk", "not-a-vs", "deep-cs", "huge-regex", "deep-expansion", "chain0"} {
		t.Run(u, func(t *testing.T) {
			r := svc.ValidateCode("http://example.org/vs/"+u, code)
			if r.Outcome == Member && u != "deep-expansion" {
				t.Errorf("%s: member: %s", u, r.Message)
			}
			if r.Outcome != Member && r.Message == "" {
				t.Errorf("%s: %v without a message", u, r.Outcome)
			}
			_, _ = svc.Expand("http://example.org/vs/" + u)
		})
	}
	if r := svc.ValidateCodeInSystem(Coding{System: "http://example.org/cs/deep", Code: "c9000"}); r.Outcome != Unknown {
		t.Errorf("code below the nesting limit: %v %s", r.Outcome, r.Message)
	}
	if r := svc.ValidateCode("http://example.org/vs/chain0", code); r.Outcome != Unknown || !strings.Contains(r.Message, "deeper") {
		t.Errorf("import chain: %v %s", r.Outcome, r.Message)
	}
	if r := svc.ValidateCode("http://example.org/vs/huge-regex", Coding{System: "http://example.org/cs/deep", Code: "c1"}); r.Outcome != Unknown {
		t.Errorf("huge regex: %v %s", r.Outcome, r.Message)
	}
}
