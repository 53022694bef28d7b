package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bcbench/bcbench/reference/index"
)

// TestIndexMutants: in a chain run (profile zelftest-keten: the bench's two
// reference XIS publishing, the bench as consumer) the candidate index is
// the reference index or one of its mutants, started as a process: the
// reference passes every requirement, each mutant fails exactly the
// requirements it declares.
func TestIndexMutants(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("one chain run per index mutant")
	}
	const indexLimit, consumerLimit = 5 * time.Second, 12 * time.Second
	if index.RegisteredLateBy <= indexLimit || index.RegisteredLateBy >= consumerLimit || index.PointedLateBy <= consumerLimit ||
		index.RegisteredLateBy >= 3*indexLimit || index.PointedLateBy >= 3*consumerLimit {
		t.Fatalf("the late mutants' delays (%v, %v) do not fit the limits (index %v, consumer %v)", index.RegisteredLateBy, index.PointedLateBy, indexLimit, consumerLimit)
	}
	type variant struct {
		defect   string
		violates []string
	}
	variants := []variant{{}}
	for _, m := range index.Mutants {
		variants = append(variants, variant{m.Name, m.Violates})
	}
	for _, v := range variants {
		name := v.defect
		if name == "" {
			name = "reference"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			manifest := filepath.Join(dir, "index.yaml")
			doc := fmt.Sprintf("name: index %s\nversion: dev\nroles:\n  index:\n    command:\n      path: /bin/sh\n      args: [-c, 'exec %s reference serve --role index --defect \"%s\" --addr 127.0.0.1:$PORT']\n    auth: {bench: true}\n", name, bin, v.defect)
			if err := os.WriteFile(manifest, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			// Short limits of the hops an index mutant breaks: the clock
			// follows a missing item to three times its limit (the profile's
			// consumer limit of 5 minutes would keep a run 15 minutes). The
			// late mutants' delays fit them (index.RegisteredLateBy is past
			// the index limit and within the consumer limit,
			// index.PointedLateBy past the consumer limit).
			code, text := bench(t, "run", "--profile", "zelftest-keten", "--candidate", manifest, "--out", out, "--quiet",
				"--timeliness-limit", "index="+indexLimit.String(), "--timeliness-limit", "consumer="+consumerLimit.String())
			var want []string
			for _, id := range v.violates {
				want = append(want, id+"=fail")
			}
			slices.Sort(want)
			if got := failed(readResults(t, out)); !slices.Equal(got, want) {
				t.Fatalf("requirements not passed = %v, want %v (exit %d)\n%s", got, want, code, text)
			}
		})
	}
}

// TestLateXISInTheChain: the bar for a late publisher in a chain
// run. The midwife's XIS is the reference mutant spoedverwijzing-laat (the
// acute referral published xis.LateBy after its registration), started as a
// process beside the bench's reference hospital XIS and index: it fails
// TIJ-01 and nothing else — the index's hop counts from the publication,
// the consumer's limit is not reached, the content arrives before the specs
// read it.
func TestLateXISInTheChain(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a chain run")
	}
	out := filepath.Join(t.TempDir(), "out")
	code, text := bench(t, "run", "--profile", "zelftest-keten", "--candidate", commandManifest(t, "spoedverwijzing-laat"), "--out", out, "--quiet",
		"--timeliness-limit", mutantPublicationLimit)
	if got := failed(readResults(t, out)); !slices.Equal(got, []string{"TIJ-01=fail"}) {
		t.Fatalf("requirements not passed = %v, want [TIJ-01=fail] (exit %d)\n%s", got, code, text)
	}
}
