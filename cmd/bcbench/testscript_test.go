package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/registry"
	"github.com/bcbench/bcbench/reference/fhirstore"
)

// scriptServer serves the engine's own test reference (a synthetic client).
func scriptServer(t *testing.T) string {
	t.Helper()
	pkgs, err := registry.Defaults("4.0.1")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Load(registry.Options{FHIRVersion: "4.0.1"}, pkgs...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := fhirstore.New(fhirstore.Options{FHIRVersion: "4.0.1", Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadDir("../../testscript/testdata/reference", nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestTestScriptRun: exit 0 when every assert passes (with a TestReport per
// script in --out), 1 when one fails, 2 when a script cannot run or the
// flags are wrong; the table names the folder.
func TestTestScriptRun(t *testing.T) {
	server := scriptServer(t)
	scripts := "../../testscript/testdata/scripts/"
	vars := filepath.Join(t.TempDir(), "vars.yaml")
	if err := os.WriteFile(vars, []byte("bsn: \"999912021\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"all pass", []string{"--variables", vars, scripts + "pass"}, exitPass, []string{"testdata/scripts/pass", "100.0"}},
		{"a failing script", []string{scripts + "fail/verkeerd-aantal.json"}, exitFail, []string{"1 of 3 asserts failed"}},
		{"failures in a folder", []string{scripts + "fail"}, exitFail, []string{"3 of "}},
		{"an unknown operation", []string{scripts + "bad/onbekende-operatie.json"}, exitSetup, []string{`unknown operation "frobnicate"`}},
		{"no server", []string{"--server", "", scripts + "pass"}, exitSetup, []string{"--server"}},
		{"a server with a password", []string{"--server", "http://u:p@127.0.0.1:1", scripts + "pass"}, exitSetup, []string{"user:password"}},
		{"bad FHIR version", []string{"--fhir-version", "R5", scripts + "pass"}, exitSetup, []string{"--fhir-version"}},
		{"no scripts", []string{"../../testscript/testdata/reference"}, exitSetup, []string{"no TestScripts"}},
		{"missing path", []string{scripts + "nergens"}, exitSetup, []string{"no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"testscript", "run", "--server", server}, tt.args...)
			code, out := runCLI(args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", code, tt.code, out)
			}
			for _, w := range tt.wants {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	t.Run("TestReports in --out", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "reports")
		code, out := runCLI("testscript", "run", "--server", server, "--out", dir, scripts+"fail")
		if code != exitFail {
			t.Fatalf("exit %d\n%s", code, out)
		}
		// one TestReport per script of the folder
		scriptsIn, err := filepath.Glob(filepath.Join(scripts+"fail", "*.json"))
		if err != nil || len(scriptsIn) == 0 {
			t.Fatalf("the failing scripts: %v, %v", scriptsIn, err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) != len(scriptsIn) {
			t.Fatalf("%d reports of %d scripts, %v", len(entries), len(scriptsIn), err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "verkeerd-aantal.testreport.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rep map[string]any
		if err := json.Unmarshal(data, &rep); err != nil || rep["resourceType"] != "TestReport" || rep["result"] != "fail" {
			t.Fatalf("report %v, %v", rep["result"], err)
		}
		if code, out := runCLI("testscript", "run", "--server", server, "--out", dir, scripts+"pass"); code != exitSetup || !strings.Contains(out, "not empty") {
			t.Errorf("a full --out: exit %d\n%s", code, out)
		}
	})
}
