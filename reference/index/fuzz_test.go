package index

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures/truth"
)

// FuzzProvide: whatever a publisher posts, the index answers 200 with a
// transaction-response or a 4xx with an OperationOutcome, never panics, and
// a refused transaction stores nothing.
func FuzzProvide(f *testing.F) {
	b := "999900011"
	p := truth.Pointer{UniqueID: "urn:uuid:1", BSN: b, URL: "http://x.example/fhir/Patient/1", Author: author, Date: when}
	good, _ := json.Marshal(truth.ProvideBundle("s", "1", p))
	f.Add(good)
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"DocumentReference"},"request":{"method":"PUT","url":"DocumentReference/x"}}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := New(Options{Now: func() time.Time { return when }})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/fhir", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/fhir+json")
		s.ServeHTTP(rec, req)
		var answer map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			t.Fatalf("answer %d is not JSON: %s", rec.Code, rec.Body)
		}
		switch {
		case rec.Code == http.StatusOK:
			if answer["type"] != "transaction-response" {
				t.Fatalf("200 without a transaction-response: %s", rec.Body)
			}
		case rec.Code >= 400 && rec.Code < 500:
			if answer["resourceType"] != "OperationOutcome" {
				t.Fatalf("%d without an OperationOutcome: %s", rec.Code, rec.Body)
			}
			if n := len(s.store.live(nil)); n != 0 || len(s.store.lists) != 0 {
				t.Fatalf("a refused transaction stored %d pointers and %d lists", n, len(s.store.lists))
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}
