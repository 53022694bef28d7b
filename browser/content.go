package browser

import (
	"context"
	"fmt"
	"mime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chromedp/cdproto/domsnapshot"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// Bounds of what Content reads of a page's traffic: a body or message past
// MaxBodyBytes, or past MaxTrafficBytes for the page all together, is not
// (wholly) read and named in Content.Unread.
const (
	MaxBodyBytes    = 2 << 20
	MaxTrafficBytes = 8 << 20
	// maxDOMBytes bounds the strings of the DOM snapshot Content keeps.
	maxDOMBytes = 16 << 20
)

// Content is everything of a page the bench searches for data that must not
// be there: the whole DOM, the page's traffic and its cookies. What the
// bench could not read is in Unread, never silently left out.
type Content struct {
	// DOM holds every string of the DOM snapshot of every frame's
	// document, one per line: text and comment nodes, every attribute
	// (meta, data-*, hidden elements), script and template text, shadow
	// roots, input and textarea values.
	DOM string
	// Traffic is what went over the network: each request's URL and body,
	// each response's headers and body (images, fonts and media aside),
	// WebSocket and EventSource messages.
	Traffic []Text
	// Cookies are the cookies of the page's browser context, name=value.
	Cookies []string
	// Unread names what the bench could not read and why.
	Unread []string
}

// Text is one piece of the page's traffic and where it was seen (a URL
// without its query).
type Text struct {
	Where string
	Text  string
}

// unreadType reports whether a response of this MIME type is left unread
// by Content: images (SVG aside, which is text), fonts, audio and video.
// Every other body (text, JSON, PDF, application/octet-stream, unknown
// types) is read as its bytes, up to the bounds.
func unreadType(mimeType string) bool {
	t, _, err := mime.ParseMediaType(mimeType)
	if err != nil {
		t = strings.ToLower(strings.TrimSpace(mimeType))
	}
	if t == "image/svg+xml" {
		return false
	}
	for _, media := range []string{"image/", "font/", "audio/", "video/"} {
		if strings.HasPrefix(t, media) {
			return true
		}
	}
	return false
}

// traffic collects the bodies and messages of the page's traffic, bounded
// per item and per page (it lives in the page's netLog).
type traffic struct {
	texts  []Text
	unread []string
	bytes  int
}

// add keeps b as seen at where, bounded; p.netlog.mu is held.
func (t *traffic) add(where string, b []byte) {
	if len(b) == 0 {
		return
	}
	if len(b) > MaxBodyBytes {
		t.unread = append(t.unread, fmt.Sprintf("%s: groter dan %d MiB, alleen het begin gelezen", where, MaxBodyBytes>>20))
		b = b[:MaxBodyBytes]
	}
	if t.bytes+len(b) > MaxTrafficBytes {
		t.unread = append(t.unread, fmt.Sprintf("%s: niet gelezen, de pagina bracht meer dan %d MiB aan tekst over", where, MaxTrafficBytes>>20))
		return
	}
	t.bytes += len(b)
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\ufffd")
	}
	t.texts = append(t.texts, Text{Where: where, Text: s})
}

// keepText records a request body or a message as it is seen.
func (p *Page) keepText(where string, b []byte) {
	l := p.netlog
	l.mu.Lock()
	defer l.mu.Unlock()
	l.traffic.add(where, b)
}

// unread records what of the traffic could not be read.
func (p *Page) unread(msg string) {
	l := p.netlog
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.traffic.unread) < 100 {
		l.traffic.unread = append(l.traffic.unread, msg)
	}
}

