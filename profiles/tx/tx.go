// Package tx is the client of a FHIR terminology server (R4): it asks
// ValueSet/$validate-code and CodeSystem/$lookup, with Parameters in and
// out, what the offline terminology service cannot decide. It implements
// terminology.Remote.
//
// Every call is bounded: a time limit per call, a time budget for the
// client's whole life (one run), a limit on the answer's size, and after a
// few failures in a row (no connection, a timeout, a 5xx, an answer that is
// not a Parameters resource) the client stops asking. Redirects are not
// followed. Whatever goes wrong, the answer is terminology.Unknown with the
// reason; never Member or NotMember.
//
// Answers are kept in memory (one request is asked once per client) and on
// disk (a per-user cache keyed by the request, bounded in size and age), and
// every distinct answer is logged for the run's evidence (Answers,
// WriteAnswers).
package tx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bcbench/bcbench/profiles/terminology"
)

// Env names the environment variable that gives the server's base URL when
// --tx is not set; CacheEnv the disk cache folder ("off": none) when
// Options.CacheDir is empty.
// TokenEnv gives a bearer token for servers that require one (the national
// terminology server does).
const (
	Env      = "BCBENCH_TX"
	CacheEnv = "BCBENCH_TX_CACHE"
	TokenEnv = "BCBENCH_TX_TOKEN"
)

// Defaults of Options.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultBudget      = 2 * time.Minute
	DefaultMaxFailures = 3
	DefaultCacheMax    = 32 << 20
	DefaultCacheAge    = 7 * 24 * time.Hour
	// MaxAnswer bounds the body of one answer.
	MaxAnswer = 1 << 20
)

// Options tune a Client. Zero values take the defaults.
type Options struct {
	// Timeout bounds one call (connect, send, answer).
	Timeout time.Duration
	// Budget bounds the time spent on calls over the client's life; once
	// used up, the client answers Unknown without asking.
	Budget time.Duration
	// MaxFailures is the number of failed calls in a row after which the
	// client stops asking.
	MaxFailures int
	// CacheDir is the disk cache; "" is $BCBENCH_TX_CACHE, else the
	// per-user cache folder (os.UserCacheDir()/bcbench/tx); "off" means no
	// disk cache.
	CacheDir string
	// CacheMax bounds the disk cache in bytes; the oldest answers go first.
	CacheMax int64
	// CacheAge is how long a cached answer is used.
	CacheAge time.Duration
	// Transport carries the requests (for example through the bench's
	// recording proxy); nil is a plain transport that never uses an outside
	// proxy.
	Transport http.RoundTripper
	// Via is the base URL the requests are sent to instead of the server's
	// own (the recording proxy's address); answers are cached and logged
	// under the server's URL.
	Via string
	// Token, when set, is sent as "Authorization: Bearer <token>". It is
	// not part of the cache key and never logged.
	Token string
}

// Client asks one FHIR terminology server. It is safe for concurrent use.
type Client struct {
	base string // the server's base URL, without a trailing slash
	send string // where requests go (base, or the proxy in front of it)
	opts Options
	http *http.Client

	mu       sync.Mutex
	calls    map[string]*call // request key → its answer, asked once
	spent    time.Duration
	failures int    // failed calls in a row
	gaveUp   string // why the client stopped asking
	log      []Answer

	cacheMu   sync.Mutex
	cacheSize int64 // bytes in the disk cache; -1 until first measured
}

// call is one request, asked once; later askers wait for it.
type call struct {
	done chan struct{}
	res  terminology.Result
}

// Answer is one distinct exchange with the server, kept as evidence.
type Answer struct {
	Operation string          `json:"operation"` // ValueSet/$validate-code or CodeSystem/$lookup
	URL       string          `json:"url"`
	Request   json.RawMessage `json:"request"` // the Parameters sent
	// From is "server", "cache" (the disk cache, with the time it was
	// stored) or "none" (nothing asked: the client had given up).
	From     string          `json:"from"`
	Cached   time.Time       `json:"cached,omitzero"`
	Status   int             `json:"status,omitempty"`
	Response json.RawMessage `json:"response,omitempty"` // the answer's body when it is JSON
	Outcome  string          `json:"outcome"`
	Message  string          `json:"message,omitempty"`
	Millis   int64           `json:"ms"`
}

