package suites

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/reference/xis"
	"github.com/bcbench/bcbench/suites/clock"
	"github.com/bcbench/bcbench/suites/spec"
	"github.com/bcbench/bcbench/token"
)

// TestReferencePassesEverySpec runs every spec against the reference XIS:
// the reference of a role must pass every requirement (profile validation
// may skip, with its reason, when no FHIR packages are at hand). It then
// checks the list of specs against the checked-in conformance.txt (run with
// UPDATE_CONFORMANCE=1 to rewrite it after adding a spec).
func TestReferencePassesEverySpec(t *testing.T) {
	// The bench reads as named professionals with tokens of its own
	// authorization server, which the reference trusts, through a
	// recording proxy: the access-log specs compare what it recorded.
	iss, err := token.NewIssuer("http://autorisatie.bench.test")
	if err != nil {
		t.Fatal(err)
	}
	trust, err := token.NewVerifier(iss.URL(), iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	ref, err := xis.New(xis.Options{Trust: trust})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ref)
	defer srv.Close()
	proxy, err := harness.NewProxy(srv.URL, harness.ProxyOptions{Role: "xis"})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	client := &http.Client{Timeout: 10 * time.Second}
	scenarios := fixtures.Golden()
	readers, access, err := spec.ReadAs(iss, []spec.Reached{{Role: "xis", Base: proxy.URL() + "/fhir", Client: client, Exchanges: proxy.EntriesFrom}}, scenarios, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	env := &spec.Env{
		Scenarios:        scenarios,
		Reference:        time.Date(2026, 3, 2, 0, 0, 0, 0, fixtures.Amsterdam),
		XIS:              readers["xis"],
		Adapter:          &harness.Adapter{Base: srv.URL + "/bench", Client: client},
		ValidatorProblem: "de suites-test laadt geen FHIR-pakketten",
		Access:           access,
	}
	env.Clock = &clock.Clock{
		Limits:    clock.Limits{Publication: time.Minute, Index: time.Minute, Consumer: 5 * time.Minute},
		Reference: env.Reference,
		Publisher: func(fixtures.Registration) *harness.FHIR { return env.XIS },
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := env.Replay(ctx, nil); err != nil {
		t.Fatalf("replaying the golden scenarios: %v", err)
	}
	outcomes, err := Run(env, Options{Verbose: testing.Verbose()})
	if err != nil {
		t.Fatal(err)
	}
	if len(outcomes) == 0 {
		t.Fatal("no spec ran")
	}
	passed := 0
	for _, o := range outcomes {
		switch {
		case o.Status == "pass":
			passed++
		case o.Status == "skip" && slices.Contains(o.Requirements, "PRF-01"):
		case o.Status == "skip" && strings.Contains(o.Failure, "niets"):
		case o.Status == "skip" && strings.Contains(o.Failure, "geen index"): // TIJ-02, TIJ-03 need the chain
		case o.Status == "skip" && strings.Contains(o.Failure, "geen viewer"): // VWR-*: suites/viewer runs them in chromium
		default:
			t.Errorf("%s: %s against the reference XIS: %s", o.Name, o.Status, o.Failure)
		}
	}
	t.Logf("%d specs ran against the reference XIS, %d passed", len(outcomes), passed)
	// Every spec's location is the line in its area's file that declares
	// it, not the line of the wrapper in suites/spec.
	for _, o := range outcomes {
		if strings.Contains(o.Location, "suites/spec/") || !strings.Contains(o.Location, "suites/") || !strings.Contains(o.Location, ".go:") {
			t.Errorf("%s: location %q is not the spec's own line", o.Name, o.Location)
		}
	}

	got := strings.Join(Declared(), "\n") + "\n"
	if os.Getenv("UPDATE_CONFORMANCE") != "" {
		if err := os.WriteFile("conformance.txt", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("conformance.txt")
	if err != nil {
		t.Fatalf("reading the checked-in conformance list: %v (run with UPDATE_CONFORMANCE=1)", err)
	}
	if string(want) != got {
		t.Errorf("the specs differ from conformance.txt; review the change and run with UPDATE_CONFORMANCE=1\nwant:\n%s\ngot:\n%s", want, got)
	}
}
