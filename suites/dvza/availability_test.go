package dvza

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/suites/spec"
)

// TestServedJudgesEachPollByWhoseFaultItIs: a poll of MM-16 that sees the
// new fact is served; a refusal of her valid token (401), an error status
// or a fact not yet there is not served (the DVZA's); no connection, or a
// 401 for a token the DVZA said had expired, is no answer the bench can
// judge (undecided, never late).
func TestServedJudgesEachPollByWhoseFaultItIs(t *testing.T) {
	weight := map[string]any{"resourceType": "Observation", "id": "o1", "effectiveDateTime": "2026-03-02T09:00:00+01:00",
		"code":          map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "29463-7"}}},
		"valueQuantity": map[string]any{"value": 70.0, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}
	bundle := `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Observation","id":"o1","effectiveDateTime":"2026-03-02T09:00:00+01:00","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"valueQuantity":{"value":70.0,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}}]}`
	answer := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/fhir+json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return srv.URL + "/fhir"
	}
	// expiring refuses the old token "t" with 401 and answers body to the
	// renewed token "nieuw"
	expiring := func(body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/fhir+json")
			if r.Header.Get("Authorization") != "Bearer nieuw" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			_, _ = w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return srv.URL + "/fhir"
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	hour, gone := 3600, 60
	fresh := &session{Token: "t", At: time.Now(), Answer: tokenAnswer{ExpiresIn: &hour}}
	expired := &session{Token: "t", At: time.Now().Add(-time.Hour), Answer: tokenAnswer{ExpiresIn: &gone}}
	cases := []struct {
		name     string
		fhir     string
		session  *session
		served   bool
		unknown  string // part of the reason a poll is not judged; "" when it is
		refusing bool
	}{
		{"the fact is served", answer(200, bundle), fresh, true, "", false},
		{"not there yet", answer(200, `{"resourceType":"Bundle","type":"searchset"}`), fresh, false, "", false},
		{"an error status", answer(500, `{"resourceType":"OperationOutcome"}`), fresh, false, "", false},
		{"her valid token refused", answer(401, `{"resourceType":"OperationOutcome"}`), fresh, false, "", true},
		{"a fixed token refused", answer(401, `{"resourceType":"OperationOutcome"}`), &session{Token: "vast"}, false, "", true},
		{"her expired token refused", answer(401, `{"resourceType":"OperationOutcome"}`), expired, false, "verlopen", false},
		{"no connection", closed.URL + "/fhir", fresh, false, "niet bereiken", false},
		{"her expired token renewed, the fact served", expiring(bundle), expired, true, "", false},
		{"her expired token renewed, the fact not there", expiring(`{"resourceType":"Bundle","type":"searchset"}`), expired, false, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pr := &probe{got: &collected{Session: tc.session, Episodes: []string{"e1"}}, want: []map[string]any{weight},
				login: func(context.Context, *pgo) (*session, error) {
					if !strings.Contains(tc.name, "renewed") {
						return nil, errors.New("no login here")
					}
					return &session{Token: "nieuw", At: time.Now(), Answer: tokenAnswer{ExpiresIn: &hour}}, nil
				}}
			p := &pgo{d: &spec.DVZA{FHIR: tc.fhir, HTTP: &http.Client{Timeout: 5 * time.Second}}}
			served, unknown := pr.served(context.Background(), p)
			if served != tc.served || (unknown == "") != (tc.unknown == "") || !strings.Contains(unknown, tc.unknown) || (pr.refused != "") != tc.refusing {
				t.Fatalf("served %v, unknown %q, refused %q; want %v, %q, refusing %v", served, unknown, pr.refused, tc.served, tc.unknown, tc.refusing)
			}
		})
	}
}

// TestFollowFindsLateWhateverEarlyPollsGot: a poll the bench could judge,
// at or after the limit, that does not see the fact makes MM-16 late even
// when an earlier poll got no answer the bench can judge (a DVZA that drops
// the first poll after a registration cannot dodge the limit); only when
// no poll from the limit on could be judged is it undecided.
func TestFollowFindsLateWhateverEarlyPollsGot(t *testing.T) {
	const limit = 120 * time.Millisecond
	drop := func(n int) func(int) (bool, string) { // first n polls unjudged, then never served
		return func(i int) (bool, string) {
			if i < n {
				return false, "de bench kon de DVZA niet bereiken"
			}
			return false, ""
		}
	}
	cases := []struct {
		name            string
		poll            func(i int) (bool, string)
		late, undecided bool
	}{
		{"served at once", func(int) (bool, string) { return true, "" }, false, false},
		{"never served, every poll judged", drop(0), true, false},
		{"first poll dropped, never served", drop(1), true, false},
		{"no poll ever judged", func(int) (bool, string) { return false, "de bench kon de DVZA niet bereiken" }, false, true},
		{"first poll dropped, served by the limit", func(i int) (bool, string) {
			if i == 0 {
				return false, "de bench kon de DVZA niet bereiken"
			}
			return i >= 1, ""
		}, false, false},
		{"first poll dropped, served after the limit", func(i int) (bool, string) {
			switch {
			case i == 0:
				return false, "de bench kon de DVZA niet bereiken"
			case i >= 4: // poll 3 is the limit's or later
				return true, ""
			}
			return false, ""
		}, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pr := &probe{c: &client{}, started: true}
			i := 0
			pr.follow(context.Background(), time.Now(), limit, func() (bool, string) {
				ok, why := tc.poll(i)
				i++
				return ok, why
			})
			late, undecided, _ := pr.verdict(limit)
			if (late != "") != tc.late || (undecided != "") != tc.undecided {
				t.Fatalf("late %q, undecided %q; want late %v, undecided %v", late, undecided, tc.late, tc.undecided)
			}
		})
	}
}

// TestSampleBoundsTheMeasuredClients: MM-16 measures at most maxProbes
// clients, the first ones, and says so when it leaves some out.
func TestSampleBoundsTheMeasuredClients(t *testing.T) {
	cases := []struct {
		name  string
		n     int
		want  int
		noted bool
	}{
		{"none", 0, 0, false},
		{"a few", 3, 3, false},
		{"exactly the cap", maxProbes, maxProbes, false},
		{"a large population", 50, maxProbes, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var in []*probe
			for range tc.n {
				in = append(in, &probe{})
			}
			got, note := sample(in)
			if len(got) != tc.want || (note != "") != tc.noted || (tc.n > 0 && got[0] != in[0]) {
				t.Fatalf("sampled %d, note %q; want %d, noted %v", len(got), note, tc.want, tc.noted)
			}
		})
	}
}
