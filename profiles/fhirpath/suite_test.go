package fhirpath

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"github.com/bcbench/bcbench/internal/shared"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bcbench/bcbench/profiles/fhirxml"
)

func corpusDir(t testing.TB) string {
	return shared.Corpus(t, "the FHIR corpus is needed for this test")
}

var (
	modelMu sync.Mutex
	models  = map[string]*Model{}
)

// loadR4Model builds the type model from the R4 core StructureDefinitions in the corpus.
func loadR4Model(t testing.TB) *Model { return loadModel(t, "4.0.1") }

// loadModel builds (once) the type model of a FHIR version from the core
// StructureDefinitions in the corpus.
func loadModel(t testing.TB, version string) *Model {
	t.Helper()
	dir := filepath.Join(corpusDir(t), "hl7-fhir-core", version, "package")
	modelMu.Lock()
	defer modelMu.Unlock()
	if m, ok := models[version]; ok {
		return m
	}
	var r4ModelErr error
	var r4Model *Model
	func() {
		files, err := filepath.Glob(filepath.Join(dir, "StructureDefinition-*.json"))
		if err != nil || len(files) == 0 {
			r4ModelErr = fmt.Errorf("no StructureDefinitions in %s: %v", dir, err)
			return
		}
		var defs []map[string]any
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				r4ModelErr = err
				return
			}
			// Only definitions of types matter; skip the extension and profile files cheaply.
			if !bytes.Contains(data, []byte(`"derivation": "specialization"`)) && !bytes.Contains(data, []byte(`"derivation":"specialization"`)) &&
				!bytes.Contains(data, []byte(`"id": "Element"`)) && !bytes.Contains(data, []byte(`"id": "Resource"`)) {
				continue
			}
			m, err := decodeJSON(data)
			if err != nil {
				r4ModelErr = fmt.Errorf("decoding %s: %w", f, err)
				return
			}
			defs = append(defs, m)
		}
		r4Model = NewModel(defs)
	}()
	if r4ModelErr != nil {
		t.Fatalf("loading the %s model: %v", version, r4ModelErr)
	}
	models[version] = r4Model
	return r4Model
}

