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
