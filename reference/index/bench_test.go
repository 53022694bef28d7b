package index

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
)

// BenchmarkFindOneClient: an ITI-67 search for one client's pointers, among
// few or many clients (three pointers each, two superseded). Read the two as
// a ratio: the per-client list keeps a search independent of the population.
func BenchmarkFindOneClient(b *testing.B) {
	for _, clients := range []int{10, 3000} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			s, err := New(Options{})
			if err != nil {
				b.Fatal(err)
			}
			var last string
			for n := 0; len(s.store.docs) < 3*clients && n < 10000; n++ {
				bsn, ok := fixtures.TestBSN(n)
				if !ok {
					continue
				}
				last = bsn
				s.store.mu.Lock()
				for v := 1; v <= 3; v++ {
					p := truth.Pointer{UniqueID: truth.PointerUniqueID("bench", bsn, v), BSN: bsn, URL: "http://x.example/fhir/Patient/" + bsn, Author: author, Date: when}
					if _, err := s.store.add(p.DocumentReference(), truth.BSNSystem+"|"+bsn, "2026-03-02T09:00:00Z", time.Time{}); err != nil {
						b.Fatal(err)
					}
				}
				s.store.mu.Unlock()
			}
			q := url.Values{"patient.identifier": {truth.BSNSystem + "|" + last}, "status": {"current"}}
			req := httptest.NewRequest(http.MethodGet, "/fhir/DocumentReference?"+q.Encode(), nil)
			b.ResetTimer()
			for b.Loop() {
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("search = %d", rec.Code)
				}
			}
		})
	}
}
