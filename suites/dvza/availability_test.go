package dvza

import (
	"context"
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
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pr := &probe{got: &collected{Session: tc.session, Episodes: []string{"e1"}}, want: []map[string]any{weight}}
			p := &pgo{d: &spec.DVZA{FHIR: tc.fhir, HTTP: &http.Client{Timeout: 5 * time.Second}}}
			served, unknown := pr.served(context.Background(), p)
			if served != tc.served || (unknown == "") != (tc.unknown == "") || !strings.Contains(unknown, tc.unknown) || (pr.refused != "") != tc.refusing {
				t.Fatalf("served %v, unknown %q, refused %q; want %v, %q, refusing %v", served, unknown, pr.refused, tc.served, tc.unknown, tc.refusing)
			}
		})
	}
}