// New returns a client for the server at base (an http or https URL).
func New(base string, opts Options) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("terminology server %q: give the FHIR base URL, http(s)://host[:port]/path", base)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = DefaultMaxFailures
	}
	if opts.CacheMax <= 0 {
		opts.CacheMax = DefaultCacheMax
	}
	if opts.CacheAge <= 0 {
		opts.CacheAge = DefaultCacheAge
	}
	if opts.CacheDir == "" {
		opts.CacheDir = os.Getenv(CacheEnv)
	}
	if opts.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			opts.CacheDir = "off"
		} else {
			opts.CacheDir = filepath.Join(dir, "bcbench", "tx")
		}
	}
	tr := opts.Transport
	if tr == nil {
		tr = &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4, ResponseHeaderTimeout: opts.Timeout}
	}
	c := &Client{
		base:      strings.TrimSuffix(base, "/"),
		opts:      opts,
		calls:     map[string]*call{},
		cacheSize: -1,
		http: &http.Client{Transport: tr, Timeout: opts.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	c.send = c.base
	if opts.Via != "" {
		c.send = strings.TrimSuffix(opts.Via, "/")
	}
	return c, nil
}

// Base is the server's base URL.
func (c *Client) Base() string { return c.base }

// ValidateCode asks ValueSet/$validate-code whether the coding is in the
// value set ("url" or "url|version").
func (c *Client) ValidateCode(ctx context.Context, valueSet string, cd terminology.Coding) terminology.Result {
	vsURL, vsVersion, _ := strings.Cut(valueSet, "|")
	p := params{{"url", "valueUri", vsURL}}
	if vsVersion != "" {
		p = append(p, param{"valueSetVersion", "valueString", vsVersion})
	}
	p = append(p, param{"system", "valueUri", cd.System}, param{"code", "valueCode", cd.Code})
	if cd.Version != "" {
		p = append(p, param{"systemVersion", "valueString", cd.Version})
	}
	return c.ask(ctx, "ValueSet/$validate-code", p, func(out map[string]any) terminology.Result {
		return validateAnswer(c.base, valueSet, cd, out)
	})
}

// LookupCode asks CodeSystem/$lookup whether the code exists in its system.
// Only an answer with the code's details decides (Member); a server that
// does not know the code answers with an error, which stays Unknown, as a
// server that does not know the code system does the same.
func (c *Client) LookupCode(ctx context.Context, cd terminology.Coding) terminology.Result {
	p := params{{"system", "valueUri", cd.System}, {"code", "valueCode", cd.Code}}
	if cd.Version != "" {
		p = append(p, param{"version", "valueString", cd.Version})
	}
	return c.ask(ctx, "CodeSystem/$lookup", p, func(out map[string]any) terminology.Result {
		if has(out, "display") || has(out, "name") {
			return terminology.Result{Outcome: terminology.Member, Message: fmt.Sprintf("terminology server %s knows %s|%s ($lookup)", c.base, cd.System, cd.Code)}
		}
		return terminology.Result{Outcome: terminology.Unknown, Message: fmt.Sprintf("terminology server %s: $lookup answered without name or display", c.base)}
	})
}

type param struct{ name, typ, value string }
type params []param

func (ps params) resource() map[string]any {
	list := make([]any, 0, len(ps))
	for _, p := range ps {
		list = append(list, map[string]any{"name": p.name, p.typ: p.value})
	}
	return map[string]any{"resourceType": "Parameters", "parameter": list}
}

// ask sends one operation once per client; read turns a Parameters answer
// into the result.
func (c *Client) ask(ctx context.Context, op string, p params, read func(map[string]any) terminology.Result) terminology.Result {
	body, err := json.Marshal(p.resource())
	if err != nil {
		return unknown("terminology server %s: encoding the request: %v", c.base, err)
	}
	key := c.base + "/" + op + "\n" + string(body)
	c.mu.Lock()
	if k, ok := c.calls[key]; ok {
		c.mu.Unlock()
		select {
		case <-k.done:
			return k.res
		case <-ctx.Done():
			return unknown("terminology server %s: %v", c.base, ctx.Err())
		}
	}
	k := &call{done: make(chan struct{})}
	c.calls[key] = k
	c.mu.Unlock()
	defer close(k.done)

	a := Answer{Operation: op, URL: c.base + "/" + op, Request: body}
	defer func() {
		a.Outcome, a.Message = k.res.Outcome.String(), k.res.Message
		c.mu.Lock()
		c.log = append(c.log, a)
		c.mu.Unlock()
	}()
	if status, resp, stored, ok := c.cacheGet(key); ok {
		a.From, a.Cached, a.Status, a.Response = "cache", stored, status, jsonOrNil(resp)
		var out map[string]any
		if json.Unmarshal(resp, &out) == nil {
			k.res = read(out)
			return k.res
		}
	}
	c.mu.Lock()
	gaveUp, spent := c.gaveUp, c.spent
	c.mu.Unlock()
	switch {
	case gaveUp != "":
		a.From = "none"
		k.res = unknown("%s", gaveUp)
		return k.res
	case spent >= c.opts.Budget:
		a.From = "none"
		k.res = unknown("terminology server %s: the run's time budget for it (%s) is used up; not asked", c.base, c.opts.Budget)
		return k.res
	}
	a.From = "server"
	start := time.Now()
	status, resp, err := c.post(ctx, op, body)
	elapsed := time.Since(start)
	a.Millis, a.Status, a.Response = elapsed.Milliseconds(), status, jsonOrNil(resp)
	var out map[string]any
	if err == nil {
		err = parseParameters(status, resp, &out)
	}
	c.mu.Lock()
	c.spent += elapsed
	if err != nil {
		c.failures++
		if c.failures >= c.opts.MaxFailures && c.gaveUp == "" {
			c.gaveUp = fmt.Sprintf("terminology server %s: not asked any more after %d failed calls in a row (last: %v)", c.base, c.failures, err)
		}
	} else {
		c.failures = 0
	}
	c.mu.Unlock()
	if err != nil {
		k.res = unknown("terminology server %s: %s: %v", c.base, op, err)
		return k.res
	}
	k.res = read(out)
	if k.res.Outcome != terminology.Unknown {
		c.cachePut(key, status, resp)
	}
	return k.res
}

// post sends one request within the per-call limit and reads a bounded
// answer.
func (c *Client) post(ctx context.Context, op string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.send+"/"+op, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, nil, fmt.Errorf("no answer within %s", c.opts.Timeout)
		}
		return 0, nil, fmt.Errorf("not reachable: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		if ctx.Err() != nil {
			return resp.StatusCode, nil, fmt.Errorf("the answer did not arrive within %s", c.opts.Timeout)
		}
		return resp.StatusCode, nil, fmt.Errorf("reading the answer: %w", err)
	}
	if len(data) > MaxAnswer {
		return resp.StatusCode, nil, fmt.Errorf("the answer is larger than %d bytes", MaxAnswer)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return resp.StatusCode, data, fmt.Errorf("answered with a redirect (%d to %q), which is not followed", resp.StatusCode, resp.Header.Get("Location"))
	}
	return resp.StatusCode, data, nil
}

