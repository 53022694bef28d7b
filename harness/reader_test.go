package harness

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestReadersTellRecordedExchangesApartWithoutTheirTokens: each reader's
// requests carry her token and an X-Request-ID; the recording keeps the id,
// not the token, and Readers says who sent each exchange.
func TestReadersTellRecordedExchangesApartWithoutTheirTokens(t *testing.T) {
	var seen []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusOK)
	}))
	defer upstream.Close()
	p, err := NewProxy(upstream.URL, ProxyOptions{Role: "xis"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	readers := NewReaders()
	base := &http.Client{Timeout: 5 * time.Second}
	anouk := readers.Client(base, "999900011", "token-anouk")
	lotte := readers.Client(base, "999900077", "token-lotte")
	for _, c := range []*http.Client{anouk, lotte, base} {
		resp, err := c.Get(p.URL() + "/fhir/Patient")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if want := []string{"Bearer token-anouk", "Bearer token-lotte", ""}; len(seen) != 3 || seen[0] != want[0] || seen[1] != want[1] || seen[2] != want[2] {
		t.Fatalf("the candidate saw Authorization %q, want %q", seen, want)
	}
	entries := p.Entries()
	if from := p.EntriesFrom(1); len(from) != 2 || from[0].Request.URL != entries[1].Request.URL || len(p.EntriesFrom(3)) != 0 || len(p.EntriesFrom(-1)) != 3 {
		t.Fatalf("EntriesFrom does not continue where a reader left off: %d, %d, %d", len(from), len(p.EntriesFrom(3)), len(p.EntriesFrom(-1)))
	}
	cases := []struct {
		name string
		want string
	}{
		{"anouk's read", "999900011"},
		{"lotte's read", "999900077"},
		{"an untagged read", ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := readers.Who(entries[i]); got != tc.want {
				t.Fatalf("Who = %q, want %q", got, tc.want)
			}
			for _, h := range entries[i].Request.Headers {
				if h.Value == "Bearer token-anouk" || h.Value == "Bearer token-lotte" {
					t.Fatalf("the recording keeps the token: %v", entries[i].Request.Headers)
				}
			}
		})
	}
}
