package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

func echoServer(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/big":
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, strings.Repeat("x", 5000))
			return
		case "/binary":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte{0xff, 0xfe, 0x00, 0x01})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Set-Cookie", "session=s3cr3t-cookie")
		w.Header().Set("X-Refresh-Token", "rt-in-header")
		json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "body": string(body), "access_token": "issued-token-value"})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProxyRecordsHAR(t *testing.T) {
	up := echoServer(t)
	p, err := NewProxy(up.URL, ProxyOptions{Role: "xis", BenchVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	req, _ := http.NewRequest(http.MethodPost, p.URL()+"/fhir/Patient?name=Jansen&_count=2", strings.NewReader(`{"resourceType":"Patient"}`))
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"path":"/fhir/Patient"`) {
		t.Fatalf("upstream did not get the request: %s", body)
	}
	entries := p.Entries()
	if len(entries) != 1 {
		t.Fatalf("%d entries, want 1", len(entries))
	}
	e := entries[0]
	if e.Role != "xis" || e.Request.Method != "POST" || !strings.HasPrefix(e.Request.URL, up.URL+"/fhir/Patient?") {
		t.Errorf("request = %+v", e.Request)
	}
	if e.Request.PostData == nil || e.Request.PostData.Text != `{"resourceType":"Patient"}` || e.Request.PostData.MimeType != "application/fhir+json" {
		t.Errorf("postData = %+v", e.Request.PostData)
	}
	if e.Response.Status != 200 || !strings.Contains(e.Response.Content.Text, `"path":"/fhir/Patient"`) || e.Response.Content.Size != int64(len(body)) {
		t.Errorf("response = %+v", e.Response)
	}
	qs := map[string]string{}
	for _, q := range e.Request.QueryString {
		qs[q.Name] = q.Value
	}
	if qs["name"] != "Jansen" || qs["_count"] != "2" {
		t.Errorf("queryString = %v", e.Request.QueryString)
	}
	if e.Time <= 0 || e.Timings.Wait < 0 || e.Started.IsZero() {
		t.Errorf("timings: time %v %+v started %v", e.Time, e.Timings, e.Started)
	}
	if _, err := time.Parse(time.RFC3339Nano, e.StartedDateTime); err != nil {
		t.Errorf("startedDateTime %q: %v", e.StartedDateTime, err)
	}

	path := filepath.Join(t.TempDir(), "evidence", "xis.har")
	if err := p.WriteHAR(path); err != nil {
		t.Fatal(err)
	}
	h, err := ReadHARFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Log.Entries[0].Started.Equal(e.Started.Truncate(time.Millisecond)) {
		t.Errorf("read back started %v, recorded %v", h.Log.Entries[0].Started, e.Started)
	}
	if h.Log.Version != "1.2" || h.Log.Creator.Name != "bcbench" || h.Log.Creator.Version != "test" || len(h.Log.Entries) != 1 {
		t.Errorf("HAR log = %+v", h.Log)
	}
	// Required HAR 1.2 members are present even when empty.
	raw, _ := os.ReadFile(path)
	var generic struct {
		Log struct {
			Entries []map[string]any `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	entry := generic.Log.Entries[0]
	for _, k := range []string{"startedDateTime", "time", "request", "response", "cache", "timings"} {
		if _, ok := entry[k]; !ok {
			t.Errorf("HAR entry lacks %q", k)
		}
	}
	for _, k := range []string{"method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"} {
		if _, ok := entry["request"].(map[string]any)[k]; !ok {
			t.Errorf("HAR request lacks %q", k)
		}
	}
}

func TestProxyRedactsSecrets(t *testing.T) {
	up := echoServer(t)
	p, err := NewProxy(up.URL, ProxyOptions{Role: "xis", Secrets: []string{"manifest-token-123"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	body := `{"grant_type":"x","client_secret":"cs-very-secret","password":"pw\"quoted","note":"manifest-token-123 in text"}`
	req, _ := http.NewRequest(http.MethodPost, p.URL()+"/token?access_token=qs-token-abc&code=12345&patient=9999", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer manifest-token-123")
	req.Header.Set("Cookie", "sid=cookie-secret-1")
	req.Header.Set("X-Api-Key", "apikey-secret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	form, _ := http.NewRequest(http.MethodPost, p.URL()+"/form", strings.NewReader("username=jan&password=hunter22&refresh_token=rt-form-1"))
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err = http.DefaultClient.Do(form); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	path := filepath.Join(t.TempDir(), "xis.har")
	if err := p.WriteHAR(path); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	har := string(raw)
	for _, secret := range []string{"manifest-token-123", "cs-very-secret", `pw\"quoted`, "qs-token-abc", "cookie-secret-1", "s3cr3t-cookie", "apikey-secret", "issued-token-value", "rt-in-header", "hunter22", "rt-form-1"} {
		if strings.Contains(har, secret) {
			t.Errorf("HAR contains secret %q", secret)
		}
	}
	// What is not secret stays, so the evidence is still useful.
	for _, keep := range []string{"code=12345", "patient=9999", `\"grant_type\":\"x\"`, "username=jan", "Bearer [REDACTED]", `"name": "sid"`} {
		if !strings.Contains(har, keep) {
			t.Errorf("HAR lacks %q", keep)
		}
	}
}

func TestProxyBoundsBodies(t *testing.T) {
	up := echoServer(t)
	p, err := NewProxy(up.URL, ProxyOptions{Role: "xis", MaxBody: 100, MaxEntries: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, path := range []string{"/big", "/binary", "/dropped"} {
		resp, err := http.Get(p.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if path == "/big" && len(b) != 5000 {
			t.Errorf("client got %d bytes, want all 5000", len(b))
		}
	}
	e := p.Entries()
	if len(e) != 2 || p.Dropped() != 1 {
		t.Fatalf("%d entries, %d dropped; want 2 and 1", len(e), p.Dropped())
	}
	if len(e[0].Response.Content.Text) != 100 || e[0].Response.Content.Size != 5000 || !e[0].Truncated() {
		t.Errorf("big body: text %d bytes, size %d, comment %q", len(e[0].Response.Content.Text), e[0].Response.Content.Size, e[0].Response.Content.Comment)
	}
	if e[1].Response.Content.Encoding != "base64" || e[1].Response.Content.Text != "//4AAQ==" {
		t.Errorf("binary body: %+v", e[1].Response.Content)
	}
}

func TestProxyUnreachableUpstream(t *testing.T) {
	up := echoServer(t)
	p, err := NewProxy(up.URL, ProxyOptions{Role: "index", Diagnose: func() error { return errors.New("process exited: signal: killed") }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	up.Close()
	role := &Role{Name: "index", Proxy: p, Spec: &RoleSpec{FHIRBase: "/fhir"}, requestTimeout: 5 * time.Second}
	_, err = role.Client().Get(role.FHIRBase() + "/metadata")
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("want *UnreachableError, got %v", err)
	}
	if ue.Role != "index" || !strings.Contains(ue.Detail, "process exited: signal: killed") {
		t.Errorf("error = %v", err)
	}
	e := p.Entries()
	if len(e) != 1 || e[0].Error == "" || e[0].Response.Status != 0 {
		t.Errorf("failed exchange not recorded as such: %+v", e)
	}
}

func TestProxyHangingUpstreamTimesOut(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer up.Close()
	defer close(release)
	p, err := NewProxy(up.URL, ProxyOptions{Role: "xis", RequestTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	role := &Role{Name: "xis", Proxy: p, Spec: &RoleSpec{}, requestTimeout: 5 * time.Second}
	start := time.Now()
	_, err = role.Client().Get(p.URL() + "/slow")
	var ue *UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(ue.Detail, "timeout") {
		t.Errorf("want an unreachable error naming the timeout, got %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestProxyRoleClientSendsToken(t *testing.T) {
	var got []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
	}))
	defer up.Close()
	p, err := NewProxy(up.URL, ProxyOptions{Role: "xis", Secrets: []string{"tok-4567"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	role := &Role{Name: "xis", Proxy: p, Spec: &RoleSpec{}, Token: "tok-4567", requestTimeout: 5 * time.Second}
	resp, err := role.Client().Get(p.URL() + "/a")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, p.URL()+"/b", nil)
	req.Header.Set("Authorization", "Bearer other")
	resp, err = role.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sort.Strings(got)
	if len(got) != 2 || got[0] != "Bearer other" || got[1] != "Bearer tok-4567" {
		t.Errorf("upstream saw %v", got)
	}
}

func TestProxyBadUpstream(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "http://", "::"} {
		if p, err := NewProxy(u, ProxyOptions{}); err == nil {
			p.Close()
			t.Errorf("NewProxy(%q) accepted", u)
		}
	}
}

// TestProxySpoolsPastItsMemoryBudget: a population run records tens of
// thousands of polls; past the memory budget the oldest exchanges go to the
// spool file, the bodies held in memory stay within the budget, and what
// the proxy gives back (Entries, EntriesFrom, the HAR) is the same as
// without the spool, secrets redacted.
func TestProxySpoolsPastItsMemoryBudget(t *testing.T) {
	up := echoServer(t)
	cases := []struct {
		name   string
		budget int64
		spools bool
	}{
		{"within the budget: nothing spooled", 1 << 20, false},
		{"past the budget: the oldest spooled", 4 << 10, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewProxy(up.URL, ProxyOptions{Role: "xis", BenchVersion: "test", MemoryBudget: tc.budget, Secrets: []string{"tok-spool-1"}})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			const n = 60
			for i := range n {
				path := "/big"
				if i%3 == 0 {
					path = fmt.Sprintf("/fhir/Patient/%d", i)
				}
				req, _ := http.NewRequest(http.MethodPost, p.URL()+path, strings.NewReader(`{"token":"tok-spool-1","n":`+fmt.Sprint(i)+`}`))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				p.mu.Lock()
				settled, held, spool := !p.spooling, p.held, p.spool
				p.mu.Unlock()
				if settled {
					if held > max(tc.budget, 1<<20) {
						t.Errorf("%d body bytes held in memory, budget %d", held, tc.budget)
					}
					if (spool != nil) != tc.spools {
						t.Errorf("spooled: %v, want %v", spool != nil, tc.spools)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the spool did not settle in 10 s")
				}
				time.Sleep(10 * time.Millisecond)
			}
			entries := p.Entries()
			if len(entries) != n {
				t.Fatalf("%d entries, want %d", len(entries), n)
			}
			for i, e := range entries {
				want := fmt.Sprintf(`"n":%d}`, i)
				if e.Request.PostData == nil || !strings.HasSuffix(e.Request.PostData.Text, want) || strings.Contains(e.Request.PostData.Text, "tok-spool-1") {
					t.Errorf("entry %d: postData %+v, want it ending in %s, the token redacted", i, e.Request.PostData, want)
				}
				if e.Response.Status != 200 || e.Response.Content.Size == 0 || e.Response.Content.Text == "" || e.Started.IsZero() {
					t.Errorf("entry %d: response %d size %d, started %v", i, e.Response.Status, e.Response.Content.Size, e.Started)
				}
			}
			if from := p.EntriesFrom(n - 2); len(from) != 2 || from[0].Request.PostData.Text != entries[n-2].Request.PostData.Text {
				t.Errorf("EntriesFrom(%d) = %d entries, not the last two", n-2, len(from))
			}
			dir := t.TempDir()
			streamed, whole := filepath.Join(dir, "streamed.har"), filepath.Join(dir, "whole.har")
			if err := p.WriteHAR(streamed); err != nil {
				t.Fatal(err)
			}
			if err := WriteHARFile(whole, entries, "test", "bcbench recording proxy for role xis in front of "+up.URL); err != nil {
				t.Fatal(err)
			}
			a, _ := os.ReadFile(streamed)
			b, _ := os.ReadFile(whole)
			if string(a) != string(b) {
				t.Errorf("the streamed HAR (%d bytes) differs from the one written at once (%d bytes)", len(a), len(b))
			}
		})
	}
}

// TestProxyWritesAnEmptyHAR: no exchange, a valid HAR with no entries.
func TestProxyWritesAnEmptyHAR(t *testing.T) {
	up := echoServer(t)
	p, err := NewProxy(up.URL, ProxyOptions{Role: "index", BenchVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	dir := t.TempDir()
	if err := p.WriteHAR(filepath.Join(dir, "a.har")); err != nil {
		t.Fatal(err)
	}
	if err := WriteHARFile(filepath.Join(dir, "b.har"), nil, "test", "bcbench recording proxy for role index in front of "+up.URL); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "a.har"))
	b, _ := os.ReadFile(filepath.Join(dir, "b.har"))
	if string(a) != string(b) {
		t.Errorf("empty HAR:\n%s\nwant\n%s", a, b)
	}
}

// TestProxyKeepsLaterExchangesWithoutBodies: past MaxBodies an exchange is
// still recorded — who asked what, the status, the sizes — without its
// bodies, and the entry says so (the access-log specs read every exchange
// of a population run).
func TestProxyKeepsLaterExchangesWithoutBodies(t *testing.T) {
	up := echoServer(t)
	p, err := NewProxy(up.URL, ProxyOptions{Role: "xis", MaxBodies: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, path := range []string{"/big", "/big", "/fhir/Patient/1"} {
		resp, err := http.Post(p.URL()+path, "application/json", strings.NewReader(`{"a":1}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	e := p.Entries()
	if len(e) != 3 || p.Dropped() != 0 {
		t.Fatalf("%d entries, %d dropped; want 3 and 0", len(e), p.Dropped())
	}
	if e[0].Response.Content.Text == "" || e[0].Truncated() {
		t.Errorf("the first exchange lost its body: %+v", e[0].Response.Content)
	}
	for i, x := range e[1:] {
		if x.Response.Content.Text != "" || x.Response.Content.Size == 0 || !x.Truncated() || x.Request.PostData == nil || x.Request.PostData.Text != "" || x.Request.BodySize != 7 {
			t.Errorf("entry %d: response %+v, request body %+v (size %d); want sizes without text, marked truncated", i+1, x.Response.Content, x.Request.PostData, x.Request.BodySize)
		}
		if x.Response.Status != 200 || !strings.Contains(x.Request.URL, "/") {
			t.Errorf("entry %d: status %d, url %s", i+1, x.Response.Status, x.Request.URL)
		}
	}
}
