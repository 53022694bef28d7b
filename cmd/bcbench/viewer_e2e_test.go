package main

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/browser"
)

// TestViewerRun: `bcbench run --profile zelftest-viewer` judges a viewer
// in chromium: the built-in reference viewer passes VWR-01..08, its
// screenshots are PNG evidence under the signature and shown in
// report.html, and the report verifies; the reference started as a process
// with the defect verouderd-dossier (a client's record kept 10 minutes)
// fails exactly VWR-08, and token-hergebruik, opened with a signed context
// token (launchMode context-token), fails exactly VWR-02. Every viewer mutant is judged suite-level in
// suites/viewer (TestViewerSuiteJudgesTheReferenceAndEveryMutant).
func TestViewerRun(t *testing.T) {
	if testing.Short() {
		t.Skip("two viewer runs in chromium")
	}
	if _, err := browser.Find(""); err != nil {
		t.Skip(err)
	}
	cases := []struct {
		name, defect, launch string
		want                 []string
	}{
		{name: "builtin"},
		{name: "process-verouderd-dossier", defect: "verouderd-dossier", want: []string{"VWR-08=fail"}},
		// opened with a signed context token: the process learns the
		// bench's issuer from BCBENCH_AUTH_ISSUER/BCBENCH_AUTH_JWKS
		{name: "process-token-hergebruik", defect: "token-hergebruik", launch: "context-token", want: []string{"VWR-02=fail"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			cfg := filepath.Join(dir, "config")
			// a short viewer limit: the mutant is judged after 5 s, not a minute
			args := []string{"run", "--profile", "zelftest-viewer", "--out", out, "--quiet", "--timeliness-limit", "viewer=5s"}
			if tc.defect != "" {
				manifest := filepath.Join(dir, "viewer.yaml")
				doc := fmt.Sprintf("name: viewer %s\nversion: dev\nroles:\n  viewer:\n    command:\n      path: /bin/sh\n      args: [-c, 'exec %s reference serve --role viewer --defect \"%s\" --addr 127.0.0.1:$PORT']\n    viewer:\n      clientId: bcbench-viewer\n      auditEvent: /fhir/AuditEvent\n", tc.name, bin, tc.defect)
				if tc.launch != "" {
					doc += "      launchMode: " + tc.launch + "\n"
				}
				if err := os.WriteFile(manifest, []byte(doc), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--candidate", manifest)
			}
			code, text := benchIn(t, cfg, args...)
			res := readResults(t, out)
			if got := failed(res); !slices.Equal(got, tc.want) {
				t.Fatalf("requirements not passed = %v, want %v (exit %d)\n%s", got, tc.want, code, text)
			}
			shots := map[string]bool{}
			for _, e := range res.Evidence {
				if strings.HasSuffix(e.Path, ".png") {
					data, err := os.ReadFile(filepath.Join(out, e.Path))
					if err != nil || !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
						t.Errorf("%s is no PNG (%v)", e.Path, err)
					}
					shots[e.Path] = true
				}
			}
			for _, want := range []string{"evidence/viewer-ongecompliceerd.png", "evidence/viewer-diabetes.png", "evidence/viewer-weigering.png", "evidence/viewer-tijdigheid.png"} {
				if !shots[want] {
					t.Errorf("no screenshot %s in the evidence (have %v)", want, shots)
				}
			}
			// beside each page's screenshot, everything the page loaded
			// (the browser's network log), covered by the signature too
			hars := map[string]bool{}
			for _, e := range res.Evidence {
				if strings.HasSuffix(e.Path, ".har") && strings.HasPrefix(e.Path, "evidence/viewer-") {
					hars[e.Path] = true
				}
			}
			for _, want := range []string{"evidence/viewer-ongecompliceerd.har", "evidence/viewer-weigering.har", "evidence/viewer-tijdigheid.har"} {
				if !hars[want] {
					t.Errorf("no network log %s in the evidence (have %v)", want, hars)
					continue
				}
				data, err := os.ReadFile(filepath.Join(out, want))
				var urls []string
				if err == nil {
					urls, err = harRequestURLs(data)
				}
				if err != nil {
					t.Errorf("%s is no network log with entries (%v): %.200s", want, err, data)
				}
				if bytes.Contains(bytes.ToLower(data), []byte("bearer ")) {
					t.Errorf("%s carries a bearer token", want)
				}
				// a spent launch, code or state is no evidence to hand round
				for _, raw := range urls {
					u, err := url.Parse(raw)
					if err != nil {
						continue
					}
					for _, k := range []string{"launch", "code", "state"} {
						if v := u.Query().Get(k); v != "" && v != "(weggelaten)" {
							t.Errorf("%s keeps the value of %s: %s", want, k, raw)
						}
					}
				}
			}
			for _, r := range res.Requirements {
				if !slices.ContainsFunc(r.Evidence, func(p string) bool { return shots[p] }) {
					t.Errorf("%s names no screenshot (evidence %v)", r.ID, r.Evidence)
				}
			}
			page, err := os.ReadFile(filepath.Join(out, "report.html"))
			if err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(page, []byte(`<img src="data:image/png;base64,`)); n != len(shots) {
				t.Errorf("report.html shows %d screenshots, want each of the %d once", n, len(shots))
			}
			pub := filepath.Join(cfg, "bcbench", "dev", "bcbench.pub")
			if code, text := benchIn(t, cfg, "report", "verify", "--key", pub, filepath.Join(out, "results.dsse.json")); code != 0 {
				t.Fatalf("verify = exit %d\n%s", code, text)
			}
			// a screenshot is covered by the signature
			shot := filepath.Join(out, "evidence", "viewer-weigering.png")
			data, _ := os.ReadFile(shot)
			data[len(data)/2] ^= 1
			if err := os.WriteFile(shot, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if code, text := benchIn(t, cfg, "report", "verify", "--key", pub, filepath.Join(out, "results.dsse.json")); code != 1 {
				t.Fatalf("verify after one changed byte in a screenshot = exit %d, want 1\n%s", code, text)
			}
		})
	}
}

// benchIn runs the binary with the config dir given (its development key)
// and returns its exit code and output.
func benchIn(t *testing.T, cfg string, args ...string) (int, string) {
	t.Helper()
	return benchEnvIn(t, cfg, nil, args...)
}
