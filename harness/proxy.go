package harness

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Proxy defaults.
const (
	DefaultMaxBody    = 1 << 20 // bytes of each body kept in evidence
	DefaultMaxEntries = 500_000 // entries kept per proxy
	// DefaultMaxBodies is how many exchanges are kept with their bodies;
	// later ones are kept without (method, URL, status, headers, sizes,
	// timings), so that a population run still shows every exchange.
	DefaultMaxBodies = 20000
	// entryCost approximates what an entry holds besides its bodies (URL,
	// headers), for the memory budget.
	entryCost = 1 << 10
	// DefaultMemoryBudget bounds the body bytes a proxy holds in memory;
	// beyond it the oldest recorded exchanges go to a spool file on disk.
	DefaultMemoryBudget = 32 << 20
	// ProxyErrorHeader marks a 502 answer made by the proxy itself because
	// the candidate could not be reached; the bench's client turns it into
	// an error.
	ProxyErrorHeader = "X-Bcbench-Proxy-Error"
	redacted         = "[REDACTED]"
)

// quiet swallows the standard library's log lines of the proxy.
var quiet = log.New(io.Discard, "", 0)

// ProxyOptions tune a recording proxy.
type ProxyOptions struct {
	// Role is recorded in every entry.
	Role string
	// MaxBody bounds the bytes of each request and response body kept
	// (default DefaultMaxBody); the rest is forwarded but not recorded.
	MaxBody int
	// MaxEntries bounds the entries kept (default DefaultMaxEntries); later
	// exchanges are forwarded and counted but not recorded.
	MaxEntries int
	// MaxBodies bounds the entries kept with their bodies (default
	// DefaultMaxBodies); later ones are kept with sizes but no body text.
	MaxBodies int
	// Secrets are literal values (tokens the bench sends) replaced by
	// [REDACTED] wherever they appear in evidence.
	Secrets []string
	// RequestTimeout bounds the wait for the candidate's response headers
	// (default 30 s).
	RequestTimeout time.Duration
	// Diagnose, when set, is asked why the upstream failed (for example
	// "container exited with code 137") and its answer is added to the error.
	Diagnose func() error
	// BenchVersion names the bench in HAR files.
	BenchVersion string
	// MemoryBudget bounds the recorded body bytes held in memory (default
	// DefaultMemoryBudget): past it the oldest exchanges are rendered and
	// written to an unlinked spool file, and read back when asked for, so
	// that a population run's tens of thousands of polls do not pile up.
	MemoryBudget int64
}

// Proxy is a recording reverse proxy on loopback in front of one candidate
// role: every exchange becomes a HAR entry, with secrets redacted.
type Proxy struct {
	opts     ProxyOptions
	upstream *url.URL
	ln       net.Listener
	srv      *http.Server
	rp       *httputil.ReverseProxy
	tr       *http.Transport

	mu       sync.Mutex
	entries  []*pending
	dropped  int
	closed   bool
	done     chan struct{}
	held     int64 // body bytes of the entries not yet spooled
	next     int   // the first entry not yet spooled
	spooling bool  // a spool goroutine runs
	spool    *spool
}

// NewProxy starts a recording proxy on 127.0.0.1 that forwards to upstream
// (an http:// base URL, possibly with a path prefix).
func NewProxy(upstream string, opts ProxyOptions) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("starting proxy: bad upstream URL %q", upstream)
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.MaxBodies <= 0 {
		opts.MaxBodies = DefaultMaxBodies
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	if opts.BenchVersion == "" {
		opts.BenchVersion = "dev"
	}
	if opts.MemoryBudget <= 0 {
		opts.MemoryBudget = DefaultMemoryBudget
	}
	var secrets []string
	for _, s := range opts.Secrets {
		if len(s) >= 4 { // shorter values would redact ordinary text
			secrets = append(secrets, s)
		}
	}
	opts.Secrets = secrets
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting proxy: %w", err)
	}
	p := &Proxy{opts: opts, upstream: u, ln: ln, done: make(chan struct{})}
	p.tr = &http.Transport{
		Proxy:                 nil, // never an outside proxy
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: opts.RequestTimeout,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       60 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = u.Host
			r.Out.URL.User = nil
			// user:password@ in the candidate's URL is sent as basic
			// authentication, unless the bench sends its own.
			if u.User != nil && r.Out.Header.Get("Authorization") == "" {
				pw, _ := u.User.Password()
				r.Out.SetBasicAuth(u.User.Username(), pw)
			}
		},
		Transport:    &recorder{p: p},
		BufferPool:   copyBuffers{},
		ErrorHandler: p.fail,
		// A candidate that cuts a body short is recorded in the HAR; the
		// standard library's log line would only clutter the bench's stderr.
		ErrorLog: quiet,
	}
	p.srv = &http.Server{
		ErrorLog:          quiet,
		Handler:           p.rp,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	go func() {
		defer close(p.done)
		_ = p.srv.Serve(ln)
	}()
	return p, nil
}

