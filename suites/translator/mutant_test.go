package translator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	rt "github.com/bcbench/bcbench/reference/translator"
)

// judge runs every VRT check against one translator and returns the
// requirements it fails, with the findings and the undecided checks of the
// profile validation (VRT-06).
func judge(t *testing.T, h http.Handler, regs []fixtures.Registration) (map[string][]string, Findings, []string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	var hits atomic.Int64
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer trap.Close()
	tr := &harness.Adapter{Base: srv.URL + "/bench", Client: &http.Client{Timeout: 30 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ts, err := TranslateAll(ctx, tr, regs)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Content(ts)
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := Unknown(ctx, tr, regs)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Back(ctx, tr, regs)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := BadInput(ctx, tr, trap.URL+"/geheim", func() int { return int(hits.Load()) })
	if err != nil {
		t.Fatal(err)
	}
	nonconform, undecided, err := Conformance(ctx, stu3(t), ts)
	if err != nil {
		t.Fatal(err)
	}
	fails := map[string][]string{}
	for id, p := range map[string][]string{"VRT-01": append(f.Carried, unknown...), "VRT-02": f.Invented, "VRT-03": f.BSN, "VRT-04": back, "VRT-05": bad, "VRT-06": nonconform} {
		if len(p) > 0 {
			fails[id] = p
		}
	}
	return fails, f, undecided
}

func goldenRegistrations(t *testing.T) []fixtures.Registration {
	t.Helper()
	var regs []fixtures.Registration
	for _, s := range fixtures.Golden() {
		rs, err := s.Registrations(fixtures.DefaultReference)
		if err != nil {
			t.Fatal(err)
		}
		regs = append(regs, rs...)
	}
	return regs
}

// TestReferencePassesEveryVRT: the reference translator fails nothing, on
// the golden scenarios and a small generated population (the population of
// 200 is a run, docs/translator.md).
func TestReferencePassesEveryVRT(t *testing.T) {
	ref, err := rt.New(rt.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	regs := goldenRegistrations(t)
	for _, s := range fixtures.Generate(1, 5) {
		rs, err := s.Registrations(fixtures.DefaultReference)
		if err != nil {
			t.Fatal(err)
		}
		regs = append(regs, rs...)
	}
	fails, f, undecided := judge(t, ref, regs)
	for id, p := range fails {
		t.Errorf("the reference translator fails %s:\n%s", id, strings.Join(p, "\n"))
	}
	t.Logf("coverage: %d of %d registered facts carried", f.Covered, f.Facts)
	t.Logf("profile validation: %d undecided checks (never a pass: the run's profile decides), e.g. %s", len(undecided), strings.Join(undecided[:min(2, len(undecided))], "; "))
}

// TestMutantsFailExactlyTheirRequirements: every seeded defect is found,
// by exactly the requirements it declares (the mutation score).
func TestMutantsFailExactlyTheirRequirements(t *testing.T) {
	regs := goldenRegistrations(t)
	killed := 0
	for _, m := range rt.Mutants {
		t.Run(m.Name, func(t *testing.T) {
			h, err := rt.New(rt.ServerOptions{Defect: m.Name})
			if err != nil {
				t.Fatal(err)
			}
			fails, _, _ := judge(t, h, regs)
			var got []string
			for id := range fails {
				got = append(got, id)
			}
			sort.Strings(got)
			if !slices.Equal(got, m.Violates) {
				for _, id := range got {
					t.Logf("%s: %s", id, strings.Join(fails[id][:min(3, len(fails[id]))], "\n  "))
				}
				t.Fatalf("fails %v, declares %v", got, m.Violates)
			}
			killed++
		})
	}
	t.Logf("mutation score: %d of %d translator mutants fail exactly their declared requirements", killed, len(rt.Mutants))
}
