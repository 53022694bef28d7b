package fhirpath

import (
	"context"
	"errors"
	"fmt"
	"github.com/bcbench/bcbench/internal/shared"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustTree(t testing.TB, s string) map[string]any {
	t.Helper()
	m, err := decodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("decoding test tree: %v", err)
	}
	return m
}

const apiPatient = `{
  "resourceType": "Patient", "id": "p1",
  "contained": [{"resourceType": "Organization", "id": "org1", "name": "Verloskundigenpraktijk De Wieg"}],
  "managingOrganization": {"reference": "#org1"},
  "generalPractitioner": [{"reference": "Practitioner/gp1"}],
  "birthDate": "1990-05-17",
  "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1990-05-17T08:30:00+02:00"}]},
  "name": [{"family": "Jansen", "given": ["Anna", "Maria"]}],
  "multipleBirthInteger": 2
}`

func TestEvaluate(t *testing.T) {
	patient := mustTree(t, apiPatient)
	bundle := mustTree(t, `{"resourceType": "Bundle", "type": "collection", "entry": [
	  {"fullUrl": "http://example.org/fhir/Practitioner/gp1", "resource": {"resourceType": "Practitioner", "id": "gp1", "active": true}},
	  {"fullUrl": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", "resource": {"resourceType": "Patient", "id": "p2",
	    "generalPractitioner": [{"reference": "Practitioner/gp1"}], "link": [{"other": {"reference": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"}}]}}]}`)
	bundlePatient := bundle["entry"].([]any)[1].(map[string]any)["resource"]
	tests := []struct {
		name  string
		expr  string
		focus any
		env   *Env
		want  string // rendered result
	}{
		{"resource type at path start", "Patient.name.given", patient, nil, "[:Anna, :Maria]"},
		{"untyped choice element", "multipleBirth.is(integer)", patient, nil, "[Boolean:true]"},
		{"untyped choice value", "multipleBirth + 1", patient, nil, "[Integer:3]"},
		{"primitive extension", "birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').value", patient, nil, "[dateTime:1990-05-17T08:30:00+02:00]"},
		{"untyped date compares with a date", "birthDate < @2000-01-01", patient, nil, "[Boolean:true]"},
		{"%resource defaults to the resource focus", "%resource.id", patient, nil, "[:p1]"},
		{"%context defaults to the focus", "%context.id = id", patient, nil, "[Boolean:true]"},
		{"%resource from Env", "%resource.id", patient["name"].([]any)[0], &Env{Resource: patient}, "[:p1]"},
		{"user variable", "%limit > 1", patient, &Env{Variables: map[string]any{"limit": 3}}, "[Boolean:true]"},
		{"user variable collection", "%codes.count()", patient, &Env{Variables: map[string]any{"codes": Collection{String("a"), String("b")}}}, "[Integer:2]"},
		{"resolve contained", "managingOrganization.resolve().name", patient, nil, "[:Verloskundigenpraktijk De Wieg]"},
		{"resolve outside bundle finds nothing", "generalPractitioner.resolve()", patient, nil, "[]"},
		{"resolve bundle entry by type/id", "generalPractitioner.resolve().active", bundlePatient, &Env{Resource: bundlePatient, RootResource: bundle}, "[:true]"},
		{"resolve bundle entry by fullUrl", "link.other.resolve().id", bundlePatient, &Env{Resource: bundlePatient, RootResource: bundle}, "[:p2]"},
		{"resolve hook", "generalPractitioner.resolve().id", patient, &Env{Resolve: func(ref string, from any) (any, bool) {
			if ref == "Practitioner/gp1" && from.(map[string]any)["id"] == "p1" {
				return map[string]any{"resourceType": "Practitioner", "id": "from-hook"}, true
			}
			return nil, false
		}}, "[:from-hook]"},
		{"memberOf hook", "name.family.memberOf('http://example.org/vs')", patient, &Env{MemberOf: func(v Value, vs string) (bool, bool) {
			s, _ := toSystem(v)
			return s == String("Jansen") && vs == "http://example.org/vs", true
		}}, "[Boolean:true]"},
		{"memberOf without hook is empty", "name.family.memberOf('http://example.org/vs')", patient, nil, "[]"},
		{"now from Env", "now() = @2026-03-01T12:00:00.000Z", patient, &Env{Now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, "[Boolean:true]"},
		{"today from Env", "today()", patient, &Env{Now: time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)}, "[Date:2026-03-01]"},
		{"children count matches materialised children", "children().count() = children().select($this).count()", patient, nil, "[Boolean:true]"},
		{"descendants count", "descendants().count()", patient, nil, "[Integer:17]"},
		{"quantity with UCUM", "1 'kg' = 1000 'g' and 3 'mm[Hg]' < 1 'cm[Hg]' and 2 'h' > 100 'min'", patient, nil, "[Boolean:true]"},
		{"incomparable units", "(1 'kg' = 1 'm').empty()", patient, nil, "[Boolean:true]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expr, err := Compile(tc.expr)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.expr, err)
			}
			got, err := expr.Evaluate(tc.focus, tc.env)
			if err != nil {
				t.Fatalf("Evaluate(%q): %v", tc.expr, err)
			}
			if r := render(got); r != tc.want {
				t.Errorf("%s = %s, want %s", tc.expr, r, tc.want)
			}
		})
	}
}

