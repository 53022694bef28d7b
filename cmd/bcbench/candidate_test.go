package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCandidateCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "name: x\nroles:\n  xis:\n    url: http://127.0.0.1:9\n")
	bad := write("bad.yaml", "name: x\nroles:\n  xis:\n    url: http://a\n    builtin: true\n")
	outside := write("outside.yaml", "name: x\nroles:\n  xis:\n    image: {name: v:1, port: 8080, dockerfile: Dockerfile, context: ..}\n")
	urlAuth := write("url-auth.yaml", "name: x\nroles:\n  xis:\n    url: http://127.0.0.1:9\n    auth: {bench: true}\n")
	pinned := write("pinned.yaml", "name: x\nroles:\n  xis:\n    image: {name: \"v@sha256:"+strings.Repeat("0f", 32)+"\", port: 8080}\n")
	tests := []struct {
		name   string
		file   string
		code   int
		stdout string
		stderr string
	}{
		{"valid", good, exitPass, "valid candidate manifest: x", ""},
		{"url: self-tests only", good, exitPass, "certification: self-tests only", ""},
		{"pinned image may certify", pinned, exitPass, "certification: may run in a certifying run", ""},
		{"build context outside the folder", outside, exitFail, "", "roles.xis.image.context: build context .. resolves to"},
		{"two kinds", bad, exitFail, "", bad + ":3: roles.xis: needs exactly one of image, command, url or builtin; found url and builtin"},
		{"missing file", filepath.Join(dir, "absent.yaml"), exitSetup, "", ""},
		{"url: cannot trust the bench's tokens", urlAuth, exitFail, "", "a url: role cannot learn the keys"},
		{"example image", filepath.Join("..", "..", "examples", "reference-image.yaml"), exitPass, "image bcbench/reference-xis:dev port 8080", ""},
		{"example process", filepath.Join("..", "..", "examples", "reference-process.yaml"), exitPass, "command ../bin/bcbench", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runCandidateCheck(&out, &errOut, tc.file)
			code := exitPass
			if ee, ok := err.(*exitError); ok {
				code = ee.code
			} else if err != nil {
				code = -1
			}
			if code != tc.code {
				t.Errorf("code %d, want %d (%v)", code, tc.code, err)
			}
			if !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
			}
		})
	}
}

// TestNewUserTerminal: the vendor's name and version in a manifest reach the
// terminal without their control characters (an escape sequence in a name
// could rewrite the screen), and the run's progress line is cleared before
// the verdict.
func TestNewUserTerminal(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.yaml")
	doc := "name: \"Mijn\\e[2J\\e]0;gekaapt\\aVIS\"\nvendor: \"Voorbeeld\\rBV\"\nversion: \"1\\b2\"\nroles:\n  xis:\n    url: http://127.0.0.1:9\n"
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := runCandidateCheck(&out, &errOut, p); err != nil {
		t.Fatalf("candidate check: %v\n%s", err, errOut.String())
	}
	if strings.ContainsAny(out.String(), "\x1b\a\r\b") || !strings.Contains(out.String(), "Mijn [2J ]0;gekaapt VIS (Voorbeeld BV 1 2)") {
		t.Errorf("control characters reached the terminal: %q", out.String())
	}

	var line bytes.Buffer
	progress := lineProgress(&line)
	progress("kandidaat starten: Mijn\x1b[2JVIS")
	progress("") // what finish does before the verdict
	if got, want := line.String(), "\r\x1b[Kkandidaat starten: Mijn [2JVIS\r\x1b[K"; got != want {
		t.Errorf("progress wrote %q, want %q", got, want)
	}
}

// TestPackagesEnvEverywhere: BCBENCH_PACKAGES counts for validate and
// packages list as it does for run, and a source in it that names nothing
// stops them with a line.
func TestPackagesEnvEverywhere(t *testing.T) {
	dir := t.TempDir()
	sd := filepath.Join(dir, "profielen")
	os.MkdirAll(sd, 0o755)
	os.WriteFile(filepath.Join(sd, "StructureDefinition-bc-test.json"), []byte(`{"resourceType":"StructureDefinition","url":"http://example.org/StructureDefinition/bc-test","version":"1.0.0","name":"BcTest","type":"Patient","kind":"resource","derivation":"constraint","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","differential":{"element":[{"id":"Patient.active","path":"Patient.active","min":1}]}}`), 0o644)
	patient := filepath.Join(dir, "patient.json")
	os.WriteFile(patient, []byte(`{"resourceType":"Patient","id":"p1"}`), 0o644)

	t.Setenv(packagesEnv, sd)
	var out bytes.Buffer
	if err := runPackagesList(&out, nil, filepath.Join(dir, "cache")); err != nil || !strings.Contains(out.String(), "profielen") || !strings.Contains(out.String(), "hl7.fhir.r4.core#4.0.1") {
		t.Errorf("packages list with %s: %v\n%s", packagesEnv, err, out.String())
	}
	out.Reset()
	err := runValidate(nil, &out, validateOptions{format: "text", fhirVersion: "4.0.1", profiles: []string{"http://example.org/StructureDefinition/bc-test"}}, []string{patient})
	if exitCode(err) != exitFail || !strings.Contains(out.String(), "active") {
		t.Errorf("validate against a profile from %s: exit %d\n%s", packagesEnv, exitCode(err), out.String())
	}

	t.Setenv(packagesEnv, filepath.Join(dir, "bestaat-niet"))
	out.Reset()
	if err := runPackagesList(&out, nil, ""); exitCode(err) != exitSetup || !strings.Contains(err.Error(), "bestaat-niet") {
		t.Errorf("packages list with a missing package: %v", err)
	}
	if err := runValidate(nil, &out, validateOptions{format: "text", fhirVersion: "4.0.1"}, []string{patient}); exitCode(err) != exitSetup || !strings.Contains(err.Error(), "bestaat-niet") {
		t.Errorf("validate with a missing package: %v", err)
	}
}