// URL is where the bench reaches the candidate through the proxy, e.g.
// http://127.0.0.1:41234 (plus the upstream's path prefix, if any).
func (p *Proxy) URL() string {
	return "http://" + p.ln.Addr().String() + strings.TrimSuffix(p.upstream.Path, "/")
}

// Upstream is the candidate's own address (a password in it hidden).
func (p *Proxy) Upstream() string { return strings.TrimSuffix(p.upstream.Redacted(), "/") }

// host is the proxy's own host:port.
func (p *Proxy) host() string { return p.ln.Addr().String() }

// RedactURL hides the password of a URL's user information
// (http://user:secret@host → http://user:xxxxx@host); anything that is not
// a URL with a password is returned as it is.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	return u.Redacted()
}

// urlUserinfo finds user:password@ in URLs within free text.
var urlUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*):[^/\s@]*@`)

// RedactUserinfo hides the password of every URL within a text (an error
// message, a log line): scheme://user:xxxxx@host.
func RedactUserinfo(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return urlUserinfo.ReplaceAllString(s, "${1}:xxxxx@")
}

// urlPassword returns the password in a URL's user information, or "".
func urlPassword(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return ""
	}
	pw, _ := u.User.Password()
	return pw
}

// Entries returns a copy of what was exchanged so far, oldest first, with
// secrets redacted. Exchanges are recorded raw and rendered (redacted) on
// the first call that sees them, which keeps the redaction off the
// exchange's own path.
func (p *Proxy) Entries() []Entry { return p.EntriesFrom(0) }

// EntriesFrom is Entries from the i-th recorded exchange on: a reader that
// keeps up with the recording copies only what is new (none for i past the
// end).
func (p *Proxy) EntriesFrom(i int) []Entry {
	list := p.pendingFrom(i)
	if len(list) == 0 {
		return nil
	}
	out := make([]Entry, len(list))
	for k, pe := range list {
		out[k] = p.entry(pe)
	}
	return out
}

// pendingFrom returns the recorded exchanges from the i-th on.
func (p *Proxy) pendingFrom(i int) []*pending {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i < 0 {
		i = 0
	}
	if i >= len(p.entries) {
		return nil
	}
	return slices.Clone(p.entries[i:])
}

// pending is an exchange as recorded, rendered into its HAR entry when
// first asked for (or when it is spooled to disk).
type pending struct {
	mu   sync.Mutex // guards everything below once the exchange is added
	e    Entry
	req  *reqInfo
	resp *respInfo // nil when the exchange failed
	// at and size locate the rendered entry (JSON) in the proxy's spool
	// once it went to disk (size > 0); e is then empty but for Started.
	at   int64
	size int
	held int64 // body bytes counted in Proxy.held when added
}

// entry returns the HAR entry of a recorded exchange, rendering it or
// reading it back from the spool.
func (p *Proxy) entry(pe *pending) Entry {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	if pe.size > 0 {
		e, err := p.spool.read(pe.at, pe.size)
		if err != nil {
			return Entry{Started: pe.e.Started, StartedDateTime: pe.e.StartedDateTime, Role: pe.e.Role, Error: "reading the recorded exchange back from the spool: " + err.Error()}
		}
		e.Started = pe.e.Started
		return e
	}
	if pe.req != nil {
		p.render(pe)
	}
	return pe.e
}

// entryJSON is entry as JSON: the spooled bytes as they are.
func (p *Proxy) entryJSON(pe *pending) ([]byte, error) {
	pe.mu.Lock()
	if pe.size > 0 {
		at, size := pe.at, pe.size
		pe.mu.Unlock()
		return p.spool.raw(at, size)
	}
	pe.mu.Unlock()
	return json.Marshal(p.entry(pe))
}

// forget drops the bodies of an exchange beyond MaxBodies: their sizes
// stay, the entry says they were not recorded.
func (pe *pending) forget() {
	if pe.req != nil && pe.req.body != nil {
		pe.req.body.forget()
	}
	if pe.resp != nil && pe.resp.body != nil {
		pe.resp.body.forget()
	}
}

// bodyBytes is how many body bytes an exchange holds in memory.
func (pe *pending) bodyBytes() int64 {
	var n int64
	if pe.req != nil && pe.req.body != nil {
		n += pe.req.body.kept()
	}
	if pe.resp != nil && pe.resp.body != nil {
		n += pe.resp.body.kept()
	}
	return n
}

type reqInfo struct {
	method, proto string
	url           *url.URL
	header        http.Header
	body          *capture
}

type respInfo struct {
	status int
	proto  string
	header http.Header
	body   *capture
}

// render fills pe.e from the raw exchange, redacting secrets, and drops the
// raw data.
func (p *Proxy) render(pe *pending) {
	pe.e.Request = p.harRequest(pe.req)
	if pe.resp != nil {
		pe.e.Response = p.harResponse(pe.resp)
	} else {
		pe.e.Response = HARResponse{Cookies: []HARCookie{}, Headers: []HARNameValue{}, Content: HARContent{MimeType: "x-unknown"}}
	}
	pe.e.Error = p.redactText(pe.e.Error)
	pe.req, pe.resp = nil, nil
}

// Dropped counts exchanges forwarded but not recorded (beyond MaxEntries).
func (p *Proxy) Dropped() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}

// WriteHAR writes every recorded exchange as a HAR 1.2 file, one entry at
// a time: spooled entries are copied from the spool, never all held at once.
func (p *Proxy) WriteHAR(path string) error {
	p.mu.Lock()
	comment := fmt.Sprintf("bcbench recording proxy for role %s in front of %s", p.opts.Role, p.upstream.Redacted())
	if p.dropped > 0 {
		comment += fmt.Sprintf("; %d later exchanges were forwarded but not recorded (limit %d)", p.dropped, p.opts.MaxEntries)
	}
	p.mu.Unlock()
	list := p.pendingFrom(0)
	return writeHARStream(path, p.opts.BenchVersion, comment, len(list), func(i int) ([]byte, error) {
		return p.entryJSON(list[i])
	})
}

// Close stops the proxy; in-flight exchanges get a short grace period.
// It is idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	if err != nil {
		err = p.srv.Close()
	}
	<-p.done
	p.tr.CloseIdleConnections()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stopping proxy: %w", err)
	}
	return nil
}

func (p *Proxy) add(pe *pending) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.entries) >= p.opts.MaxEntries {
		p.dropped++
		return
	}
	if len(p.entries) >= p.opts.MaxBodies {
		pe.forget()
	}
	pe.held = pe.bodyBytes() + entryCost
	p.entries = append(p.entries, pe)
	p.held += pe.held
	if p.held > p.opts.MemoryBudget && !p.spooling {
		p.spooling = true
		go p.spoolOldest()
	}
}

// spoolOldest renders the oldest entries still in memory and writes them to
// the spool until the bodies held are half the budget. It runs off the
// exchanges' path, one at a time per proxy. A spool that cannot be written
// leaves the entries in memory (and is not tried again).
func (p *Proxy) spoolOldest() {
	for {
		p.mu.Lock()
		if p.held <= p.opts.MemoryBudget/2 || p.next >= len(p.entries) || p.spool.broken() {
			p.spooling = false
			p.mu.Unlock()
			return
		}
		pe := p.entries[p.next]
		p.next++
		if p.spool == nil {
			p.spool = newSpool()
		}
		sp := p.spool
		p.mu.Unlock()

		pe.mu.Lock()
		n := pe.held
		if pe.req != nil {
			p.render(pe)
		}
		if data, err := json.Marshal(pe.e); err == nil {
			if at, err := sp.write(data); err == nil {
				pe.at, pe.size = at, len(data)
				pe.e = Entry{Started: pe.e.Started, StartedDateTime: pe.e.StartedDateTime, Role: pe.e.Role}
			}
		}
		pe.mu.Unlock()

		p.mu.Lock()
		p.held -= n
		p.mu.Unlock()
	}
}

// fail answers a request the candidate could not serve.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	msg := fmt.Sprintf("candidate role %s at %s did not answer: %v", p.opts.Role, p.Upstream(), err)
	if p.opts.Diagnose != nil {
		if d := p.opts.Diagnose(); d != nil {
			msg += " (" + d.Error() + ")"
		}
	}
	w.Header().Set(ProxyErrorHeader, "1")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = io.WriteString(w, msg)
}

// copyBuffers reuses the proxy's 32 KiB copy buffers across exchanges.
type copyBuffers struct{}

var copyBufferPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (copyBuffers) Get() []byte  { return *copyBufferPool.Get().(*[]byte) }
func (copyBuffers) Put(b []byte) { copyBufferPool.Put(&b) }

// recorder is the proxy's transport: it forwards and records.
type recorder struct{ p *Proxy }

func (rec *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	p := rec.p
	start := time.Now()
	e := Entry{Started: start, StartedDateTime: start.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Role: p.opts.Role}
	e.Timings = HARTimings{Blocked: -1, DNS: -1, Connect: -1, SSL: -1}
	var reqBody *capture
	if req.Body != nil && req.Body != http.NoBody {
		reqBody = &capture{r: req.Body, max: p.opts.MaxBody}
		req.Body = reqBody
	}
	tt := &traceTimes{}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), tt.trace()))
	resp, err := p.tr.RoundTrip(req)
	pe := &pending{req: &reqInfo{method: req.Method, proto: req.Proto, url: req.URL, header: req.Header, body: reqBody}}
	connect, wrote, firstByte := tt.get()
	e.Timings.Connect = connect
	if err != nil {
		e.Time = ms(time.Since(start))
		e.Error = err.Error()
		e.Timings.Send, e.Timings.Wait, e.Timings.Receive = 0, e.Time, 0
		pe.e = e
		p.add(pe)
		return nil, err
	}
	if wrote.IsZero() {
		wrote = start
	}
	if firstByte.IsZero() {
		firstByte = time.Now()
	}
	if firstByte.Before(wrote) {
		wrote = firstByte // the answer came before the request was fully sent
	}
	e.Timings.Send = ms(wrote.Sub(start))
	e.Timings.Wait = ms(firstByte.Sub(wrote))
	body := &capture{r: resp.Body, max: p.opts.MaxBody}
	info := &respInfo{status: resp.StatusCode, proto: resp.Proto, header: resp.Header, body: body}
	body.onDone = func(readErr error) {
		end := time.Now()
		e.Timings.Receive = ms(end.Sub(firstByte))
		e.Time = ms(end.Sub(start))
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			e.Error = "reading response body: " + readErr.Error()
		}
		pe.e = e
		pe.resp = info
		p.add(pe)
	}
	resp.Body = body
	return resp, nil
}

// traceTimes collects the moments httptrace reports; the transport calls
// them from its own goroutines.
type traceTimes struct {
	mu               sync.Mutex
	connStart        time.Time
	connect          float64
	wrote, firstByte time.Time
}

func (t *traceTimes) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		ConnectStart: func(string, string) { t.mu.Lock(); t.connStart = time.Now(); t.mu.Unlock() },
		ConnectDone: func(string, string, error) {
			t.mu.Lock()
			t.connect = ms(time.Since(t.connStart))
			t.mu.Unlock()
		},
		WroteRequest:         func(httptrace.WroteRequestInfo) { t.mu.Lock(); t.wrote = time.Now(); t.mu.Unlock() },
		GotFirstResponseByte: func() { t.mu.Lock(); t.firstByte = time.Now(); t.mu.Unlock() },
	}
}

func (t *traceTimes) get() (connect float64, wrote, firstByte time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.connStart.IsZero() {
		return -1, t.wrote, t.firstByte
	}
	return t.connect, t.wrote, t.firstByte
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// capture passes a body through and keeps its first max bytes. A request
// body may still be read by the transport after RoundTrip returns, so the
// kept bytes are guarded.
type capture struct {
	r      io.ReadCloser
	max    int
	mu     sync.Mutex
	buf    bytes.Buffer
	n      int64
	once   sync.Once
	onDone func(error)
}

func (c *capture) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		c.mu.Lock()
		c.n += int64(n)
		if room := c.max - c.buf.Len(); room > 0 {
			c.buf.Write(b[:min(n, room)])
		}
		c.mu.Unlock()
	}
	if err != nil {
		c.finish(err)
	}
	return n, err
}

func (c *capture) Close() error {
	err := c.r.Close()
	c.finish(nil)
	return err
}

func (c *capture) finish(err error) {
	if c.onDone == nil {
		return
	}
	c.once.Do(func() { c.onDone(err) })
}

// forget drops the kept bytes and keeps no more.
func (c *capture) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = bytes.Buffer{}
	c.max = 0
}

// kept is how many bytes the capture holds.
func (c *capture) kept() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(c.buf.Len())
}

// snapshot returns the kept bytes, the size seen so far, and whether the
// kept bytes are fewer.
func (c *capture) snapshot() (kept []byte, size int64, truncated bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.buf.Bytes()), c.n, c.n > int64(c.buf.Len())
}

func (p *Proxy) harRequest(r *reqInfo) HARRequest {
	u := *r.url
	if u.RawQuery != "" {
		u.RawQuery = p.redactQuery(r.url.Query()).Encode()
	}
	h := HARRequest{
		Method:      r.method,
		URL:         p.redactText(u.String()),
		HTTPVersion: r.proto,
		Cookies:     []HARCookie{},
		Headers:     p.harHeaders(r.header),
		QueryString: []HARNameValue{},
		HeadersSize: -1,
		BodySize:    0,
	}
	for k, vs := range p.redactQuery(r.url.Query()) {
		for _, v := range vs {
			h.QueryString = append(h.QueryString, HARNameValue{Name: k, Value: v})
		}
	}
	for _, c := range (&http.Request{Header: r.header}).Cookies() {
		h.Cookies = append(h.Cookies, HARCookie{Name: c.Name, Value: redacted})
	}
	if r.body != nil {
		kept, size, truncated := r.body.snapshot()
		h.BodySize = size
		text, _ := p.bodyText(kept)
		h.PostData = &HARPostData{MimeType: r.header.Get("Content-Type"), Text: text}
		if truncated {
			h.PostData.Comment = fmt.Sprintf("truncated: first %d of %d bytes recorded", len(kept), size)
		}
	}
	return h
}

func (p *Proxy) harResponse(r *respInfo) HARResponse {
	kept, size, truncated := r.body.snapshot()
	h := HARResponse{
		Status:      r.status,
		StatusText:  http.StatusText(r.status),
		HTTPVersion: r.proto,
		Cookies:     []HARCookie{},
		Headers:     p.harHeaders(r.header),
		RedirectURL: p.redactText(r.header.Get("Location")),
		HeadersSize: -1,
		BodySize:    size,
	}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		h.Cookies = append(h.Cookies, HARCookie{Name: c.Name, Value: redacted})
	}
	text, enc := p.bodyText(kept)
	h.Content = HARContent{Size: size, MimeType: r.header.Get("Content-Type"), Text: text, Encoding: enc}
	if h.Content.MimeType == "" {
		h.Content.MimeType = "x-unknown"
	}
	if truncated {
		h.Content.Comment = fmt.Sprintf("truncated: first %d of %d bytes recorded", len(kept), size)
	}
	return h
}

// sensitiveHeader reports whether a header's value is a secret.
func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key":
		return true
	}
	for _, s := range []string{"token", "secret", "password", "session", "apikey", "api-key", "credential"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// sensitiveParams are query, form and JSON field names whose values are
// secrets. FHIR search parameters such as code or identifier are not.
var sensitiveParams = map[string]bool{
	"access_token": true, "id_token": true, "refresh_token": true, "token": true,
	"client_secret": true, "password": true, "api_key": true, "apikey": true,
	"assertion": true, "client_assertion": true, "session": true, "sessionid": true,
	"jwt": true, "secret": true, "authorization": true, "bearer": true,
	"accesstoken": true, "idtoken": true, "refreshtoken": true, "clientsecret": true,
}

func (p *Proxy) harHeaders(h http.Header) []HARNameValue {
	out := []HARNameValue{}
	for k, vs := range h {
		for _, v := range vs {
			if sensitiveHeader(k) {
				if scheme, _, ok := strings.Cut(v, " "); ok && strings.ToLower(k) == "authorization" {
					v = scheme + " " + redacted
				} else {
					v = redacted
				}
			} else {
				v = p.redactText(v)
			}
			out = append(out, HARNameValue{Name: k, Value: v})
		}
	}
	return out
}

func (p *Proxy) redactQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, vs := range q {
		for _, v := range vs {
			if sensitiveParams[strings.ToLower(k)] {
				v = redacted
			} else {
				v = p.redactText(v)
			}
			out.Add(k, v)
		}
	}
	return out
}

// secretField finds name/value pairs with a sensitive name in JSON, form
// and free text: "access_token": "…", access_token=…, password: ….
var secretField = func() *regexp.Regexp {
	names := make([]string, 0, len(sensitiveParams))
	for n := range sensitiveParams {
		names = append(names, regexp.QuoteMeta(n))
	}
	return regexp.MustCompile(`(?i)((?:^|[^a-z0-9_]|\\u00[0-9a-f]{2})\\?"?(?:` + strings.Join(names, "|") + `)\\?"?\s*[:=]\s*)` +
		// a JSON string, a JSON string escaped inside another, or a bare value
		`("(?:[^"\\]|\\.)*"|\\"(?:[^\\"]|\\\\\\"|\\\\[^"])*\\"|[^\s"&,;}\]\\]+)`)
}()

// bearerText finds bearer tokens in free text.
var bearerText = regexp.MustCompile(`(?i)(\bbearer\s+)[A-Za-z0-9\-._~+/]+=*`)

// redactText removes secrets from text: literal secrets, bearer tokens and
// values of sensitive fields.
func (p *Proxy) redactText(s string) string {
	for _, sec := range p.opts.Secrets {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	s = RedactUserinfo(s)
	if !mayHoldSecret(s) {
		return s
	}
	s = bearerText.ReplaceAllString(s, "${1}"+redacted)
	return secretField.ReplaceAllStringFunc(s, func(m string) string {
		sub := secretField.FindStringSubmatch(m)
		switch {
		case strings.HasPrefix(sub[2], `"`):
			return sub[1] + `"` + redacted + `"`
		case strings.HasPrefix(sub[2], `\"`):
			return sub[1] + `\"` + redacted + `\"`
		}
		return sub[1] + redacted
	})
}

// secretHints are substrings of every sensitive name (sensitiveParams) and
// of "bearer": text without any of them has nothing for the patterns.
var secretHints = []string{"token", "secret", "password", "api_key", "apikey", "assertion", "session", "jwt", "authorization", "bearer"}

// mayHoldSecret is a quick case-insensitive test before the patterns run.
func mayHoldSecret(s string) bool {
	lower := strings.ToLower(s)
	for _, h := range secretHints {
		if strings.Contains(lower, h) {
			return true
		}
	}
	return false
}

// bodyText renders a captured body for HAR: redacted text when it is UTF-8,
// base64 otherwise (binary bodies carry no parsable secrets, but literal
// secrets are still refused: such a body is replaced by a note).
func (p *Proxy) bodyText(b []byte) (text, encoding string) {
	if len(b) == 0 {
		return "", ""
	}
	if utf8.Valid(b) || utf8.Valid(trimPartialRune(b)) {
		return p.redactText(string(b)), ""
	}
	for _, sec := range p.opts.Secrets {
		if bytes.Contains(b, []byte(sec)) {
			return "[binary body containing a secret, not recorded]", ""
		}
	}
	return base64.StdEncoding.EncodeToString(b), "base64"
}

// trimPartialRune drops a rune cut in half at the capture bound.
func trimPartialRune(b []byte) []byte {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if r, _ := utf8.DecodeLastRune(b); r != utf8.RuneError {
			return b
		}
		b = b[:len(b)-1]
	}
	return b
}
