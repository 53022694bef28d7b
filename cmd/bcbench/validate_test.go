package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"github.com/bcbench/bcbench/internal/shared"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir finds ../shared/corpus by walking up from the working directory.
func corpusDir(t *testing.T) string {
	return shared.Corpus(t, "the validate command needs the FHIR core package from it")
}

func exitCode(err error) int {
	if err == nil {
		return exitPass
	}
	if ee, ok := err.(*exitError); ok {
		return ee.code
	}
	return -1
}

func TestValidateCommand(t *testing.T) {
	core := filepath.Join(corpusDir(t), "hl7-fhir-core", "4.0.1")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"resourceType":"Patient","id":"p1","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Anna</div>"},"active":true}`)
	bad := write("bad.json", `{"resourceType":"Patient","active":"yes"}`)
	xml := write("good.xml", `<Patient xmlns="http://hl7.org/fhir"><id value="p2"/><active value="true"/></Patient>`)
	tests := []struct {
		name  string
		opts  validateOptions
		args  []string
		code  int
		lines int
	}{
		{"valid json and xml", validateOptions{packages: []string{core}, format: "json", fhirVersion: "4.0.1"}, []string{good, xml}, exitPass, 2},
		{"one invalid", validateOptions{packages: []string{core}, format: "json", fhirVersion: "4.0.1"}, []string{good, bad}, exitFail, 2},
		{"unreadable file", validateOptions{packages: []string{core}, format: "json", fhirVersion: "4.0.1"}, []string{filepath.Join(dir, "absent.json")}, exitSetup, 1},
		{"unknown profile", validateOptions{packages: []string{core}, format: "json", fhirVersion: "4.0.1", profiles: []string{"http://example.org/none"}}, []string{good}, exitSetup, 0},
		{"no core package", validateOptions{packages: []string{"none", dir}, format: "json", fhirVersion: "4.0.1"}, []string{good}, exitSetup, 0},
		{"no --package: the embedded packages", validateOptions{format: "json", fhirVersion: "4.0.1"}, []string{good, bad}, exitFail, 2},
		{"STU3 with the embedded packages", validateOptions{format: "json", fhirVersion: "3.0.1"}, []string{xml}, exitPass, 1},
		{"bad format flag", validateOptions{packages: []string{core}, format: "yaml", fhirVersion: "4.0.1"}, []string{good}, exitSetup, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := runValidate(nil, &out, tc.opts, tc.args)
			if got := exitCode(err); got != tc.code {
				t.Errorf("exit %d, want %d (%v)", got, tc.code, err)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if out.Len() == 0 {
				lines = nil
			}
			if len(lines) != tc.lines {
				t.Fatalf("%d output lines, want %d:\n%s", len(lines), tc.lines, out.String())
			}
			for _, l := range lines {
				var rec struct {
					File    string `json:"file"`
					Outcome struct {
						ResourceType string `json:"resourceType"`
						Issue        []any  `json:"issue"`
					} `json:"outcome"`
				}
				if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.File == "" || rec.Outcome.ResourceType != "OperationOutcome" || len(rec.Outcome.Issue) == 0 {
					t.Errorf("line is not {file, outcome}: %s (%v)", l, err)
				}
			}
		})
	}
	// Through cobra: flags are wired and the exit codes reach main.
	if code := execute([]string{"validate", "--package", core, "--format", "json", good}); code != exitPass {
		t.Errorf("bcbench validate good.json: exit %d", code)
	}
	if code := execute([]string{"validate", "--package", core, "--fhir-version", "4.0.1", bad}); code != exitFail {
		t.Errorf("bcbench validate bad.json: exit %d", code)
	}
	if code := execute([]string{"validate", "--package", core, "--fhir-version", "9.9", good}); code != exitSetup {
		t.Errorf("unsupported FHIR version: exit %d", code)
	}
	var out bytes.Buffer
	err := runValidate(nil, &out, validateOptions{packages: []string{core}, format: "text", fhirVersion: "4.0.1"}, []string{dir})
	if exitCode(err) != exitFail || !strings.Contains(out.String(), "FAIL "+bad) || !strings.Contains(out.String(), "3 file(s) checked, 1 with errors") {
		t.Errorf("text output of a directory: exit %d\n%s", exitCode(err), out.String())
	}
}

func TestPackagesCommands(t *testing.T) {
	var tgz bytes.Buffer
	zw := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(zw)
	for name, body := range map[string]string{
		"package/package.json":                  `{"name":"example.bc","version":"0.1.0","fhirVersions":["4.0.1"]}`,
		"package/StructureDefinition-test.json": `{"resourceType":"StructureDefinition","url":"http://example.org/StructureDefinition/test","type":"Patient","kind":"resource","derivation":"constraint","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient"}`,
	} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/example.bc/0.1.0" {
			w.Write(tgz.Bytes())
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	cache := t.TempDir()
	var out bytes.Buffer
	if err := runPackagesInstall(nil, &out, "example.bc#0.1.0", srv.URL, cache); err != nil {
		t.Fatalf("install: %v", err)
	}
	if !strings.Contains(out.String(), "installed example.bc#0.1.0") {
		t.Errorf("install output: %s", out.String())
	}
	if err := runPackagesInstall(nil, &out, "missing#1.0.0", srv.URL, cache); exitCode(err) != exitSetup {
		t.Errorf("missing package: exit %d (%v)", exitCode(err), err)
	}
	if err := runPackagesInstall(nil, &out, "no-version", srv.URL, cache); exitCode(err) != exitSetup {
		t.Errorf("no version: exit %d", exitCode(err))
	}
	out.Reset()
	if err := runPackagesList(&out, []string{"example.bc#0.1.0"}, cache); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "example.bc#0.1.0  FHIR 4.0.1  1 resources") || !strings.Contains(out.String(), "1 package(s)") {
		t.Errorf("list output:\n%s", out.String())
	}
}