func TestTypedModel(t *testing.T) {
	model := loadR4Model(t)
	obs := mustTree(t, benchObservation)
	tests := []struct {
		name, expr, want string
	}{
		{"choice by base name", "component.value.code", "[code:mm[Hg], code:mm[Hg], code:mm[Hg]]"},
		{"quantity element compares with a literal", "component[0].value > 119.5 'mm[Hg]'", "[Boolean:true]"},
		{"is with base type", "component[0].value is Quantity and effective is dateTime", "[Boolean:true]"},
		{"backbone element type", "component.first().type().name", "[:BackboneElement]"},
		{"primitive type", "status.type().name", "[:code]"},
		{"as exact for primitives", "status.as(string).empty() and status.as(code).exists()", "[Boolean:true]"},
		{"choice suffix access is an error with a model", "valueQuantity", "error"},
		{"unknown type name is an error", "status.as(strin)", "error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MustCompile(tc.expr).Evaluate(obs, &Env{Types: model})
			r := "error"
			if err == nil {
				r = render(got)
			}
			if r != tc.want {
				t.Errorf("%s = %s (err %v), want %s", tc.expr, r, err, tc.want)
			}
		})
	}
}

// TestInvariantOnDataType evaluates per-1 with a data type focus (FocusType).
func TestInvariantOnDataType(t *testing.T) {
	model := loadR4Model(t)
	per1 := MustCompile("start.hasValue().not() or end.hasValue().not() or (start <= end)")
	tests := []struct {
		name       string
		start, end string
		want       string
	}{
		{"backwards", "2026-03-02", "2026-03-01", "[Boolean:false]"},
		{"offsets normalised", "2026-03-01T10:00:00+01:00", "2026-03-01T09:30:00Z", "[Boolean:true]"},
		{"offsets normalised backwards", "2026-03-01T10:00:00Z", "2026-03-01T10:30:00+01:00", "[Boolean:false]"},
		{"partial precision unknown", "2026-03", "2026-03-15", "[]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			period := map[string]any{"start": tc.start, "end": tc.end}
			got, err := per1.Evaluate(period, &Env{FocusType: "Period", Types: model})
			if err != nil {
				t.Fatal(err)
			}
			if r := render(got); r != tc.want {
				t.Errorf("per-1 on %s..%s = %s, want %s", tc.start, tc.end, r, tc.want)
			}
		})
	}
}

func TestModelContentReference(t *testing.T) {
	model := loadR4Model(t)
	// A validator walking a profile names nested items by their own path.
	item := map[string]any{"linkId": "1.1", "type": "boolean", "enableWhen": []any{map[string]any{"question": "1", "operator": "exists", "answerBoolean": true}}}
	got, err := MustCompile("enableWhen.answer.is(boolean) and type.is(code)").Evaluate(item, &Env{Types: model, FocusType: "Questionnaire.item.item#BackboneElement"})
	if err != nil || render(got) != "[Boolean:true]" {
		t.Errorf("nested item typed through its content reference: %s, %v", render(got), err)
	}
}

