package browser

import (
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
)

// HAR is the page's network log in HAR 1.2, the subset that DevTools gives:
// requests, responses (status, headers, mime type, size) and timings.
type HAR struct {
	Log struct {
		Version string `json:"version"`
		Creator struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"creator"`
		Comment string     `json:"comment,omitempty"`
		Entries []HAREntry `json:"entries"`
	} `json:"log"`
}

// HAREntry is one request of the page.
type HAREntry struct {
	StartedDateTime string      `json:"startedDateTime"`
	Time            float64     `json:"time"`
	Request         HARRequest  `json:"request"`
	Response        HARResponse `json:"response"`
	Cache           struct{}    `json:"cache"`
	Timings         struct {
		Send    float64 `json:"send"`
		Wait    float64 `json:"wait"`
		Receive float64 `json:"receive"`
	} `json:"timings"`
	Error string `json:"_error,omitempty"`
	Type  string `json:"_resourceType,omitempty"`
}

// HARRequest is the request half of an entry.
type HARRequest struct {
	Method      string      `json:"method"`
	URL         string      `json:"url"`
	HTTPVersion string      `json:"httpVersion"`
	Cookies     []NameValue `json:"cookies"`
	Headers     []NameValue `json:"headers"`
	QueryString []NameValue `json:"queryString"`
	HeadersSize int         `json:"headersSize"`
	BodySize    int         `json:"bodySize"`
}

// HARResponse is the response half of an entry.
type HARResponse struct {
	Status      int64       `json:"status"`
	StatusText  string      `json:"statusText"`
	HTTPVersion string      `json:"httpVersion"`
	Cookies     []NameValue `json:"cookies"`
	Headers     []NameValue `json:"headers"`
	Content     struct {
		Size     int64  `json:"size"`
		MimeType string `json:"mimeType"`
	} `json:"content"`
	RedirectURL string `json:"redirectURL"`
	HeadersSize int    `json:"headersSize"`
	BodySize    int64  `json:"bodySize"`
}

// NameValue is a header or query parameter.
type NameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// netLog collects the DevTools network events of one page, bounded in
// entries.
type netLog struct {
	mu      sync.Mutex
	max     int
	dropped int
	entries map[network.RequestID]*HAREntry
	order   []network.RequestID
	started map[network.RequestID]time.Time
	// the page's traffic as text (content.go); generation counts resets, so
	// that a body read in flight for an earlier document is dropped
	traffic    traffic
	generation int
	reading    int // bodies being read (readBody)
	sockets    map[network.RequestID]string
	pending    map[network.RequestID]bool // requests not finished yet
}

func newNetLog(max int) *netLog {
	return &netLog{max: max, entries: map[network.RequestID]*HAREntry{},
		started: map[network.RequestID]time.Time{}, sockets: map[network.RequestID]string{}, pending: map[network.RequestID]bool{}}
}

// reset empties the log for the next document of the tab.
func (l *netLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropped = 0
	l.entries = map[network.RequestID]*HAREntry{}
	l.order = nil
	l.started = map[network.RequestID]time.Time{}
	l.traffic = traffic{}
	l.generation++
	l.sockets = map[network.RequestID]string{}
	l.pending = map[network.RequestID]bool{}
}

func (l *netLog) request(ev *network.EventRequestWillBeSent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.entries[ev.RequestID]; ok && ev.RedirectResponse != nil {
		// A redirect reuses the request id: close the previous hop under a
		// key of its own.
		fillResponse(prev, ev.RedirectResponse)
		prev.Response.RedirectURL = ev.Request.URL
		key := ev.RequestID + network.RequestID("#"+prev.StartedDateTime)
		l.entries[key] = prev
		for i, id := range l.order {
			if id == ev.RequestID {
				l.order[i] = key
			}
		}
		delete(l.entries, ev.RequestID)
	}
	if len(l.entries) >= l.max {
		l.dropped++
		return
	}
	e := &HAREntry{Type: string(ev.Type)}
	start := time.Now().UTC()
	e.StartedDateTime = start.Format(time.RFC3339Nano)
	e.Request = HARRequest{Method: ev.Request.Method, URL: ev.Request.URL + ev.Request.URLFragment, HTTPVersion: "HTTP/1.1",
		Cookies: []NameValue{}, Headers: headers(ev.Request.Headers), QueryString: query(ev.Request.URL), HeadersSize: -1, BodySize: 0}
	e.Response = HARResponse{Cookies: []NameValue{}, Headers: []NameValue{}, HeadersSize: -1, BodySize: -1}
	l.entries[ev.RequestID] = e
	l.order = append(l.order, ev.RequestID)
	l.started[ev.RequestID] = start
	l.pending[ev.RequestID] = true
}

func (l *netLog) response(ev *network.EventResponseReceived) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[ev.RequestID]; ok {
		fillResponse(e, ev.Response)
		if t, ok := l.started[ev.RequestID]; ok {
			e.Timings.Wait = float64(time.Since(t).Microseconds()) / 1000
		}
	}
}

func (l *netLog) finished(id network.RequestID, size float64, errText string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.pending, id)
	e, ok := l.entries[id]
	if !ok {
		return
	}
	if t, ok := l.started[id]; ok {
		e.Time = float64(time.Since(t).Microseconds()) / 1000
		e.Timings.Receive = max(0, e.Time-e.Timings.Wait)
	}
	if size > 0 {
		e.Response.BodySize = int64(size)
	}
	e.Error = errText
}

func fillResponse(e *HAREntry, r *network.Response) {
	e.Response.Status = r.Status
	e.Response.StatusText = r.StatusText
	if r.Protocol != "" {
		e.Response.HTTPVersion = r.Protocol
	}
	e.Response.Headers = headers(r.Headers)
	e.Response.Content.MimeType = r.MimeType
	e.Response.Content.Size = int64(r.EncodedDataLength)
}

func headers(h network.Headers) []NameValue {
	out := []NameValue{}
	for k, v := range h {
		s, _ := v.(string)
		out = append(out, NameValue{Name: k, Value: s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func query(raw string) []NameValue {
	out := []NameValue{}
	u, err := url.Parse(raw)
	if err != nil {
		return out
	}
	for k, vs := range u.Query() {
		for _, v := range vs {
			out = append(out, NameValue{Name: k, Value: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// HAR returns the page's network log so far.
func (p *Page) HAR() *HAR {
	l := p.netlog
	l.mu.Lock()
	defer l.mu.Unlock()
	h := &HAR{}
	h.Log.Version = "1.2"
	h.Log.Creator.Name = "bcbench browser"
	h.Log.Creator.Version = "1"
	h.Log.Entries = []HAREntry{}
	for _, id := range l.order {
		if e, ok := l.entries[id]; ok {
			h.Log.Entries = append(h.Log.Entries, *e)
		}
	}
	if l.dropped > 0 {
		h.Log.Comment = "entries after the first " + strconv.Itoa(l.max) + " were not recorded"
	}
	return h
}

// secretHeaders are the request and response headers whose values never
// leave the bench in evidence (a session cookie or a token of the viewer).
var secretHeaders = map[string]bool{"authorization": true, "proxy-authorization": true, "cookie": true, "set-cookie": true}

// secretParams are the query (and fragment) parameters whose values never
// leave the bench in evidence: a launch, an authorization code and its
// state, a PKCE verifier, a token, a signed context token.
var secretParams = map[string]bool{"launch": true, "code": true, "state": true, "code_verifier": true, "access_token": true, "id_token": true, "context_token": true}

// urlHeaders are the headers whose value is a URL that may carry them.
var urlHeaders = map[string]bool{"location": true, "referer": true, "content-location": true, "refresh": true}

// left is what stands in evidence for a value left out.
const left = "(weggelaten)"

// EvidenceJSON is the page's network log as evidence: every request the
// page made, with the values of credential headers, and of launch, code,
// state, code_verifier, access_token, id_token and context_token in URLs (also in
// Location and Referer headers), left out.
func (p *Page) EvidenceJSON() ([]byte, error) {
	h := p.HAR()
	for i := range h.Log.Entries {
		e := &h.Log.Entries[i]
		e.Request.URL = withoutSecretParams(e.Request.URL)
		e.Request.QueryString = withoutSecretValues(e.Request.QueryString)
		e.Request.Headers = withoutSecrets(e.Request.Headers)
		e.Response.Headers = withoutSecrets(e.Response.Headers)
		e.Response.RedirectURL = withoutSecretParams(e.Response.RedirectURL)
	}
	return json.MarshalIndent(h, "", "  ")
}

func withoutSecrets(hs []NameValue) []NameValue {
	out := make([]NameValue, len(hs))
	for i, h := range hs {
		switch name := strings.ToLower(h.Name); {
		case secretHeaders[name]:
			h.Value = left
		case urlHeaders[name]:
			h.Value = withoutSecretParams(h.Value)
		}
		out[i] = h
	}
	return out
}

func withoutSecretValues(qs []NameValue) []NameValue {
	out := make([]NameValue, len(qs))
	for i, q := range qs {
		if secretParams[q.Name] {
			q.Value = left
		}
		out[i] = q
	}
	return out
}

// withoutSecretParams replaces the values of secretParams in a URL's query
// and fragment, keeping everything else as it was written.
func withoutSecretParams(raw string) string {
	rest, fragment, hasFragment := strings.Cut(raw, "#")
	base, query, hasQuery := strings.Cut(rest, "?")
	out := base
	if hasQuery {
		out += "?" + withoutSecretPairs(query)
	}
	if hasFragment {
		out += "#" + withoutSecretPairs(fragment)
	}
	return out
}

// withoutSecretPairs does it for one a=b&c=d list; a pair whose name does
// not decode is kept as written.
func withoutSecretPairs(s string) string {
	pairs := strings.Split(s, "&")
	for i, pair := range pairs {
		name, _, ok := strings.Cut(pair, "=")
		if n, err := url.QueryUnescape(name); ok && err == nil && secretParams[n] {
			pairs[i] = name + "=" + left
		}
	}
	return strings.Join(pairs, "&")
}

// HARJSON is HAR encoded as indented JSON.
func (p *Page) HARJSON() ([]byte, error) {
	return json.MarshalIndent(p.HAR(), "", "  ")
}
