package index_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/bcbench/bcbench/suites/child"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/reference/index"
	"github.com/bcbench/bcbench/reference/xis"
	"github.com/bcbench/bcbench/suites"
	"github.com/bcbench/bcbench/suites/spec"
	"github.com/bcbench/bcbench/token"
)

// Ginkgo runs its specs once per process: every variant of the index runs
// in a child process of this test binary, named by childEnv.
const (
	childEnv = "BCBENCH_INDEX_SUITE_CHILD"
)

var requirements = []string{"IDX-01", "IDX-02", "IDX-03", "IDX-04", "IDX-05", "IDX-06", "IDX-07", "IDX-08", "IDX-09"}

func TestMain(m *testing.M) { child.Main(m, childEnv, runChain) }

// indexFor is the index of a variant: the reference, one of its mutants,
// or a hostile server; the references trust the bench's tokens.
func indexFor(variant string, trust *token.Verifier) (http.Handler, error) {
	if defect, ok := strings.CutPrefix(variant, "mutant:"); ok {
		return index.New(index.Options{Defect: defect, Trust: trust})
	}
	ref, err := index.New(index.Options{Trust: trust})
	if err != nil {
		return nil, err
	}
	switch variant {
	case "hostile:slikt-alles":
		return swallower{}, nil
	case "hostile:zoekt-elders":
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/fhir/DocumentReference") {
				http.Redirect(w, r, "http://elders.invalid"+r.URL.RequestURI(), http.StatusFound)
				return
			}
			ref.ServeHTTP(w, r)
		}), nil
	}
	return nil, fmt.Errorf("unknown variant %q", variant)
}

// swallower accepts every registration and never serves one.
type swallower struct{}

func (swallower) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/fhir+json")
	switch {
	case r.Method == http.MethodPost:
		var bundle struct{ Entry []any }
		_ = json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&bundle)
		var entries []any
		for i := range bundle.Entry {
			entries = append(entries, map[string]any{"response": map[string]any{"status": "201 Created", "location": fmt.Sprintf("DocumentReference/weg-%d/_history/1", i)}})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"resourceType": "Bundle", "type": "transaction-response", "entry": entries})
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/fhir/DocumentReference":
		_ = json.NewEncoder(w).Encode(map[string]any{"resourceType": "Bundle", "type": "searchset", "total": 0})
	default:
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"resourceType": "OperationOutcome", "issue": []any{map[string]any{"severity": "error", "code": "not-found"}}})
	}
}

// runChain replays the chain scenarios through two reference XIS that
// register in the variant's index and runs the IDX specs, reading the index
// as named professionals with tokens of a test issuer it trusts.
func runChain(variant string) (map[string]string, error) {
	iss, err := token.NewIssuer("http://autorisatie.bench.test")
	if err != nil {
		return nil, err
	}
	trust, err := token.NewVerifier(iss.URL(), iss.JWKS())
	if err != nil {
		return nil, err
	}
	h, err := indexFor(variant, trust)
	if err != nil {
		return nil, err
	}
	idx := httptest.NewServer(h)
	defer idx.Close()
	quiet := func(string, ...any) {}
	var publishers []spec.Publisher
	for _, role := range []string{"xis", "xis-ziekenhuis"} {
		ref, err := xis.New(xis.Options{Index: idx.URL + "/fhir", Logf: quiet})
		if err != nil {
			return nil, err
		}
		srv := httptest.NewServer(ref)
		defer srv.Close()
		client := &http.Client{Timeout: 10 * time.Second}
		publishers = append(publishers, spec.Publisher{Role: role,
			XIS:     &harness.FHIR{Base: srv.URL + "/fhir", Client: client},
			Adapter: &harness.Adapter{Base: srv.URL + "/bench", Client: client}})
	}
	var scenarios []*fixtures.Scenario
	for _, id := range []string{"ongecompliceerd", "spoedsectio", "overdracht-jgz", "toestemming-ingetrokken", "vernietiging"} {
		s, ok := fixtures.Lookup(id)
		if !ok {
			return nil, fmt.Errorf("no golden scenario %s", id)
		}
		scenarios = append(scenarios, s)
	}
	host := strings.TrimPrefix(idx.URL, "http://")
	client := &http.Client{
		Timeout: 10 * time.Second,
		// the run's policy: no redirect to another host is followed
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host == host {
				return nil
			}
			return &harness.RedirectError{Role: "index", From: via[len(via)-1].URL.String(), To: req.URL.String()}
		},
	}
	readers, access, err := spec.ReadAs(iss, []spec.Reached{{Role: "index", Base: idx.URL + "/fhir", Client: client,
		Exchanges: func(int) []harness.Entry { return nil }}}, scenarios, time.Now())
	if err != nil {
		return nil, err
	}
	env := &spec.Env{
		Scenarios:  scenarios,
		Reference:  time.Date(2026, 3, 2, 0, 0, 0, 0, fixtures.Amsterdam),
		XIS:        publishers[0].XIS,
		Adapter:    publishers[0].Adapter,
		Publishers: publishers,
		Index:      readers["index"],
		Access:     access,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := env.Replay(ctx, nil); err != nil {
		return nil, fmt.Errorf("replaying: %w", err)
	}
	// A run's clock settles before the specs read (a late index is TIJ's
	// finding): without one here, wait out a timeliness mutant's delay.
	if m, ok := index.LookupMutant(strings.TrimPrefix(variant, "mutant:")); ok {
		time.Sleep(m.Delay())
	}
	outcomes, err := suites.Run(env, suites.Options{Requirements: requirements})
	if err != nil {
		return nil, err
	}
	statuses := map[string]string{}
	for _, o := range outcomes {
		for _, id := range o.Requirements {
			if statuses[id] == "" || statuses[id] == "pass" {
				statuses[id] = o.Status
			}
			if o.Status != "pass" {
				statuses[id+" reason"] = o.Failure
			}
		}
	}
	return statuses, nil
}