// parseParameters reads a 200 answer that is a Parameters resource; any
// other answer is an error naming what came back.
func parseParameters(status int, data []byte, out *map[string]any) error {
	var m map[string]any
	jsonErr := json.Unmarshal(data, &m)
	if status != http.StatusOK {
		msg := fmt.Sprintf("HTTP %d", status)
		if d := diagnostics(m); d != "" {
			msg += ": " + d
		}
		return errors.New(msg)
	}
	if jsonErr != nil {
		return fmt.Errorf("the answer is not JSON: %v", jsonErr)
	}
	if rt, _ := m["resourceType"].(string); rt != "Parameters" {
		return fmt.Errorf("the answer is a %q, not a Parameters resource", rt)
	}
	*out = m
	return nil
}

// diagnostics returns the first issue text of an OperationOutcome.
func diagnostics(m map[string]any) string {
	if rt, _ := m["resourceType"].(string); rt != "OperationOutcome" {
		return ""
	}
	issues, _ := m["issue"].([]any)
	for _, i := range issues {
		im, _ := i.(map[string]any)
		if d, _ := im["diagnostics"].(string); d != "" {
			return clip(d)
		}
		if det, ok := im["details"].(map[string]any); ok {
			if t, _ := det["text"].(string); t != "" {
				return clip(t)
			}
		}
	}
	return ""
}