func decodeJSON(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// The official suite's XML shape.
type suiteXML struct {
	Groups []struct {
		Name  string      `xml:"name,attr"`
		Tests []suiteTest `xml:"test"`
	} `xml:"group"`
}

type suiteTest struct {
	Name       string `xml:"name,attr"`
	InputFile  string `xml:"inputfile,attr"`
	Predicate  string `xml:"predicate,attr"`
	Mode       string `xml:"mode,attr"`
	Ordered    string `xml:"ordered,attr"`
	CheckOrder string `xml:"checkOrderedFunctions,attr"`
	Expression struct {
		Text    string `xml:",chardata"`
		Invalid string `xml:"invalid,attr"`
	} `xml:"expression"`
	Outputs []struct {
		Type string `xml:"type,attr"`
		Text string `xml:",chardata"`
	} `xml:"output"`
}

// TestOfficialSuite runs the official FHIRPath R4 test suite and prints the
// score and every failure.
//
// Counting: every <test> is one case. A test whose expression is marked
// invalid (syntax, semantic, execution) passes when Compile or Evaluate
// returns any error; the engine does not classify its errors into those
// three kinds. mode="strict" tests run with Env.Strict and
// checkOrderedFunctions="true" with Env.CheckOrdered. A predicate="true"
// test compares exists() of the result. Tests of features the engine does
// not support count as failures; nothing is skipped.
func TestOfficialSuite(t *testing.T) {
	corpus := corpusDir(t)
	dir := filepath.Join(corpus, "fhir-test-cases", "r4")
	raw, err := os.ReadFile(filepath.Join(dir, "fhirpath", "tests-fhir-r4.xml"))
	if err != nil {
		t.Skipf("official FHIRPath suite not in the corpus: %v", err)
	}
	var suite suiteXML
	if err := xml.Unmarshal(raw, &suite); err != nil {
		t.Fatalf("parsing the suite: %v", err)
	}
	model := loadR4Model(t)
	inputs := map[string]map[string]any{}
	input := func(name string) (map[string]any, error) {
		if m, ok := inputs[name]; ok {
			return m, nil
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if strings.HasSuffix(name, ".json") {
			m, err = decodeJSON(data)
		} else {
			m, err = fhirxml.Decode(data)
		}
		if err != nil {
			return nil, fmt.Errorf("decoding %s: %w", name, err)
		}
		inputs[name] = m
		return m, nil
	}

	total, passed := 0, 0
	var failures []string
	for _, g := range suite.Groups {
		for _, tc := range g.Tests {
			total++
			name := g.Name + "/" + tc.Name
			msg := runSuiteCase(tc, model, input)
			if msg == "" {
				passed++
				continue
			}
			failures = append(failures, fmt.Sprintf("%s: %s\n    expr: %s", name, msg, strings.TrimSpace(tc.Expression.Text)))
		}
	}
	sort.Strings(failures)
	for _, f := range failures {
		t.Log("FAIL " + f)
	}
	pct := 100 * float64(passed) / float64(total)
	t.Logf("official FHIRPath R4 suite: %d/%d passed (%.1f%%), %d failed", passed, total, pct, total-passed)
	fmt.Printf("official FHIRPath R4 suite: %d/%d passed (%.1f%%), %d failed\n", passed, total, pct, total-passed)
	if pct < 95 {
		t.Errorf("score %.1f%% is below the 95%% bar", pct)
	}
}

func runSuiteCase(tc suiteTest, model *Model, input func(string) (map[string]any, error)) string {
	var focus any
	if tc.InputFile != "" {
		m, err := input(tc.InputFile)
		if err != nil {
			return "input: " + err.Error()
		}
		focus = m
	}
	env := &Env{Types: model, Strict: tc.Mode == "strict", CheckOrdered: tc.CheckOrder == "true", Now: time.Now()}
	expr, err := Compile(tc.Expression.Text)
	var got Collection
	if err == nil {
		got, err = expr.Evaluate(focus, env)
	}
	if tc.Expression.Invalid != "" {
		if err == nil {
			return fmt.Sprintf("expected an error (%s), got %s", tc.Expression.Invalid, render(got))
		}
		return ""
	}
	if err != nil {
		return "unexpected error: " + err.Error()
	}
	if tc.Predicate == "true" {
		got = Collection{Boolean(len(got) > 0)}
	}
	want := make([]string, len(tc.Outputs))
	for i, o := range tc.Outputs {
		want[i] = o.Type + ":" + strings.TrimSpace(o.Text)
	}
	if len(got) != len(want) {
		return fmt.Sprintf("expected %v, got %s", want, render(got))
	}
	used := make([]bool, len(got))
	for i, o := range tc.Outputs {
		if tc.Ordered == "false" {
			found := false
			for j := range got {
				if !used[j] && outputMatches(o.Type, strings.TrimSpace(o.Text), got[j]) {
					used[j], found = true, true
					break
				}
			}
			if !found {
				return fmt.Sprintf("expected %v, got %s", want, render(got))
			}
			continue
		}
		if !outputMatches(o.Type, strings.TrimSpace(o.Text), got[i]) {
			return fmt.Sprintf("expected %v, got %s", want, render(got))
		}
	}
	return ""
}

func render(c Collection) string {
	parts := make([]string, len(c))
	for i, v := range c {
		parts[i] = renderValue(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func renderValue(v Value) string {
	t := v.TypeInfo()
	if e, ok := v.(*Element); ok {
		if sv, ok := e.system(); ok {
			return t.Name + ":" + fmt.Sprint(sv)
		}
		b, _ := json.Marshal(e.data)
		if len(b) > 80 {
			b = append(b[:77], "..."...)
		}
		return t.Name + ":" + string(b)
	}
	return t.Name + ":" + fmt.Sprint(v)
}

// outputMatches compares one expected output (type and text) with a value.
func outputMatches(typ, text string, v Value) bool {
	sv, ok := toSystem(v)
	if !ok {
		if e, isE := v.(*Element); isE && typ == "Quantity" {
			if q, ok := quantityOf(e); ok {
				sv = q
			}
		}
		if sv == nil {
			return false
		}
	}
	text = strings.TrimPrefix(text, "@")
	switch typ {
	case "boolean":
		b, ok := sv.(Boolean)
		return ok && fmt.Sprint(bool(b)) == text
	case "integer":
		i, ok := sv.(Integer)
		return ok && fmt.Sprint(int64(i)) == text
	case "decimal":
		want, ok := ParseDecimal(text)
		switch x := sv.(type) {
		case Decimal:
			return ok && x.Cmp(want) == 0
		case Integer:
			return ok && DecimalFromInt(int64(x)).Cmp(want) == 0
		}
		return false
	case "date", "dateTime", "time":
		return fmt.Sprint(sv) == strings.TrimPrefix(text, "T")
	case "Quantity":
		q, ok := sv.(Quantity)
		if !ok {
			return false
		}
		want, ok := parseQuantityString(text)
		return ok && want.Value.Cmp(q.Value) == 0 && ucumOf(want.Unit) == ucumOf(q.Unit)
	case "":
		got := fmt.Sprint(sv)
		if got == text {
			return true
		}
		if d, ok := sv.(Decimal); ok {
			want, ok := ParseDecimal(text)
			return ok && want.Cmp(d) == 0 && want.scale == d.scale
		}
		return strings.TrimPrefix(got, "T") == strings.TrimPrefix(text, "T")
	default: // string, code, id, uri, ...
		s, ok := sv.(String)
		return ok && string(s) == text
	}
}
