package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// hiding serves a page that hides a marker in every place a page can hold
// data without showing it; each marker is written so that it appears whole
// only where it is hidden.
func hiding(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	html := htmlPage
	mux.HandleFunc("/hidden", html(`<!doctype html><html lang="nl"><head><title>Weigering</title>
<meta name="client" content="META-GEHEIM"></head><body>
<!-- COMMENTAAR-GEHEIM -->
<p>Geen toegang</p>
<div hidden>VERBORGEN-GEHEIM</div>
<p data-client="ATTRIBUUT-GEHEIM">.</p>
<template><p>TEMPLATE-GEHEIM</p><template><b>GENEST-GEHEIM</b></template></template>
<script type="application/json">{"bsn":"JSON-GEHEIM"}</script>
<input id="veld" aria-label="veld">
<iframe src="/frame" title="kader"></iframe>
<script>
const h = document.createElement('div'); document.body.append(h);
h.attachShadow({mode: 'closed'}).innerHTML = '<p>' + 'SCHADUW' + '-GEHEIM</p>';
document.getElementById('veld').value = 'INVOER' + '-GEHEIM';
document.cookie = 'c=KOEKJE' + '-GEHEIM';
Promise.all([
  fetch('/post', {method: 'POST', body: 'VERZOEK' + '-GEHEIM'}),
  fetch('/big.txt').then(r => r.text()),
  fetch('/blob').then(r => r.arrayBuffer()),
]).then(() => {
  document.title = 'klaar';
  fetch('/data.json').then(r => r.json()); // still open when the test reads
});
fetch('/forever');
new EventSource('/events');
</script></body></html>`))
	mux.HandleFunc("/frame", html(`<!doctype html><title>kader</title><p>KADER-GEHEIM</p>`))
	mux.HandleFunc("/data.json", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Second) // answered after the page's load event
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Client", "KOPREGEL-GEHEIM")
		fmt.Fprint(w, `{"bsn":"ANTWOORD-GEHEIM"}`)
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: BERICHT-GEHEIM\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("/blob", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		fmt.Fprint(w, `{"bsn":"BINAIR-GEHEIM"}`)
	})
	mux.HandleFunc("/forever", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("/post", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/big.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, strings.Repeat("x", MaxBodyBytes+10))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// openPage opens u in a browser of its own, both closed when t ends.
func openPage(t *testing.T, u string) *Page {
	t.Helper()
	b, err := Launch(context.Background(), Options{PageTimeout: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	p, err := b.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestContentFindsWhatAPageHidesAndNamesWhatItCouldNotRead(t *testing.T) {
	needChromium(t)
	srv := hiding(t)
	p := openPage(t, srv.URL+"/hidden")
	var err error
	for title := ""; title != "klaar"; {
		if title, err = chromedp.Run(p.Context(), chromedp.Evaluate[string]("document.title")); err != nil {
			t.Fatalf("waiting for the page's requests: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// /data.json is answered a second later: Content waits for it
	c, err := p.Content()
	if err != nil {
		t.Fatal(err)
	}
	var traffic strings.Builder
	for _, x := range c.Traffic {
		traffic.WriteString(x.Where + "\n" + x.Text + "\n")
	}
	cases := []struct{ name, marker, in string }{
		{"an HTML comment", "COMMENTAAR-GEHEIM", c.DOM},
		{"a meta element", "META-GEHEIM", c.DOM},
		{"a hidden element", "VERBORGEN-GEHEIM", c.DOM},
		{"an attribute", "ATTRIBUUT-GEHEIM", c.DOM},
		{"a template", "TEMPLATE-GEHEIM", c.DOM},
		{"a template in a template", "GENEST-GEHEIM", c.DOM},
		{"a JSON island", "JSON-GEHEIM", c.DOM},
		{"a closed shadow root", "SCHADUW-GEHEIM", c.DOM},
		{"an input's value set by script", "INVOER-GEHEIM", c.DOM},
		{"a frame's document", "KADER-GEHEIM", c.DOM},
		{"a fetched body the page does not show", "ANTWOORD-GEHEIM", traffic.String()},
		{"a response header", "KOPREGEL-GEHEIM", traffic.String()},
		{"a request body", "VERZOEK-GEHEIM", traffic.String()},
		{"a body served as application/octet-stream", "BINAIR-GEHEIM", traffic.String()},
		{"an EventSource message", "BERICHT-GEHEIM", traffic.String()},
		{"the document's own body", "COMMENTAAR-GEHEIM", traffic.String()},
		{"a cookie", "c=KOEKJE-GEHEIM", strings.Join(c.Cookies, "\n")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(tc.in, tc.marker) {
				t.Errorf("%s not found", tc.marker)
			}
		})
	}
	for _, want := range []string{"big.txt: groter dan 2 MiB", "nog zonder antwoord: ", srv.URL + "/events", srv.URL + "/forever"} {
		if !strings.Contains(strings.Join(c.Unread, "\n"), want) {
			t.Errorf("%q is not named as unread: %q", want, c.Unread)
		}
	}
}

func TestUnreadTypesAreOnlyImagesFontsAndMedia(t *testing.T) {
	cases := []struct {
		name, mimeType string
		unread         bool
	}{
		{"JSON", "application/json; charset=utf-8", false},
		{"octet-stream", "application/octet-stream", false},
		{"PDF", "application/pdf", false},
		{"no type", "", false},
		{"a malformed type", "application/x-weird;;", false},
		{"an image", "image/png", true},
		{"SVG, which is text", "image/svg+xml", false},
		{"a font", "font/woff2", true},
		{"audio", "audio/mpeg", true},
		{"video in capitals", "Video/MP4", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := unreadType(tc.mimeType); got != tc.unread {
				t.Errorf("unreadType(%q) = %v, want %v", tc.mimeType, got, tc.unread)
			}
		})
	}
}

// A redirect hop past the bound of entries leaves a request open without
// an entry: settle must still stop waiting at its deadline.
func TestSettleStopsAtItsDeadlineForARequestWithoutEntry(t *testing.T) {
	defer func(d time.Duration) { settleWait = d }(settleWait)
	settleWait = 200 * time.Millisecond
	l := newNetLog(1)
	first := &network.EventRequestWillBeSent{RequestID: "r", Request: &network.Request{Method: "GET", URL: "http://127.0.0.1/a"}}
	l.request(first)
	hop := &network.EventRequestWillBeSent{RequestID: "r", Request: &network.Request{Method: "GET", URL: "http://127.0.0.1/b"},
		RedirectResponse: &network.Response{Status: 302, URL: "http://127.0.0.1/a"}}
	l.request(hop)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p := &Page{ctx: ctx, netlog: l}
	if err := p.settle(); err != nil {
		t.Fatalf("settle: %v", err)
	}
	if want := "1 verzoek(en) na 10 s nog zonder antwoord"; !slices.Contains(l.traffic.unread, want) {
		t.Errorf("unread = %q, want %q", l.traffic.unread, want)
	}
}

// A page that polls without pause keeps bodies being read while Content
// waits for them; run with -race.
func TestContentOfAPageThatPollsConstantly(t *testing.T) {
	needChromium(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/", htmlPage(`<!doctype html><html lang="nl"><title>peiling</title><body><p>Geen toegang</p><script>
setInterval(() => fetch('/poll').then(r => r.text()), 2);
</script></body></html>`))
	mux.HandleFunc("/poll", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "PEILING-GEHEIM")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	p := openPage(t, srv.URL+"/")
	polled := func(c *Content) bool {
		for _, x := range c.Traffic {
			if strings.Contains(x.Text, "PEILING-GEHEIM") {
				return true
			}
		}
		return false
	}
	// on a loaded machine the page's first poll may come after its load:
	// the first read waits (bounded) until a poll was read at all
	deadline := time.Now().Add(20 * time.Second)
	for i := range 3 {
		c, err := p.Content()
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		for i == 0 && !polled(c) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			if c, err = p.Content(); err != nil {
				t.Fatalf("read %d: %v", i, err)
			}
		}
		if !polled(c) {
			t.Errorf("read %d: no polled body read; unread: %q", i, c.Unread)
		}
	}
}

// Bodies read while settle waits for them, as for a page that polls: the
// count of reads in flight must not race with the wait; run with -race.
func TestSettleWhileBodiesKeepBeingRead(t *testing.T) {
	defer func(d time.Duration) { settleWait = d }(settleWait)
	settleWait = 300 * time.Millisecond
	l := newNetLog(10)
	l.request(&network.EventRequestWillBeSent{RequestID: "r", Request: &network.Request{Method: "GET", URL: "http://127.0.0.1/poll"}})
	l.response(&network.EventResponseReceived{RequestID: "r", Response: &network.Response{Status: 200, MimeType: "text/plain", URL: "http://127.0.0.1/poll"}})
	l.finished("r", 10, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// tab is no DevTools target: each read fails at once and is named unread
	p := &Page{ctx: ctx, tab: ctx, netlog: l}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				p.readBody(&network.EventLoadingFinished{RequestID: "r"})
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	for i := range 50 {
		if err := p.settle(); err != nil {
			t.Fatalf("settle %d: %v", i, err)
		}
	}
	close(stop)
	<-done
}