// runChild runs one variant in a child process.
func runChild(t *testing.T, variant string) map[string]string {
	t.Helper()
	statuses, err := child.Run(childEnv, variant, nil)
	if err != nil {
		t.Fatal(err)
	}
	return statuses
}

// TestIndexSuiteJudgesEveryVariant: the reference chain (two reference XIS
// registering in the reference index) passes every IDX requirement; each
// index mutant fails exactly the requirements it declares and passes the
// others; an index that accepts and never serves, or that sends the bench
// to another host, fails (never passes, never a bench error).
func TestIndexSuiteJudgesEveryVariant(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the index suite once per variant in a child process")
	}
	all := func(status string, except map[string]string) map[string]string {
		out := map[string]string{}
		for _, id := range requirements {
			out[id] = status
		}
		maps.Copy(out, except)
		return out
	}
	cases := []struct {
		variant string
		want    map[string]string
	}{
		{"reference", all("pass", nil)},
		{"hostile:slikt-alles", all("skip", map[string]string{"IDX-01": "fail", "IDX-02": "fail", "IDX-08": "fail"})},
		{"hostile:zoekt-elders", all("fail", nil)},
	}
	for _, m := range index.Mutants {
		// A timeliness mutant (TIJ-*) is late, never wrong: every IDX spec
		// passes it; cmd/bcbench TestIndexMutants proves its TIJ failure.
		except := map[string]string{}
		for _, id := range m.Violates {
			if slices.Contains(requirements, id) { // the chain's other requirements (OVD-*) are judged by TestIndexMutants
				except[id] = "fail"
			}
		}
		cases = append(cases, struct {
			variant string
			want    map[string]string
		}{"mutant:" + m.Name, all("pass", except)})
	}
	var caught atomic.Int32
	t.Run("each", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.variant, func(t *testing.T) {
				t.Parallel()
				variant := tc.variant
				if variant == "reference" {
					variant = "mutant:"
				}
				got := runChild(t, variant)
				for _, id := range slices.Sorted(maps.Keys(tc.want)) {
					if got[id] != tc.want[id] {
						t.Errorf("%s: %s, want %s (%s)", id, got[id], tc.want[id], got[id+" reason"])
					}
				}
				if !t.Failed() && strings.HasPrefix(tc.variant, "mutant:") {
					caught.Add(1)
				}
			})
		}
	})
	t.Logf("index mutation score: %d/%d mutants fail exactly their declared IDX requirements (and pass the others)", caught.Load(), len(index.Mutants))
}
