package measure

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/outcome"
)

// tree decodes JSON the way the validator does (numbers as json.Number).
func tree(t testing.TB, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("test JSON: %v\n%s", err, s)
	}
	return m
}

// want is one expected issue: severity, exact location, a piece of the message.
type want struct{ severity, path, text string }

// expect compares the error and warning issues (and information issues when
// some are wanted) with the wanted ones, in any order.
func expect(t *testing.T, got []outcome.Issue, wants []want) {
	t.Helper()
	withInfo := false
	for _, w := range wants {
		withInfo = withInfo || w.severity == outcome.Information
	}
	var rest []outcome.Issue
	for _, is := range got {
		if is.Severity != outcome.Information || withInfo {
			rest = append(rest, is)
		}
	}
	for _, w := range wants {
		found := -1
		for i, is := range rest {
			if is.Severity == w.severity && len(is.Expression) == 1 && is.Expression[0] == w.path && strings.Contains(is.Diagnostics, w.text) {
				found = i
				break
			}
		}
		if found < 0 {
			t.Errorf("missing %s at %s containing %q; got:\n%s", w.severity, w.path, w.text, dump(got))
			continue
		}
		rest = append(rest[:found], rest[found+1:]...)
	}
	if len(rest) > 0 {
		t.Errorf("unexpected issues:\n%s", dump(rest))
	}
}

func dump(issues []outcome.Issue) string {
	var b strings.Builder
	for _, is := range issues {
		fmt.Fprintf(&b, "  %s %s: %s\n", is.Severity, strings.Join(is.Expression, ","), is.Diagnostics)
	}
	return b.String()
}

const popSys = `"system":"http://terminology.hl7.org/CodeSystem/measure-population"`

func pop(code string) string { return `{"coding":[{` + popSys + `,"code":"` + code + `"}]}` }

// measureJSON is a Measure with one group of the given populations, scoring
// and extra group members.
func measureJSON(scoring string, pops []string, groupExtra string) string {
	var ps []string
	for _, p := range pops {
		ps = append(ps, `{"code":`+pop(p)+`,"criteria":{"language":"text/cql.identifier","expression":"X"}}`)
	}
	sc := ""
	if scoring != "" {
		sc = `"scoring":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/measure-scoring","code":"` + scoring + `"}]},`
	}
	return `{"resourceType":"Measure","url":"http://example.org/Measure/m","version":"1",` + sc +
		`"group":[{` + groupExtra + `"population":[` + strings.Join(ps, ",") + `]}]}`
}

func resolverOf(t testing.TB, resources ...string) func(string) (map[string]any, bool) {
	var trees []map[string]any
	for _, r := range resources {
		trees = append(trees, tree(t, r))
	}
	return Resolver(nil, trees...)
}

