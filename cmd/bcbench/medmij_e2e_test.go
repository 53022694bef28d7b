package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/profiles/certification"
)

// TestMedMijRun: `bcbench run --profile zelftest-medmij` judges a DVZA with
// the bench as every client's app: the built-in reference DVZA passes every
// MM requirement (MM-11 with the embedded STU3 packages); the reference and
// one mutant started as a process (told the bench's test identity provider
// in BCBENCH_IDP_URL) pass, and fail exactly the mutant's requirement.
// Every mutant is judged suite-level in suites/dvza
// (TestDVZASuiteJudgesEveryVariant).
func TestMedMijRun(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("three MedMij runs")
	}
	cases := []struct {
		name, defect string
		process      bool
		args         []string
		want         []string
	}{
		{name: "builtin"},
		{name: "process", process: true},
		{name: "process-bsn-in-antwoord", defect: "bsn-in-antwoord", process: true, want: []string{"MM-07=fail"}},
		// the availability limit scaled down (a self-test override) below
		// the mutant's cache time: MM-16 alone fails
		{name: "process-verouderde-cache", defect: "verouderde-cache", process: true, args: []string{"--timeliness-limit", "dvza=1s"}, want: []string{"MM-16=fail"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			args := append([]string{"run", "--profile", "zelftest-medmij", "--out", out, "--quiet"}, tc.args...)
			if tc.process {
				manifest := filepath.Join(dir, "dvza.yaml")
				doc := fmt.Sprintf("name: dvza %s\nversion: dev\nroles:\n  dvza:\n    command:\n      path: /bin/sh\n      args: [-c, 'exec %s reference serve --role dvza --defect \"%s\" --addr 127.0.0.1:$PORT']\n", tc.name, bin, tc.defect)
				if err := os.WriteFile(manifest, []byte(doc), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--candidate", manifest)
			}
			code, text := bench(t, args...)
			got := failed(readResults(t, out))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("requirements not passed = %v, want %v (exit %d)\n%s", got, tc.want, code, text)
			}
		})
	}
}

// TestMedMijRunWithFixedTokens: a DVZA that takes fixed tokens per client
// (the manifest's roles.dvza.tokens, as Nictiz qualification gives them)
// is read with those tokens instead of the OAuth flow: the flow's
// requirements (MM-01, MM-02, MM-04) are skipped with that reason, never
// passed (the verdict is incomplete, exit 1), every
// other MM requirement is judged and passes on the reference, the client
// without data is the token's BSN that is no scenario client's, and no
// token is written into the evidence. A scenario client without a token
// is the bench's setup error (exit 2) before anything starts.
func TestMedMijRunWithFixedTokens(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a MedMij run")
	}
	p, err := certification.Lookup("zelftest-medmij")
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, id := range p.Scenarios {
		s, ok := fixtures.Lookup(id)
		if !ok {
			t.Fatalf("no scenario %s", id)
		}
		tokens[s.Client.BSN] = "vast-token-" + s.Client.BSN
	}
	var empty string
	for n := 7000; empty == ""; n++ {
		empty, _ = fixtures.TestBSN(n)
	}
	tokens[empty] = "vast-token-leeg-" + empty
	manifest := func(dir string, listed map[string]string) string {
		// the reference DVZA gets the tokens in its environment: a
		// command's arguments are part of its identity in the report
		var pairs []string
		var yaml strings.Builder
		for _, bsn := range slices.Sorted(maps.Keys(tokens)) {
			pairs = append(pairs, bsn+"="+tokens[bsn])
		}
		for _, bsn := range slices.Sorted(maps.Keys(listed)) {
			fmt.Fprintf(&yaml, "      \"%s\": %s\n", bsn, listed[bsn])
		}
		doc := fmt.Sprintf("name: dvza vaste tokens\nversion: dev\nroles:\n  dvza:\n    command:\n      path: /bin/sh\n      args: [-c, 'exec %s reference serve --role dvza --addr 127.0.0.1:$PORT']\n      env: {BCBENCH_DVZA_TOKENS: \"%s\"}\n    tokens:\n%s", bin, strings.Join(pairs, ","), yaml.String())
		path := filepath.Join(dir, "dvza.yaml")
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Run("every-client", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		out := filepath.Join(dir, "out")
		code, text := bench(t, "run", "--profile", "zelftest-medmij", "--candidate", manifest(dir, tokens), "--out", out, "--quiet")
		res := readResults(t, out)
		want := []string{"MM-01=skip", "MM-02=skip", "MM-04=skip"}
		if got := failed(res); !slices.Equal(got, want) || code != 1 {
			t.Fatalf("requirements not passed = %v, want %v (exit %d, want 1: the verdict is incomplete)\n%s", got, want, code, text)
		}
		for _, r := range res.Requirements {
			if r.ID == "MM-01" && !strings.Contains(r.Reason, "vaste tokens") {
				t.Errorf("MM-01's reason %q does not say the DVZA takes fixed tokens", r.Reason)
			}
		}
		err := filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, tok := range tokens {
				if bytes.Contains(data, []byte(tok)) {
					t.Errorf("%s holds the fixed token %s", path, tok)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a-client-without-token", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		listed := maps.Clone(tokens)
		var dropped string
		for bsn := range listed {
			if bsn != empty {
				dropped = bsn
				break
			}
		}
		delete(listed, dropped)
		code, text := bench(t, "run", "--profile", "zelftest-medmij", "--candidate", manifest(dir, listed), "--out", filepath.Join(dir, "out"), "--quiet")
		if code != 2 || !strings.Contains(text, dropped) {
			t.Fatalf("exit %d, want 2 naming %s\n%s", code, dropped, text)
		}
	})
}
