package clock_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/reference/xis"
	"github.com/bcbench/bcbench/suites/clock"
	"github.com/bcbench/bcbench/suites/spec"
)

// index answers every ITI-67 search with one current DocumentReference
// pointing at pointer(bsn) ("" answers an empty searchset: nothing
// registered).
func index(t *testing.T, pointer func(bsn string) string) *harness.FHIR {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bundle := map[string]any{"resourceType": "Bundle", "type": "searchset"}
		_, bsn, _ := strings.Cut(r.URL.Query().Get("patient.identifier"), "|")
		if p := pointer(bsn); p != "" && r.URL.Query().Get("status") == "current" {
			bundle["entry"] = []any{map[string]any{"resource": map[string]any{
				"resourceType": "DocumentReference", "id": "d1", "status": "current",
				"content": []any{map[string]any{"attachment": map[string]any{"url": p}}},
			}}}
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		_ = json.NewEncoder(w).Encode(bundle)
	}))
	t.Cleanup(srv.Close)
	return &harness.FHIR{Base: srv.URL + "/fhir", Client: &http.Client{Timeout: 5 * time.Second}}
}

// TestClock replays one scenario through the reference XIS (or a mutant)
// and an index, and checks what the clock measured per hop.
func TestClock(t *testing.T) {
	type want struct{ late, missing, problems, seen int }
	cases := []struct {
		name    string
		defect  string
		limits  clock.Limits
		pointer string // "xis": the client's Patient at the XIS; "": nothing registered
		noIndex bool
		down    bool // the publisher's FHIR API does not answer
		want    map[clock.Hop]want
	}{
		{name: "on time at every hop", pointer: "xis",
			limits: clock.Limits{Publication: time.Minute, Index: time.Minute, Consumer: time.Minute},
			want:   map[clock.Hop]want{clock.Publication: {seen: 8}, clock.Index: {seen: 8}, clock.Consumer: {seen: 8}}},
		{name: "one late event, measured with its figure", defect: "spoedverwijzing-laat", noIndex: true,
			limits: clock.Limits{Publication: 2 * time.Second},
			want:   map[clock.Hop]want{clock.Publication: {late: 1, seen: 8}}},
		{name: "index never registers", pointer: "",
			limits: clock.Limits{Publication: time.Minute, Index: 100 * time.Millisecond, Consumer: 100 * time.Millisecond},
			want:   map[clock.Hop]want{clock.Publication: {seen: 8}, clock.Index: {missing: 8}, clock.Consumer: {missing: 8}}},
		{name: "index points to another host", pointer: "http://127.0.0.1:9/fhir/Patient/x",
			limits: clock.Limits{Publication: time.Minute, Index: time.Minute, Consumer: 100 * time.Millisecond},
			want:   map[clock.Hop]want{clock.Publication: {seen: 8}, clock.Index: {seen: 8}, clock.Consumer: {missing: 8}}},
		{name: "publisher does not answer searches", down: true, noIndex: true,
			limits: clock.Limits{Publication: 100 * time.Millisecond},
			want:   map[clock.Hop]want{clock.Publication: {problems: 8}}},
	}
	s, ok := fixtures.Lookup("spoedsectio")
	if !ok {
		t.Fatal("no scenario spoedsectio")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ref, err := xis.New(xis.Options{Defect: tc.defect})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(ref)
			defer srv.Close()
			client := &http.Client{Timeout: 5 * time.Second}
			api := &harness.FHIR{Base: srv.URL + "/fhir", Client: client}
			if tc.down {
				api = &harness.FHIR{Base: "http://127.0.0.1:9/fhir", Client: client}
			}
			c := &clock.Clock{Limits: tc.limits, Reference: time.Date(2026, 1, 5, 0, 0, 0, 0, fixtures.Amsterdam),
				Publisher: func(fixtures.Registration) *harness.FHIR { return api }}
			if !tc.noIndex {
				c.Index = index(t, func(bsn string) string {
					if tc.pointer == "xis" {
						return api.Base + "/Patient/" + truth.PatientID(bsn)
					}
					return tc.pointer
				})
			}
			env := &spec.Env{Scenarios: []*fixtures.Scenario{s}, Reference: c.Reference, XIS: api,
				Adapter: &harness.Adapter{Base: srv.URL + "/bench", Client: client}, Clock: c}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := env.Replay(ctx, nil); err != nil {
				t.Fatal(err)
			}
			got := map[clock.Hop]want{}
			for _, it := range c.Items() {
				w := got[it.Hop]
				switch {
				case it.Late(tc.limits.Of(it.Hop)):
					w.late++
				case it.Missing() && it.Polls > 0:
					w.missing++
				case it.Problem != "" && it.Seen.IsZero():
					w.problems++
				}
				if !it.Seen.IsZero() {
					w.seen++
					if d, _ := it.Latency(); it.Late(tc.limits.Of(it.Hop)) && (d < xis.LateBy-time.Second || d > clock.Horizon(tc.limits.Of(it.Hop))) {
						t.Errorf("%s %s: late by %s, want its real figure near %s", it.Hop, it.Event, d, xis.LateBy)
					}
				}
				got[it.Hop] = w
			}
			for _, h := range clock.Hops {
				if got[h] != tc.want[h] {
					t.Errorf("%s: got %+v, want %+v", h, got[h], tc.want[h])
				}
			}
		})
	}
}