// readBody asks the browser, as soon as a response finished loading, for
// its body: a body is gone from the browser's buffer once the page moves
// on. Every response that can have a body is read, images, fonts and media
// aside; ev runs on the event goroutine, the read on its own.
func (p *Page) readBody(ev *network.EventLoadingFinished) {
	l := p.netlog
	l.mu.Lock()
	e, ok := l.entries[ev.RequestID]
	gen := l.generation
	if !ok {
		l.mu.Unlock()
		return
	}
	status, mimeType, method := e.Response.Status, e.Response.Content.MimeType, e.Request.Method
	where := fmt.Sprintf("antwoord op %s %s", method, redact(e.Request.URL))
	switch {
	case method == "HEAD" || method == "OPTIONS" || status == 204 || status == 304 || (status >= 300 && status < 400):
		l.mu.Unlock()
		return
	case unreadType(mimeType):
		l.mu.Unlock()
		return
	case int64(ev.EncodedDataLength) > MaxTrafficBytes:
		l.mu.Unlock()
		p.unread(fmt.Sprintf("%s: niet gelezen, groter dan %d MiB", where, MaxTrafficBytes>>20))
		return
	}
	l.reading++
	l.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(p.tab, 10*time.Second)
		defer cancel()
		res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: ev.RequestID})
		l.mu.Lock()
		defer l.mu.Unlock()
		l.reading--
		if l.generation != gen {
			return
		}
		if err != nil {
			if len(l.traffic.unread) < 100 {
				l.traffic.unread = append(l.traffic.unread, fmt.Sprintf("%s: de browser gaf de inhoud niet (%v)", where, err))
			}
			return
		}
		l.traffic.add(where, res.Body)
	}()
}

// Content reads what the page holds now: the DOM snapshot of every frame,
// the traffic so far (it first waits, at most 10 s, for the page's open
// requests, then for the bodies being read) and the browser context's
// cookies.
func (p *Page) Content() (*Content, error) {
	if err := p.Err(); err != nil {
		return nil, fmt.Errorf("reading the page's content: %w", err)
	}
	if err := p.settle(); err != nil {
		return nil, fmt.Errorf("reading the page's content: %w", err)
	}
	c := &Content{}
	snap, err := chromedp.Call(p.ctx, domsnapshot.CaptureSnapshot, domsnapshot.CaptureSnapshotParams{ComputedStyles: []string{}})
	if err != nil {
		return nil, fmt.Errorf("capturing the DOM: %w", err)
	}
	var dom strings.Builder
	for _, s := range snap.Strings {
		if dom.Len()+len(s) > maxDOMBytes {
			c.Unread = append(c.Unread, fmt.Sprintf("de DOM: meer dan %d MiB tekst, alleen het begin gelezen", maxDOMBytes>>20))
			break
		}
		dom.WriteString(s)
		dom.WriteByte('\n')
	}
	// a template's content is a document fragment of its own, outside the
	// snapshot; read it as markup
	tpl, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](templates))
	if err != nil {
		return nil, fmt.Errorf("reading the page's templates: %w", err)
	}
	if dom.Len()+len(tpl) > maxDOMBytes {
		tpl = tpl[:max(0, maxDOMBytes-dom.Len())]
		c.Unread = append(c.Unread, "de inhoud van de templates: alleen het begin gelezen")
	}
	dom.WriteString(tpl)
	c.DOM = dom.String()
	cookies, err := chromedp.CallBrowser(p.ctx, storage.GetCookies, storage.GetCookiesParams{BrowserContextID: chromedp.FromContext(p.ctx).BrowserContextID})
	if err != nil {
		return nil, fmt.Errorf("reading the page's cookies: %w", err)
	}
	for _, k := range cookies.Cookies {
		c.Cookies = append(c.Cookies, k.Name+"="+k.Value)
	}
	l := p.netlog
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range l.order {
		e, ok := l.entries[id]
		if !ok {
			continue
		}
		c.Traffic = append(c.Traffic, Text{Where: "adres " + redact(e.Request.URL), Text: e.Request.URL})
		var hs strings.Builder
		for _, h := range e.Response.Headers {
			hs.WriteString(h.Name + ": " + h.Value + "\n")
		}
		if hs.Len() > 0 {
			c.Traffic = append(c.Traffic, Text{Where: "kopregels van het antwoord op " + redact(e.Request.URL), Text: hs.String()})
		}
	}
	if l.dropped > 0 {
		c.Unread = append(c.Unread, fmt.Sprintf("%d verzoeken na de eerste %d niet vastgelegd", l.dropped, l.max))
	}
	c.Traffic = append(c.Traffic, l.traffic.texts...)
	c.Unread = append(c.Unread, l.traffic.unread...)
	return c, nil
}