// validateAnswer reads the out parameters of $validate-code: result
// (boolean, required), message, display. A false result that says the
// server does not know the value set or code system is Unknown: the server
// could not decide either.
func validateAnswer(base, valueSet string, cd terminology.Coding, out map[string]any) terminology.Result {
	var result, found bool
	for _, p := range list(out) {
		if name, _ := p["name"].(string); name == "result" {
			result, found = p["valueBoolean"].(bool)
		}
	}
	msg, _ := value(out, "message")
	msg = clip(msg)
	switch {
	case !found:
		return unknown("terminology server %s: $validate-code answered without a boolean result", base)
	case result:
		r := terminology.Result{Outcome: terminology.Member, Message: fmt.Sprintf("terminology server %s: %s|%s is in %s", base, cd.System, cd.Code, valueSet)}
		return r
	case unknownTo(msg):
		return unknown("terminology server %s could not check %s|%s against %s: %s", base, cd.System, cd.Code, valueSet, msg)
	default:
		r := terminology.Result{Outcome: terminology.NotMember, Message: fmt.Sprintf("terminology server %s: %s|%s is not in %s", base, cd.System, cd.Code, valueSet)}
		if msg != "" {
			r.Message += ": " + msg
		}
		return r
	}
}

// unknownTo recognises a false result that means "I do not know this value
// set or code system" rather than "the code is not in it".
func unknownTo(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"unknown value set", "unable to find value set", "value set not found", "valueset not found",
		"unknown code system", "unable to find code system", "code system not found", "not supported", "could not be resolved", "unable to resolve"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

func list(m map[string]any) []map[string]any {
	ps, _ := m["parameter"].([]any)
	out := make([]map[string]any, 0, len(ps))
	for _, p := range ps {
		if pm, ok := p.(map[string]any); ok {
			out = append(out, pm)
		}
	}
	return out
}

// value returns the string value of the first parameter called name.
func value(m map[string]any, name string) (string, bool) {
	for _, p := range list(m) {
		if n, _ := p["name"].(string); n == name {
			for _, k := range []string{"valueString", "valueCode", "valueUri"} {
				if s, ok := p[k].(string); ok {
					return s, true
				}
			}
		}
	}
	return "", false
}

func has(m map[string]any, name string) bool {
	_, ok := value(m, name)
	return ok
}

func unknown(format string, args ...any) terminology.Result {
	return terminology.Result{Outcome: terminology.Unknown, Message: fmt.Sprintf(format, args...)}
}

// clip bounds a server's text quoted in a message, on one line and without
// control characters (it may reach a terminal).
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func jsonOrNil(b []byte) json.RawMessage {
	if len(b) > 0 && json.Valid(b) {
		return json.RawMessage(b)
	}
	return nil
}

// Answers returns every distinct exchange so far, in the order asked.
func (c *Client) Answers() []Answer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Answer(nil), c.log...)
}

// Summary says in one line what the client did: answers by source and
// outcome.
func (c *Client) Summary() string {
	counts := map[string]int{}
	for _, a := range c.Answers() {
		counts[a.From+" "+a.Outcome]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	s := fmt.Sprintf("terminology server %s: %d question(s)", c.base, len(c.Answers()))
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	c.mu.Lock()
	if c.gaveUp != "" {
		s += "; " + c.gaveUp
	}
	c.mu.Unlock()
	return s
}

// GaveUp says why the client stopped asking ("" while it asks).
func (c *Client) GaveUp() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gaveUp
}

// WriteAnswers writes the answers as JSON (evidence of a run).
func (c *Client) WriteAnswers(path string) error {
	data, err := json.MarshalIndent(struct {
		Server  string   `json:"server"`
		Answers []Answer `json:"answers"`
	}{c.base, c.Answers()}, "", "  ")
	if err != nil {
		return fmt.Errorf("writing terminology answers: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing terminology answers: %w", err)
	}
	return nil
}