func TestStrict(t *testing.T) {
	model := loadR4Model(t)
	obs := mustTree(t, benchObservation)
	for _, expr := range []string{"Observation.statuss", "Patient.name", "component.cod"} {
		if _, err := MustCompile(expr).Evaluate(obs, &Env{Types: model, Strict: true}); err == nil {
			t.Errorf("strict %s: want an error", expr)
		}
		got, err := MustCompile(expr).Evaluate(obs, &Env{Types: model})
		if err != nil || len(got) != 0 {
			t.Errorf("lenient %s: want empty, got %s, %v", expr, render(got), err)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	deep := strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000)
	negs := strings.Repeat("-", 5000) + "1"
	tests := map[string]string{
		"unknown function":         "name.frobnicate()",
		"wrong arity":              "substring()",
		"unterminated string":      "'abc",
		"unterminated comment":     "1 /* x",
		"bad date":                 "@2015-13-01",
		"dangling operator":        "1 +",
		"deep nesting":             deep,
		"deep unary":               negs,
		"too long":                 strings.Repeat("a.", MaxExpressionLength),
		"unknown special var":      "$foo",
		"type argument not a type": "is(1)",
		"garbage":                  "\x00\xff#",
	}
	for name, expr := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Compile(expr)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("Compile: want a *SyntaxError, got %v", err)
			}
		})
	}
}

func TestBounds(t *testing.T) {
	patient := mustTree(t, apiPatient)
	explode := "(1|2|3|4|5|6|7|8|9|10)" + strings.Repeat(".select((1|2|3|4|5|6|7|8|9|10) | $this)", 12)
	t.Run("step limit", func(t *testing.T) {
		_, err := MustCompile(explode).Evaluate(patient, &Env{MaxSteps: 10_000})
		if !errors.Is(err, ErrStepLimit) {
			t.Errorf("want ErrStepLimit, got %v", err)
		}
	})
	t.Run("default step limit", func(t *testing.T) {
		start := time.Now()
		_, err := MustCompile("1.repeat($this + 1)").Evaluate(patient, nil)
		if err == nil {
			t.Errorf("want an error from an unbounded repeat")
		}
		t.Logf("unbounded repeat stopped after %v: %v", time.Since(start), err)
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := MustCompile(explode).Evaluate(patient, &Env{Ctx: ctx})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("want context.Canceled, got %v", err)
		}
	})
	t.Run("deep tree", func(t *testing.T) {
		var node any = map[string]any{"value": "leaf"}
		for i := 0; i < 10_000; i++ {
			node = map[string]any{"item": []any{node}}
		}
		root := map[string]any{"resourceType": "Questionnaire", "item": []any{node}}
		got, err := MustCompile("descendants().count()").Evaluate(root, nil)
		if err == nil {
			t.Logf("descendants of a 10,000-deep tree: %s", render(got))
		} else {
			t.Logf("descendants of a 10,000-deep tree refused: %v", err)
		}
		if _, err := MustCompile("repeat(item).count()").Evaluate(root, &Env{MaxSteps: 100_000}); err != nil {
			t.Logf("repeat over the deep tree: %v", err)
		}
		eq, err := MustCompile("item = item").Evaluate(root, nil)
		if err != nil || render(eq) != "[Boolean:true]" {
			t.Errorf("deep equality: %s, %v", render(eq), err)
		}
	})
	t.Run("large bundle within the default budget", func(t *testing.T) {
		entries := make([]any, 20_000)
		for i := range entries {
			entries[i] = map[string]any{"fullUrl": fmt.Sprintf("urn:uuid:%08d-0000-4000-8000-000000000000", i),
				"resource": map[string]any{"resourceType": "Observation", "id": fmt.Sprint(i), "status": "final"}}
		}
		bundle := map[string]any{"resourceType": "Bundle", "type": "collection", "entry": entries}
		for _, expr := range []string{
			"entry.fullUrl.isDistinct()",
			"(entry.where(fullUrl.exists()).select(fullUrl&iif(resource.meta.versionId.exists(), resource.meta.versionId, ''))).isDistinct()",
			"entry.resource.id.distinct().count() = 20000",
			"(entry.resource.id | entry.resource.id).count() = 20000",
			"entry.resource.id.exclude(entry.resource.id.take(10)).count() = 19990",
		} {
			start := time.Now()
			ok, known, err := MustCompile(expr).EvaluateBool(bundle, nil)
			if err != nil || !known || !ok {
				t.Errorf("%s: %v %v %v", expr, ok, known, err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Logf("%s took %v", expr, d)
			}
		}
	})
	t.Run("growing values", func(t *testing.T) {
		for _, expr := range []string{
			"'ab'.repeat($this + $this).count()",
			"'ab'.repeat($this & $this).count()",
			"1.1.repeat($this * $this).count()",
			"(1.5 'm').repeat($this * $this).count()",
			"'abcdefgh'.repeat($this.replace('a', $this)).count()",
		} {
			_, err := MustCompile(expr).Evaluate(patient, nil)
			if err == nil {
				t.Errorf("%s: want an error", expr)
			}
		}
	})
	t.Run("hostile regex and replace", func(t *testing.T) {
		for _, expr := range []string{
			"'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'.matches('(a+)+$')",
			"'x'.matches('(')",
			"'abc'.replace('', 'xyz')",
		} {
			if _, err := MustCompile(expr).Evaluate(patient, nil); err != nil {
				t.Logf("%s: %v", expr, err)
			}
		}
	})
}

