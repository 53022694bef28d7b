package reports

import (
	"encoding/json"
	"strings"
	"testing"
)

// richResults has every field of the model set, so the schema is checked
// against all of it.
func richResults(t testing.TB) *Results {
	t.Helper()
	a := spec("content: vitals published as registered", Pass, "MED-01", "STD-01")
	a.Evidence = []string{"evidence/xis.har"}
	in := baseInput(t, []string{"MED-01", "MED-02", "STD-01", "STD-02", "HER-01", "HER-02"},
		a, spec("mp9: agreement", Fail, "MED-02"), spec("api: search", Error, "STD-02"), spec("content: who", Skip, "HER-02"))
	in.Candidate = Candidate{Name: "ref-xis", Vendor: "bcbench", Version: "1.0.0", Roles: []RoleIdentity{
		{Role: "xis", Kind: "image", Image: "bcbench/ref-xis:1", Digest: "sha256:" + strings.Repeat("ab", 32), Software: "ref-xis 1.0.0"},
		{Role: "viewer", Kind: "command", Binary: "/usr/bin/viewer", SHA256: strings.Repeat("cd", 32)},
		{Role: "translator", Kind: "url", URL: "http://127.0.0.1:8080"},
	}}
	in.Problems = []string{"proxy: one exchange not recorded"}
	in.Mode = ModeSelfTest
	in.Stopped = []Stopped{{Role: "xis", During: "bij het registreren van ongecompliceerd › Intake", Reason: "process exited: exit status 7",
		Log: "evidence/xis.log", LastLines: []string{"panic: weg"}}}
	in.Terminology = "http://127.0.0.1:8081/fhir"
	in.Limits.Overridden = []string{"requestTimeout"}
	in.Packages = append(in.Packages, Package{ID: "nictiz.fhir.nl.r4.zib2020", Version: "0.12.1-beta.1"})
	in.Evidence = []Evidence{{Path: "evidence/xis.har", SHA256: strings.Repeat("0", 64), Kind: "har"}}
	return Assemble(in)
}