// settle waits, at most 10 s, until no request of the page is open, then
// at most 10 s for the bodies being read; what is still open or unread then
// is named as unread.
func (p *Page) settle() error {
	l := p.netlog
	open, err := p.await(func() int { return len(l.pending) })
	if err != nil {
		return err
	}
	if open > 0 {
		var urls []string
		l.mu.Lock()
		for id := range l.pending {
			if e, ok := l.entries[id]; ok {
				urls = append(urls, redact(e.Request.URL))
			}
		}
		l.mu.Unlock()
		slices.Sort(urls)
		msg := fmt.Sprintf("%d verzoek(en) na 10 s nog zonder antwoord", open)
		if len(urls) > 0 {
			msg += ": " + strings.Join(urls[:min(len(urls), 10)], ", ")
		}
		p.unread(msg)
	}
	reading, err := p.await(func() int { return l.reading })
	if err != nil {
		return err
	}
	if reading > 0 {
		p.unread(fmt.Sprintf("%d antwoord(en) niet binnen 10 s gelezen", reading))
	}
	return nil
}

// settleWait is how long settle waits for open requests, and again for
// bodies being read.
var settleWait = 10 * time.Second

// await polls n (under the netLog's lock) until it is 0 or settleWait has
// passed, and returns its last value.
func (p *Page) await(n func() int) (int, error) {
	deadline := time.Now().Add(settleWait)
	for {
		p.netlog.mu.Lock()
		k := n()
		p.netlog.mu.Unlock()
		if k == 0 || time.Now().After(deadline) {
			return k, nil
		}
		select {
		case <-p.ctx.Done():
			return k, p.ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// templates is the markup of every template's content, nested ones and
// those in open shadow roots included.
const templates = `(() => {
  const out = [];
  const walk = root => {
    for (const t of root.querySelectorAll('template')) { out.push(t.innerHTML); walk(t.content); }
    for (const e of root.querySelectorAll('*')) if (e.shadowRoot) walk(e.shadowRoot);
  };
  walk(document);
  return out.join('\n');
})()`

// webSocket remembers a WebSocket's URL for its messages.
func (p *Page) webSocket(id network.RequestID, raw string) {
	l := p.netlog
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.sockets) < 100 {
		l.sockets[id] = redact(raw)
	}
}

// message keeps a WebSocket frame or EventSource message.
func (p *Page) message(id network.RequestID, kind string, data []byte) {
	l := p.netlog
	l.mu.Lock()
	defer l.mu.Unlock()
	where := kind
	if u, ok := l.sockets[id]; ok {
		where += " van " + u
	} else if e, ok := l.entries[id]; ok {
		where += " van " + redact(e.Request.URL)
	}
	l.traffic.add(where, data)
}

// requestBody keeps what a request sends; a body DevTools left out (too
// long) is named as unread.
func (p *Page) requestBody(ev *network.EventRequestWillBeSent) {
	where := fmt.Sprintf("inhoud van %s %s", ev.Request.Method, redact(ev.Request.URL))
	if len(ev.Request.PostDataEntries) == 0 {
		p.unread(where + ": niet meegegeven door de browser")
		return
	}
	var b []byte
	for _, e := range ev.Request.PostDataEntries {
		if e != nil {
			b = append(b, e.Bytes...)
		}
	}
	p.keepText(where, b)
}