// TestConcurrentUse evaluates shared expressions on a shared tree from many
// goroutines (run with -race to check).
func TestConcurrentUse(t *testing.T) {
	patient := mustTree(t, apiPatient)
	exprs := []*Expression{
		MustCompile("Patient.name.given.first() = 'Anna'"),
		MustCompile("managingOrganization.resolve().name.exists()"),
		MustCompile("descendants().where($this = 'Anna').count() = 1"),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				for _, e := range exprs {
					ok, known, err := e.EvaluateBool(patient, nil)
					if err != nil || !known || !ok {
						errs <- fmt.Errorf("%s: %v %v %v", e, ok, known, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// FuzzEvaluate checks that no expression makes the engine panic (Evaluate
// turns a panic into an "internal error", which the fuzz target rejects).
func FuzzEvaluate(f *testing.F) {
	for _, seed := range []string{
		"Patient.name.given", "1 + 'a'", "(1|2).not()", "@2015-02-04T14:34:28Z + 1 day",
		"name.select(given | family).distinct()", "10 'mg' / 0 'g'", "descendants().resolve()",
		"iif(true, 1/0, 2)", "aggregate($this + $total, 0)", "-(1.0).lowBoundary(30)",
		"'abc'.substring(-1, 999999999999)", "1.0e400", "sort(-$this)", "%resource.repeat(children())",
		"@T25:00", "1 'm' * 1 'm' * 1 '10*30' = 1 'm2'", "power(1e9)", "(2).power(99999999)",
		"'x'.toChars().join(',')", "convertsToQuantity('cm[Hg]')", "'1 \\'wk\\''.toQuantity('d')",
	} {
		f.Add(seed)
	}
	patient := mustTree(f, apiPatient)
	envs := []*Env{{MaxSteps: 100_000}}
	if _, ok := shared.Find(); ok {
		model := loadR4Model(f)
		envs = append(envs, &Env{MaxSteps: 100_000, Types: model}, &Env{MaxSteps: 100_000, Types: model, Strict: true, CheckOrdered: true})
	}
	f.Fuzz(func(t *testing.T, expr string) {
		e, err := Compile(expr)
		if err != nil {
			return
		}
		for _, env := range envs {
			_, err = e.Evaluate(patient, env)
			if err != nil && strings.Contains(err.Error(), "internal error") {
				t.Fatalf("%q: %v", expr, err)
			}
		}
	})
}

func TestElementSystemValue(t *testing.T) {
	model := loadR4Model(t)
	obs := mustTree(t, benchObservation)
	got, err := MustCompile("effective | component[0].value.value | status | code").Evaluate(obs, &Env{Types: model})
	if err != nil || len(got) != 4 {
		t.Fatalf("evaluating: %s, %v", render(got), err)
	}
	want := []string{"fhirpath.DateTime 2026-03-01T10:10:00+01:00", "fhirpath.Decimal 120", "fhirpath.String final", "complex"}
	for i, v := range got {
		sv, ok := v.(*Element).SystemValue()
		g := "complex"
		if ok {
			g = fmt.Sprintf("%T %v", sv, sv)
		}
		if g != want[i] {
			t.Errorf("item %d: SystemValue() = %s, want %s", i, g, want[i])
		}
	}
}

func TestEvaluateBool(t *testing.T) {
	patient := mustTree(t, apiPatient)
	tests := []struct {
		name, expr   string
		value, known bool
	}{
		{"true", "name.exists()", true, true},
		{"false", "name.empty()", false, true},
		{"empty is no answer", "name.where(false).exists().where(false)", false, false},
		{"single non-boolean is true", "id", true, true},
		{"several items are true, as in the Java validator (STU3 ele-1)", "true | false", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, known, err := MustCompile(tc.expr).EvaluateBool(patient, nil)
			if err != nil {
				t.Fatal(err)
			}
			if v != tc.value || known != tc.known {
				t.Errorf("%s = (%v, %v), want (%v, %v)", tc.expr, v, known, tc.value, tc.known)
			}
		})
	}
}