func marshalMap(t *testing.T, res *Results) map[string]any {
	t.Helper()
	data, err := Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWrittenResultsMatchSchema(t *testing.T) {
	cases := map[string]*Results{
		"every field set":   richResults(t),
		"nothing ran":       Assemble(baseInput(t, []string{"MED-01"})),
		"empty profile":     Assemble(baseInput(t, nil)),
		"all goals covered": Assemble(baseInput(t, []string{"MED-01", "CLI-01", "STD-01", "HER-01"}, spec("a", Pass, "MED-01", "CLI-01", "STD-01", "HER-01"))),
	}
	for name, res := range cases {
		t.Run(name, func(t *testing.T) {
			data, err := Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			if err := ValidateJSON(data); err != nil {
				t.Fatalf("written results.json does not match the schema: %v", err)
			}
			back, err := ParseResults(data)
			if err != nil {
				t.Fatalf("ParseResults: %v", err)
			}
			again, _ := Marshal(back)
			if string(again) != string(data) {
				t.Fatal("results.json does not survive a round trip unchanged")
			}
		})
	}
}

func TestMarshalIsDeterministic(t *testing.T) {
	a, _ := Marshal(richResults(t))
	b, _ := Marshal(richResults(t))
	if string(a) != string(b) {
		t.Fatal("two marshals of the same results differ")
	}
	if !strings.HasPrefix(string(a), "{\n  \"schema\": \"bcbench.results/v2\",") || !strings.HasSuffix(string(a), "}\n") {
		t.Fatalf("results.json is not indented JSON with the schema first: %.60q", a)
	}
}

func TestSchemaRejects(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(m map[string]any)
		want   string // part of the instance location in the error
	}{
		{"missing verdict", func(m map[string]any) { delete(m, "verdict") }, "': missing property 'verdict"},
		{"unknown verdict", func(m map[string]any) { m["verdict"] = "maybe" }, "/verdict"},
		{"unknown top-level field", func(m map[string]any) { m["extra"] = 1 }, "': additional properties 'extra"},
		{"wrong schema version", func(m map[string]any) { m["schema"] = "bcbench.results/v0" }, "/schema"},
		{"bad status", func(m map[string]any) { req(m, 0)["status"] = "passed" }, "/requirements/0/status"},
		{"bad level", func(m map[string]any) { req(m, 0)["level"] = "MUST" }, "/requirements/0/level"},
		{"id not label-safe", func(m map[string]any) { req(m, 0)["id"] = "med 01" }, "/requirements/0/id"},
		{"fail without reason", func(m map[string]any) { delete(req(m, 1), "reason") }, "/requirements/1"},
		{"pass with no passing spec", func(m map[string]any) {
			r := req(m, 1)
			r["status"] = "pass"
		}, "/requirements/1"},
		{"not-tested with a spec that ran", func(m map[string]any) {
			r := req(m, 0)
			r["status"], r["reason"] = "not-tested", "x"
		}, "/requirements/0"},
		{"negative count", func(m map[string]any) { m["summary"].(map[string]any)["pass"] = -1 }, "/summary/pass"},
		{"three outcome goals", func(m map[string]any) { m["outcomeGoals"] = m["outcomeGoals"].([]any)[:3] }, "/outcomeGoals"},
		{"not assessed goal with a realisation", func(m map[string]any) {
			g := m["outcomeGoals"].([]any)[1].(map[string]any)
			g["realisation"] = 100.0
		}, "/outcomeGoals/1"},
		{"assessed goal without realisation", func(m map[string]any) {
			g := m["outcomeGoals"].([]any)[0].(map[string]any)
			g["realisation"] = nil
		}, "/outcomeGoals/0"},
		{"discount not in the table", func(m map[string]any) {
			g := m["outcomeGoals"].([]any)[0].(map[string]any)
			g["discount"] = 12.5
		}, "/outcomeGoals/0/discount"},
		{"evidence digest not hex", func(m map[string]any) {
			m["evidence"].([]any)[0].(map[string]any)["sha256"] = "xyz"
		}, "/evidence/0/sha256"},
		{"evidence path climbs out", func(m map[string]any) {
			m["evidence"].([]any)[0].(map[string]any)["path"] = "../secret"
		}, "/evidence/0/path"},
		{"evidence path is a javascript URL", func(m map[string]any) {
			m["evidence"].([]any)[0].(map[string]any)["path"] = "javascript:alert(1)"
		}, "/evidence/0/path"},
		{"evidence path absolute", func(m map[string]any) {
			m["evidence"].([]any)[0].(map[string]any)["path"] = "/etc/passwd"
		}, "/evidence/0/path"},
		{"started not a date-time", func(m map[string]any) { m["started"] = "gisteren" }, "/started"},
		{"image digest without algorithm", func(m map[string]any) {
			m["candidate"].(map[string]any)["roles"].([]any)[0].(map[string]any)["digest"] = strings.Repeat("ab", 32)
		}, "/candidate/roles/0/digest"},
		{"unknown mode", func(m map[string]any) { m["mode"] = "productie" }, "/mode"},
		{"v2 without limits", func(m map[string]any) { delete(m, "limits") }, "': missing property 'limits"},
		{"v2 without packages", func(m map[string]any) { delete(m, "packages") }, "': missing property 'packages"},
		{"v2 without terminology", func(m map[string]any) { delete(m, "terminology") }, "': missing property 'terminology"},
		{"v2 without profile.certifies", func(m map[string]any) { delete(m["profile"].(map[string]any), "certifies") }, "/profile"},
		{"certification against a profile that does not certify", func(m map[string]any) {
			m["mode"] = "certificering"
			m["profile"].(map[string]any)["certifies"] = false
		}, "/profile/certifies"},
		{"setup problem with a verdict", func(m map[string]any) { m["setupProblem"] = "kandidaat startte niet" }, "/verdict"},
		{"package sha256 not hex", func(m map[string]any) { m["packages"].([]any)[0].(map[string]any)["sha256"] = "abc" }, "/packages/0/sha256"},
		{"limit memory negative", func(m map[string]any) { m["limits"].(map[string]any)["memory"] = -1 }, "/limits/memory"},
		{"stopped log outside the folder", func(m map[string]any) { m["stopped"].([]any)[0].(map[string]any)["log"] = "../x.log" }, "/stopped/0/log"},
		{"unknown overridden limit", func(m map[string]any) { m["limits"].(map[string]any)["overridden"] = []any{"memory"} }, "/limits/overridden/0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := marshalMap(t, richResults(t))
			tc.mutate(m)
			data, _ := json.Marshal(m)
			err := ValidateJSON(data)
			if err == nil {
				t.Fatal("schema accepted an invalid results.json")
			}
			if !strings.Contains(err.Error(), "at '"+tc.want) {
				t.Fatalf("error %q does not point at %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func req(m map[string]any, i int) map[string]any {
	return m["requirements"].([]any)[i].(map[string]any)
}

func TestParseResultsRejectsGarbage(t *testing.T) {
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	for name, in := range map[string]string{
		"empty":     "",
		"not JSON":  "<html>",
		"truncated": `{"schema": "bcbench.results/v1"`,
		"an array":  "[]",
		"deep":      deep,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseResults([]byte(in)); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestSchemaIsPublished(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal(Schema(), &m); err != nil {
		t.Fatalf("Schema() is not JSON: %v", err)
	}
	if m["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("$schema = %v", m["$schema"])
	}
	if _, err := resultsSchema(); err != nil {
		t.Fatal(err)
	}
}

func TestParseResultsRejectsInconsistentTotals(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(m map[string]any)
		want   string
	}{
		{"verdict rewritten to pass", func(m map[string]any) { m["verdict"] = "pass" }, "verdict pass, requirements give fail"},
		{"summary rewritten", func(m map[string]any) { m["summary"].(map[string]any)["fail"] = 0.0 }, "summary"},
		{"outcome goal rewritten", func(m map[string]any) {
			g := m["outcomeGoals"].([]any)[0].(map[string]any)
			g["realisation"], g["discount"], g["passed"] = 100.0, 0.0, 2.0
		}, "outcome goal 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := marshalMap(t, richResults(t))
			tc.mutate(m)
			data, _ := json.Marshal(m)
			if err := ValidateJSON(data); err != nil {
				t.Fatalf("mutation should still match the schema: %v", err)
			}
			_, err := ParseResults(data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseResults = %v, want an inconsistency naming %q", err, tc.want)
			}
		})
	}
}

// FuzzParseResults: whatever the bytes, ParseResults returns an error or a
// result that survives a round trip; it never panics.
func FuzzParseResults(f *testing.F) {
	good, _ := Marshal(richResults(f))
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"schema":"bcbench.results/v1","requirements":[{"id":"A-1"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseResults(data)
		if err != nil {
			return
		}
		if _, err := Marshal(res); err != nil {
			t.Fatalf("parsed results do not marshal: %v", err)
		}
		if _, err := HTML(res); err != nil {
			t.Fatalf("parsed results do not render: %v", err)
		}
	})
}

// A results.json written before v2 (no limits, packages, terminology,
// certifies) is still read and rendered, so old reports stay readable.
func TestSchemaV1StillRead(t *testing.T) {
	m := marshalMap(t, richResults(t))
	m["schema"] = SchemaV1
	for _, k := range []string{"limits", "packages", "terminology", "referenceDate"} {
		delete(m, k)
	}
	delete(m["profile"].(map[string]any), "certifies")
	m["mode"] = "certificering" // v1: the mode followed the key alone
	data, _ := json.Marshal(m)
	res, err := ParseResults(data)
	if err != nil {
		t.Fatalf("a v1 results.json is refused: %v", err)
	}
	if _, err := HTML(res); err != nil {
		t.Fatalf("a v1 results.json does not render: %v", err)
	}
}
