package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/browser"
)

func TestWCAGCommand(t *testing.T) {
	if _, err := browser.Find(""); err != nil {
		t.Skipf("skipping: %v", err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "goed.html")
	bad := filepath.Join(dir, "fout.html")
	os.WriteFile(good, []byte(`<!doctype html><html lang="nl"><title>Zwangerschapskaart</title><main><h1>Kaart</h1><p>Alles goed.</p></main></html>`), 0o644)
	os.WriteFile(bad, []byte(`<!doctype html><html lang="nl"><title>Kaart</title><main><h1>Kaart</h1><img src="echo.png"></main></html>`), 0o644)
	ev := filepath.Join(dir, "evidence")
	cases := []struct {
		name   string
		args   []string
		code   int
		inJSON string
	}{
		{"good page passes", []string{"wcag", "--format", "json", good}, exitPass, `"findings":[{"sc":"2.4.2","rule":"2779a5","outcome":"needs-review"`},
		{"image without alt fails with evidence", []string{"wcag", "--format", "json", "--evidence", ev, bad}, exitFail, `"sc":"1.1.1","rule":"23a2a8","outcome":"failed"`},
		{"bad format", []string{"wcag", "--format", "xml", good}, exitSetup, ""},
		{"missing file", []string{"wcag", filepath.Join(dir, "geen.html")}, exitSetup, ""},
		{"not a page URL", []string{"wcag", "http://"}, exitSetup, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			root := newRoot()
			root.SetArgs(tc.args)
			root.SetOut(&out)
			err := root.Execute()
			if code := exitCode(err); code != tc.code {
				t.Fatalf("exit %d, want %d (%v)\n%s", code, tc.code, err, out.String())
			}
			if tc.inJSON == "" {
				return
			}
			line := strings.TrimSpace(out.String())
			var rep map[string]any
			if err := json.Unmarshal([]byte(line), &rep); err != nil || strings.Count(line, "\n") != 0 {
				t.Fatalf("not one JSON line: %v\n%s", err, line)
			}
			if !strings.Contains(line, tc.inJSON) {
				t.Fatalf("JSON lacks %s:\n%s", tc.inJSON, line)
			}
		})
	}
	for _, f := range []string{"page-1.png", "page-1-fail-1-23a2a8.png", "page-1.har"} {
		data, err := os.ReadFile(filepath.Join(ev, f))
		if err != nil || len(data) == 0 {
			t.Errorf("evidence %s: %v", f, err)
		}
	}
}

func TestWCAGWithoutChromium(t *testing.T) {
	t.Setenv("BCBENCH_CHROMIUM", filepath.Join(t.TempDir(), "chromium"))
	root := newRoot()
	root.SetArgs([]string{"wcag", "http://127.0.0.1:1/"})
	var out bytes.Buffer
	root.SetOut(&out)
	err := root.Execute()
	if code := exitCode(err); code != exitSetup || !strings.Contains(err.Error(), "chromium not found") {
		t.Fatalf("exit %d (%v), want 2 with the reason", code, err)
	}
}

func TestSanitizeKeepsControlCharactersOffTheTerminal(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain Dutch text", "Zwangerschapskaart — 3,2 kg", "Zwangerschapskaart — 3,2 kg"},
		{"escape sequence", "titel\x1b[2Jweg", "titel [2Jweg"},
		{"newline and C1", "a\nb\u009bc", "a b c"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := sanitize(tc.in); got != tc.want {
				t.Errorf("sanitize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