func TestCheckMeasureReport(t *testing.T) {
	cohort := measureJSON("cohort", []string{"initial-population"}, "")
	proportion := measureJSON("proportion", []string{"initial-population", "denominator", "numerator", "measure-observation"}, "")
	twoGroups := `{"resourceType":"Measure","url":"http://example.org/Measure/m","scoring":{"coding":[{"code":"cohort"}]},"group":[
		{"id":"g1","code":{"coding":[{"system":"http://example.org/g","code":"a"}]},"population":[{"code":` + pop("initial-population") + `}]},
		{"id":"g2","code":{"coding":[{"system":"http://example.org/g","code":"b"}]},"population":[{"code":` + pop("initial-population") + `}]}]}`
	stratified := measureJSON("cohort", []string{"initial-population"}, `"stratifier":[
		{"id":"s1","code":{"coding":[{"system":"http://example.org/s","code":"age"}]}},
		{"id":"s2","code":{"text":"gender"}}],`)
	ratioUnit := `{"resourceType":"Measure","url":"http://example.org/Measure/m","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/questionnaire-unit","valueCoding":{"system":"http://unitsofmeasure.org","code":"d"}}],
		"scoring":{"coding":[{"code":"ratio"}]},"group":[{"population":[{"code":` + pop("numerator") + `}]}]}`
	stu3Groups := `{"resourceType":"Measure","url":"http://example.org/Measure/m","scoring":{"coding":[{"code":"cohort"}]},"group":[
		{"identifier":{"value":"g1"},"population":[{"code":` + pop("initial-population") + `}],"stratifier":[{"identifier":{"value":"s1"}}]},
		{"identifier":{"value":"g2"},"population":[{"code":` + pop("initial-population") + `}]}]}`
	groupA := `{"code":{"coding":[{"system":"http://example.org/g","code":"a"}]},"population":[{"code":` + pop("initial-population") + `,"count":1}]}`
	groupB := `{"code":{"coding":[{"system":"http://example.org/g","code":"b"}]},"population":[{"code":` + pop("initial-population") + `,"count":1}]}`
	report := func(typ, groups string, extra string) string {
		return `{"resourceType":"MeasureReport","status":"complete","type":"` + typ + `","measure":"http://example.org/Measure/m",` + extra + `"group":[` + groups + `]}`
	}
	ip := func(count string) string { return `{"code":` + pop("initial-population") + count + `}` }
	tests := []struct {
		name    string
		measure string // "" for no resolvable Measure
		report  string
		want    []want
	}{
		{"matching cohort report has no issue", cohort, report("summary", `{"population":[`+ip(`,"count":3`)+`]}`, ""), nil},
		{"no measure named", cohort, `{"resourceType":"MeasureReport","type":"summary"}`,
			[]want{{outcome.Information, "MeasureReport", "names no Measure"}}},
		{"measure not found is a warning", "", report("summary", `{"population":[`+ip(`,"count":3`)+`]}`, ""),
			[]want{{outcome.Warning, "MeasureReport.measure", "could not be found"}}},
		{"contained measure is used", "", `{"resourceType":"MeasureReport","type":"summary","measure":"#m","contained":[` +
			strings.Replace(cohort, `"resourceType":"Measure",`, `"resourceType":"Measure","id":"m",`, 1) + `],"group":[{"population":[` + ip(`,"count":3`) + `],"measureScore":{"value":1}}]}`,
			[]want{{outcome.Error, "MeasureReport.group[0].measureScore", "'cohort'"}}},
		{"STU3 reference to the measure", cohort, `{"resourceType":"MeasureReport","type":"summary","measure":{"reference":"http://example.org/Measure/m"},"group":[{"population":[` + ip(`,"count":3`) + `]}]}`, nil},
		{"unknown scoring is information", measureJSON("", []string{"initial-population"}, ""), report("summary", `{"population":[`+ip(`,"count":3`)+`]}`, ""),
			[]want{{outcome.Information, "MeasureReport.measure", "scoring"}}},
		{"population code not in the measure", cohort, report("summary", `{"population":[`+ip(`,"count":3`)+`,{"code":`+pop("numerator")+`,"count":1}]}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0].population[1]", "no match in the measure definition"}}},
		{"population without code", cohort, report("summary", `{"population":[`+ip(`,"count":3`)+`,{"count":1}]}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0].population[1]", "has no code"}}},
		{"duplicate population", cohort, report("summary", `{"population":[`+ip(`,"count":3`)+`,`+ip(`,"count":3`)+`]}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0].population[1]", "more than once"}}},
		{"missing population, measure-observation exempt", proportion, report("summary", `{"population":[`+ip(`,"count":3`)+`,{"code":`+pop("numerator")+`,"count":1}],"measureScore":{"value":0.5}}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0]", "denominator"}}},
		{"subject-list count mismatch", cohort, report("subject-list", `{"population":[`+ip(`,"count":500,"subjectResults":{"reference":"List/l"}`)+`]}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0].population[0]", "count 500 and number of subjects 1"}}},
		{"subject-list count matches", cohort, report("subject-list", `{"population":[`+ip(`,"count":1,"subjectResults":{"reference":"List/l"}`)+`]}`, ""), nil},
		{"summary with subjects and no count", cohort, report("summary", `{"population":[`+ip(`,"subjectResults":{"reference":"List/l"}`)+`]}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0].population[0]", "don't have subjects listed"},
				{outcome.Warning, "MeasureReport.group[0].population[0]", "count should be present"}}},
		{"individual report without subject", cohort, report("individual", `{"population":[`+ip(`,"count":1`)+`]}`, ""),
			[]want{{outcome.Warning, "MeasureReport", "subject"}}},
		{"groups matched by code", twoGroups, report("summary", groupB+","+groupA, ""), nil},
		{"group without code among several", twoGroups, report("summary", groupA+`,{"population":[`+ip(`,"count":1`)+`]}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[1]", "should have a code that matches"},
				{outcome.Error, "MeasureReport", "group with code 'http://example.org/g#b' (id = 'g2')"}}},
		{"same group twice", twoGroups, report("summary", groupA+","+groupA, ""),
			[]want{{outcome.Error, "MeasureReport.group[1]", "same Measure group"},
				{outcome.Error, "MeasureReport", "group with code 'http://example.org/g#b'"}}},
		{"data collection may leave groups out", twoGroups, report("data-collection", groupA, ""), nil},
		{"two report groups for a one-group measure", cohort, report("summary", `{"population":[`+ip(`,"count":1`)+`]},{"population":[`+ip(`,"count":1`)+`]}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0]", "should have a code"},
				{outcome.Error, "MeasureReport.group[1]", "should have a code"},
				{outcome.Error, "MeasureReport", "does not include a group for the group with code ''"}}},
		{"single group with a wrong code", strings.Replace(cohort, `"group":[{`, `"group":[{"code":{"coding":[{"system":"http://example.org/g","code":"a"}]},`, 1),
			report("summary", `{"code":{"coding":[{"system":"http://example.org/g","code":"z"}]},"population":[`+ip(`,"count":1`)+`]}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0]", "does not match"}}},
		{"cohort with a score", cohort, report("summary", `{"population":[`+ip(`,"count":1`)+`],"measureScore":{"value":1}}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0].measureScore", "'cohort'"}}},
		{"data collection with a score", cohort, report("data-collection", `{"population":[`+ip(`,"count":1`)+`],"measureScore":{"value":1}}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0].measureScore", "'data-collection'"}}},
		{"proportion without score", proportion, report("summary", `{"population":[`+ip(`,"count":2`)+`,{"code":`+pop("denominator")+`,"count":2},{"code":`+pop("numerator")+`,"count":1}]}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0]", "measureScore is required"}}},
		{"proportion score out of range with a unit", proportion, report("summary", `{"population":[`+ip(`,"count":2`)+`,{"code":`+pop("denominator")+`,"count":2},{"code":`+pop("numerator")+`,"count":1}],"measureScore":{"value":1.5,"unit":"%"}}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0].measureScore.value", "between 0 and 1"},
				{outcome.Error, "MeasureReport.group[0].measureScore.unit", "no unit"}}},
		{"proportion score in range", proportion, report("summary", `{"population":[`+ip(`,"count":2`)+`,{"code":`+pop("denominator")+`,"count":2},{"code":`+pop("numerator")+`,"count":1}],"measureScore":{"value":0.5}}`, ""), nil},
		{"proportion score without value", proportion, report("summary", `{"population":[`+ip(`,"count":2`)+`,{"code":`+pop("denominator")+`,"count":2},{"code":`+pop("numerator")+`,"count":1}],"measureScore":{"comparator":"<"}}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0].measureScore", "needs a value"}}},
		{"ratio unit fixed by the measure", ratioUnit, report("summary", `{"population":[{"code":`+pop("numerator")+`,"count":1}],"measureScore":{"value":3,"system":"http://unitsofmeasure.org","code":"h"}}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0].measureScore.code", "must be d"}}},
		{"ratio unit missing", ratioUnit, report("summary", `{"population":[{"code":`+pop("numerator")+`,"count":1}],"measureScore":{"value":3}}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0].measureScore", "needs the unit"}}},
		{"ratio without a fixed unit", strings.Replace(ratioUnit, `"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/questionnaire-unit","valueCoding":{"system":"http://unitsofmeasure.org","code":"d"}}],`, "", 1),
			report("summary", `{"population":[{"code":`+pop("numerator")+`,"count":1}],"measureScore":{"value":3}}`, ""),
			[]want{{outcome.Warning, "MeasureReport.group[0].measureScore", "should have a unit"}}},
		{"stratifiers matched by code and text", stratified, report("summary", `{"population":[`+ip(`,"count":1`)+`],"stratifier":[{"code":[{"text":"gender"}]},{"code":[{"coding":[{"system":"http://example.org/s","code":"age"}]}]}]}`, ""), nil},
		{"stratifier without code, stratifier missing", stratified, report("summary", `{"population":[`+ip(`,"count":1`)+`],"stratifier":[{"id":"s1"},{"code":[{"text":"gender"}]}]}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0].stratifier[0]", "should have a code"},
				{outcome.Error, "MeasureReport.group[0]", "stratifier with code 'http://example.org/s#age' (id = 's1')"}}},
		{"improvement notation differs", strings.Replace(cohort, `"group"`, `"improvementNotation":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/measure-improvement-notation","code":"increase"}]},"group"`, 1),
			report("summary", `{"population":[`+ip(`,"count":1`)+`]}`, `"improvementNotation":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/measure-improvement-notation","code":"decrease"}]},`),
			[]want{{outcome.Warning, "MeasureReport.improvementNotation", "differs"}}},
		{"group scoring extension overrides", strings.Replace(proportion, `"group":[{`, `"group":[{"extension":[{"url":"http://hl7.org/fhir/uv/cqm/StructureDefinition/cqm-scoring","valueCodeableConcept":{"coding":[{"code":"cohort"}]}}],`, 1),
			report("summary", `{"population":[`+ip(`,"count":2`)+`,{"code":`+pop("denominator")+`,"count":2},{"code":`+pop("numerator")+`,"count":1}]}`, ""), nil},
		{"STU3 patient-list count mismatch", cohort, report("patient-list", `{"population":[`+ip(`,"count":2,"patients":{"reference":"List/l"}`)+`]}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0].population[0]", "count 2 and number of subjects 1"}}},
		{"STU3 groups and stratifiers matched by identifier", stu3Groups, report("summary",
			`{"identifier":{"value":"g2"},"population":[`+ip(`,"count":1`)+`]},{"identifier":{"value":"g1"},"population":[`+ip(`,"count":1`)+`],"stratifier":[{"identifier":{"value":"s1"}}]}`, ""), nil},
		{"STU3 stratifier identifier unknown", stu3Groups, report("summary",
			`{"identifier":{"value":"g2"},"population":[`+ip(`,"count":1`)+`]},{"identifier":{"value":"g1"},"population":[`+ip(`,"count":1`)+`],"stratifier":[{"identifier":{"value":"s9"}}]}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[1].stratifier[0]", "should have a code"},
				{outcome.Error, "MeasureReport.group[1]", "stratifier with code '' (identifier = 's1')"}}},
		{"STU3 decimal proportion score out of range", proportion, report("summary", `{"population":[`+ip(`,"count":2`)+`,{"code":`+pop("denominator")+`,"count":2},{"code":`+pop("numerator")+`,"count":1}],"measureScore":2.5}`, ""),
			[]want{{outcome.Error, "MeasureReport.group[0].measureScore", "between 0 and 1, not 2.5000"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var resolve func(string) (map[string]any, bool)
			if tc.measure != "" {
				resolve = resolverOf(t, tc.measure)
			}
			expect(t, Check(context.Background(), tree(t, tc.report), resolve), tc.want)
		})
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

const elmXML = `<?xml version="1.0" encoding="UTF-8"?>
<library xmlns="urn:hl7-org:elm:r1" xmlns:t="urn:hl7-org:elm-types:r1">
  <identifier id="Screening" version="1.0.0"/>
  <statements>
    <def name="Patient" context="Patient"/>
    <def name="Initial Population" context="Patient"><expression xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Literal"/></def>
    <def name="AgeGroup" context="Patient"/>
  </statements>
</library>`

func libraryJSON(url, name string, content ...string) string {
	return `{"resourceType":"Library","url":"` + url + `","name":"` + name + `","content":[` + strings.Join(content, ",") + `]}`
}

func attachment(contentType, data string) string {
	return `{"contentType":"` + contentType + `","data":"` + b64(data) + `"}`
}

func stratMeasure(library, language, expression string) string {
	lib := ""
	if library != "" {
		lib = `"library":["` + library + `"],`
	}
	return `{"resourceType":"Measure",` + lib + `"group":[{"population":[{"code":` + pop("initial-population") + `}],
		"stratifier":[{"code":{"text":"age"},"criteria":{"language":"` + language + `","expression":"` + expression + `"}}]}]}`
}

func TestCheckMeasure(t *testing.T) {
	good := libraryJSON("http://example.org/Library/s", "Screening", attachment("text/cql", "library Screening"), attachment("application/elm+xml", elmXML))
	other := libraryJSON("http://example.org/Library/o", "Other", attachment("application/elm+xml", elmXML))
	cqlOnly := libraryJSON("http://example.org/Library/s", "Screening", attachment("text/cql", "library Screening"))
	broken := libraryJSON("http://example.org/Library/s", "Screening", attachment("application/elm+xml", "<library xmlns='urn:hl7-org:elm:r1'><statements>"))
	notELM := libraryJSON("http://example.org/Library/s", "Screening", attachment("application/elm+xml", "<html/>"))
	elmJSON := libraryJSON("http://example.org/Library/s", "Screening", attachment("application/elm+json", `{"library":{"statements":{"def":[{"name":"AgeGroup"}]}}}`))
	const sp = "Measure.group[0].stratifier[0].criteria"
	tests := []struct {
		name      string
		measure   string
		libraries []string
		want      []want
	}{
		{"named definition exists", stratMeasure("http://example.org/Library/s", "text/cql", "Screening.AgeGroup"), []string{good}, nil},
		{"definition with a space, identifier language", stratMeasure("http://example.org/Library/s", "text/cql.identifier", "Initial Population"), []string{good}, nil},
		{"definition missing", stratMeasure("http://example.org/Library/s", "text/cql", "Screening.AgesUpToNine"), []string{good},
			[]want{{outcome.Error, sp, "AgesUpToNine does not exist in the library http://example.org/Library/s"}}},
		{"library not resolved", stratMeasure("Library/x", "text/cql", "Screening.AgeGroup"), nil,
			[]want{{outcome.Information, "Measure", "could not be resolved"},
				{outcome.Error, sp, "no CQL Libraries found"}}},
		{"no library", stratMeasure("", "text/cql", "AgeGroup"), nil,
			[]want{{outcome.Error, sp, "no CQL Libraries found"}}},
		{"library name not among the libraries", stratMeasure("http://example.org/Library/o", "text/cql", "Screening.AgeGroup"), []string{other},
			[]want{{outcome.Error, sp, "no Library of the Measure is called Screening"}}},
		{"library without ELM", stratMeasure("http://example.org/Library/s", "text/cql", "Screening.AgeGroup"), []string{cqlOnly},
			[]want{{outcome.Error, sp, "has no ELM"}}},
		{"ELM that is not well-formed", stratMeasure("http://example.org/Library/s", "text/cql", "Screening.AgeGroup"), []string{broken},
			[]want{{outcome.Error, sp, "could not be read"}}},
		{"ELM that is not an ELM library", stratMeasure("http://example.org/Library/s", "text/cql", "Screening.AgeGroup"), []string{notELM},
			[]want{{outcome.Error, sp, "not an ELM <library>"}}},
		{"ELM as JSON", stratMeasure("http://example.org/Library/s", "text/cql", "Screening.AgeGroup"), []string{elmJSON}, nil},
		{"FHIRPath criteria are not checked", stratMeasure("http://example.org/Library/s", "text/fhirpath", "Patient.gender"), []string{good},
			[]want{{outcome.Warning, sp, "not checked"}}},
		{"measure without groups", `{"resourceType":"Measure"}`, nil,
			[]want{{outcome.Warning, "Measure", "no groups"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, Check(context.Background(), tree(t, tc.measure), resolverOf(t, tc.libraries...)), tc.want)
		})
	}
}

func TestResolver(t *testing.T) {
	m1 := map[string]any{"resourceType": "Measure", "id": "a", "url": "http://x/M", "version": "1"}
	m2 := map[string]any{"resourceType": "Measure", "id": "b", "url": "http://x/M", "version": "2"}
	fallback := map[string]any{"resourceType": "Library", "url": "http://x/L"}
	next := func(c string) (map[string]any, bool) {
		if c == "http://x/L" {
			return fallback, true
		}
		return nil, false
	}
	r := Resolver(next, m1, nil, m2)
	tests := []struct {
		name, canonical string
		want            map[string]any
	}{
		{"url without version takes the first", "http://x/M", m1},
		{"url with version", "http://x/M|2", m2},
		{"literal reference", "Measure/b", m2},
		{"unknown version", "http://x/M|3", nil},
		{"falls back to next", "http://x/L", fallback},
		{"unknown", "http://x/nothing", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := r(tc.canonical)
			if ok != (tc.want != nil) || (ok && got["id"] != tc.want["id"]) || (ok && got["url"] != tc.want["url"]) {
				t.Errorf("resolve(%q) = %v, %v; want %v", tc.canonical, got, ok, tc.want)
			}
		})
	}
}

// TestCheckHostileInput feeds shapes a broken or hostile resource can have:
// nothing may panic, and the issues stay bounded.
func TestCheckHostileInput(t *testing.T) {
	cohort := tree(t, measureJSON("cohort", []string{"initial-population"}, ""))
	resolve := Resolver(nil, cohort)
	var many bytes.Buffer
	many.WriteString(`{"resourceType":"MeasureReport","type":"summary","measure":"http://example.org/Measure/m","group":[`)
	for i := 0; i < 5000; i++ {
		if i > 0 {
			many.WriteByte(',')
		}
		many.WriteString(`{"population":[{"code":{"text":"x"}}]}`)
	}
	many.WriteString(`]}`)
	tests := []struct {
		name, input string
		maxIssues   int
	}{
		{"group is a string", `{"resourceType":"MeasureReport","measure":"http://example.org/Measure/m","group":"x"}`, 10},
		{"population is a number", `{"resourceType":"MeasureReport","measure":"http://example.org/Measure/m","group":[{"population":7}]}`, 10},
		{"codes of the wrong shape", `{"resourceType":"MeasureReport","measure":"http://example.org/Measure/m","group":[{"code":[1,2],"population":[{"code":"x","count":"many","subjectResults":[[]]}],"measureScore":"high","stratifier":[{"code":{"coding":"x"}}]}]}`, 10},
		{"measure is a number", `{"resourceType":"MeasureReport","measure":42}`, 10},
		{"huge count", `{"resourceType":"MeasureReport","type":"subject-list","measure":"http://example.org/Measure/m","group":[{"population":[{"code":` + pop("initial-population") + `,"count":1e999999999}]}]}`, 10},
		{"measure with wrong shapes", `{"resourceType":"Measure","library":[{"x":1},3],"group":[{"stratifier":[{"criteria":{"language":"text/cql","expression":5}},{"component":"x"}]},"y"]}`, 10},
		{"thousands of unmatched groups", many.String(), maxIssues},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Check(context.Background(), tree(t, tc.input), resolve)
			if len(got) > tc.maxIssues {
				t.Errorf("%d issues, want at most %d", len(got), tc.maxIssues)
			}
		})
	}
	t.Run("cancelled context stops early", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if got := Check(ctx, tree(t, many.String()), resolve); len(got) > 2 {
			t.Errorf("a cancelled check reported %d issues", len(got))
		}
	})
}

func TestCheckAtPrefixesLocations(t *testing.T) {
	cohort := tree(t, measureJSON("cohort", []string{"initial-population"}, ""))
	mr := tree(t, `{"resourceType":"MeasureReport","type":"summary","measure":"http://example.org/Measure/m","group":[{"population":[{"code":`+pop("initial-population")+`,"count":1}],"measureScore":{"value":1}}]}`)
	got := CheckAt(context.Background(), mr, "Bundle.entry[1].resource", Resolver(nil, cohort))
	expect(t, got, []want{{outcome.Error, "Bundle.entry[1].resource.group[0].measureScore", "'cohort'"}})
}
