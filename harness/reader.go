package harness

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
)

// RequestIDHeader carries the id the bench gives each request it tags.
const RequestIDHeader = "X-Request-ID"

// maxTagged bounds the requests Readers remembers; later ones are sent
// untagged.
const maxTagged = 1 << 20

// Readers lets the bench read as several professionals and still tell the
// recorded exchanges apart by who sent them: every request carries the
// reader's bearer token and an X-Request-ID, and Readers remembers which
// reader sent which id. Evidence keeps the id, never the token.
type Readers struct {
	mu  sync.Mutex
	who map[string]string
}

// NewReaders returns an empty register of readers.
func NewReaders() *Readers { return &Readers{who: map[string]string{}} }

// Client returns a copy of base whose requests carry token as bearer
// token and are remembered as sent by who.
func (r *Readers) Client(base *http.Client, who, token string) *http.Client {
	c := *base
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = &readerTransport{readers: r, who: who, token: token, next: next}
	return &c
}

// Who returns who sent a recorded exchange, or "" when the bench did not
// tag it.
func (r *Readers) Who(e Entry) string {
	for _, h := range e.Request.Headers {
		if strings.EqualFold(h.Name, RequestIDHeader) {
			r.mu.Lock()
			who := r.who[h.Value]
			r.mu.Unlock()
			return who
		}
	}
	return ""
}

type readerTransport struct {
	readers *Readers
	who     string
	token   string
	next    http.RoundTripper
}

func (t *readerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	b := make([]byte, 12)
	if _, err := rand.Read(b); err == nil {
		id := hex.EncodeToString(b)
		t.readers.mu.Lock()
		if len(t.readers.who) < maxTagged {
			t.readers.who[id] = t.who
			req.Header.Set(RequestIDHeader, id)
		}
		t.readers.mu.Unlock()
	}
	return t.next.RoundTrip(req)
}
