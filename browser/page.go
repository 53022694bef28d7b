package browser

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// Kinds of Finding: how a page misbehaved.
const (
	KindTimeout    = "timeout"    // did not finish loading within its budget
	KindTooLarge   = "too-large"  // loaded more than MaxPageBytes
	KindPopup      = "popup"      // opened a new window
	KindNavigation = "navigation" // tried to load a document from another host
	KindDownload   = "download"   // served a download instead of a page
	KindDialog     = "dialog"     // opened alert/confirm/prompt
	KindLoad       = "load"       // the page could not be loaded at all
)

// Finding is something a page did that a viewer must not do; the bench
// stopped it and reports it.
type Finding struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// ErrAborted is returned for work on a page that the browser stopped because
// it broke its bounds (see the page's Findings).
var ErrAborted = errors.New("page stopped by the bench")

// Page is one tab in its own incognito browser context. Its Context carries
// the page's deadline; use it with chromedp.Run and chromedp.Call.
type Page struct {
	b          *Browser
	ctx        context.Context
	cancel     context.CancelFunc // the deadline
	closeTab   context.CancelFunc
	tab        context.Context // the tab's chromedp context, without deadline
	hardStop   *time.Timer
	start      *url.URL
	also       []string // further origins (scheme://host) documents may come from
	mu         sync.Mutex
	findings   []Finding
	bytes      int64
	aborted    bool
	netlog     *netLog
	targetID   target.ID
	closedOnce sync.Once
	phases     []Phase
}

// Phase is the time one step of work on a page took (for a log, never
// judged).
type Phase struct {
	Name     string
	Duration time.Duration
}

// Phases returns how long opening the page took, step by step: the tab and
// its incognito context, preparing it, loading the address.
func (p *Page) Phases() []Phase {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Phase(nil), p.phases...)
}

// since records a step that began at start.
func (p *Page) since(name string, start time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phases = append(p.phases, Phase{Name: name, Duration: time.Since(start)})
}

// Open loads rawURL in a fresh incognito context and waits for its load
// event, within the page budget. It returns a usable Page also when the page
// misbehaved (see Findings); it returns an error only when nothing could be
// loaded or the browser failed.
func (b *Browser) Open(ctx context.Context, rawURL string) (*Page, error) {
	return b.OpenAllowing(ctx, rawURL, nil)
}

// OpenAllowing is Open for a page that may also load documents from the
// given origins (scheme://host[:port]): a viewer's launch passes through the
// XIS's authorization server and back. Any other host is still blocked and
// reported.
func (b *Browser) OpenAllowing(ctx context.Context, rawURL string, origins []string) (*Page, error) {
	var also []string
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("opening %q: allowed origin %q is not an http(s) URL", rawURL, o)
		}
		also = append(also, u.Scheme+"://"+u.Host)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("opening %q: not an http(s) URL", rawURL)
	}
	tabCtx, closeTab := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	p := &Page{b: b, start: u, also: also, closeTab: closeTab, netlog: newNetLog(b.opts.MaxEntries)}
	// Hard stop: whatever happens, the tab is closed shortly after its budget.
	p.hardStop = time.AfterFunc(b.opts.PageTimeout+5*time.Second, closeTab)
	stop := context.AfterFunc(ctx, closeTab)
	defer stop()
	start := time.Now()
	if err := chromedp.Do(tabCtx); err != nil {
		p.Close()
		return nil, fmt.Errorf("opening a tab: %w", err)
	}
	p.since("tab", start)
	p.targetID = chromedp.FromContext(tabCtx).Target.TargetID
	p.tab = tabCtx
	p.ctx, p.cancel = context.WithTimeout(tabCtx, b.opts.PageTimeout)
	context.AfterFunc(ctx, p.cancel)

	if err := chromedp.Listen(tabCtx, p.onEvent); err != nil {
		p.Close()
		return nil, fmt.Errorf("listening to the tab: %w", err)
	}
	if err := chromedp.ListenBrowser(tabCtx, p.onBrowserEvent); err != nil {
		p.Close()
		return nil, fmt.Errorf("listening to the browser: %w", err)
	}
	setup := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return fmt.Errorf("enabling the network log: %w", err)
		}
		_, err := cdp.Call(ctx, t, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
			{URLPattern: "*", ResourceType: network.ResourceTypeDocument, RequestStage: fetch.RequestStageRequest},
		}})
		if err != nil {
			return fmt.Errorf("guarding navigation: %w", err)
		}
		_, err = chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorDeny, BrowserContextID: chromedp.FromContext(ctx).BrowserContextID,
		})
		if err != nil {
			return fmt.Errorf("denying downloads: %w", err)
		}
		// pages of one browser are checked side by side: each keeps its own
		// focus (keyboard and focus checks), whichever tab is in front
		if _, err := cdp.Call(ctx, t, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
			return fmt.Errorf("keeping the page focused: %w", err)
		}
		return nil
	})
	start = time.Now()
	if err := chromedp.Do(p.ctx, setup); err != nil {
		p.Close()
		return nil, fmt.Errorf("preparing the tab: %w", err)
	}
	p.since("prepare", start)
	start = time.Now()
	if err := p.navigate(rawURL); err != nil {
		p.Close()
		return nil, err
	}
	p.since("load", start)
	return p, nil
}

// navigate loads rawURL and waits for the load event for at most half the page
// budget; a page that does not finish is stopped and keeps a finding.
func (p *Page) navigate(rawURL string) error {
	loadBudget := p.b.opts.PageTimeout / 2
	lctx, cancel := context.WithTimeout(p.ctx, loadBudget)
	defer cancel()
	resp, err := chromedp.Run(lctx, chromedp.NavigateResponse(rawURL))
	switch {
	case p.Aborted():
		return nil
	case err == nil:
		if resp != nil && resp.Status >= 400 {
			p.addFinding(KindLoad, fmt.Sprintf("%s answered HTTP %d", rawURL, resp.Status))
		}
		return nil
	case lctx.Err() != nil:
		p.addFinding(KindTimeout, fmt.Sprintf("did not finish loading within %s", loadBudget))
		if p.ctx.Err() != nil {
			p.abort()
			return nil
		}
		// A page that still runs scripts may not even stop; then it is closed.
		sctx, scancel := context.WithTimeout(p.ctx, 2*time.Second)
		defer scancel()
		if _, err := chromedp.Call(sctx, page.StopLoading, cdp.Empty{}); err != nil {
			p.abort()
		} else if _, err := chromedp.Run(sctx, chromedp.Evaluate[int]("1")); err != nil {
			p.abort()
		}
		return nil
	default:
		if p.hasFinding(KindDownload) || p.hasFinding(KindNavigation) {
			return nil
		}
		return fmt.Errorf("loading %s: %w", rawURL, err)
	}
}

// Goto loads another address in the same tab and incognito context, with a
// fresh page budget, findings and network log. It is for a series of
// unrelated documents that share no state worth isolating (the ACT test
// cases); a check of a candidate's view opens a Page of its own.
func (p *Page) Goto(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("opening %q: not an http(s) URL", rawURL)
	}
	if err := p.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("opening %s: %w", rawURL, err)
	}
	if p.Aborted() {
		return fmt.Errorf("opening %s: %w", rawURL, ErrAborted)
	}
	p.mu.Lock()
	p.start, p.findings, p.bytes = u, nil, 0
	p.mu.Unlock()
	p.netlog.reset()
	p.cancel()
	p.ctx, p.cancel = context.WithTimeout(p.tab, p.b.opts.PageTimeout)
	p.hardStop.Reset(p.b.opts.PageTimeout + 5*time.Second)
	return p.navigate(rawURL)
}

// Context is the page's context: it ends at the page's deadline, when the
// page is stopped, or when it is closed.
func (p *Page) Context() context.Context { return p.ctx }

// URL is the address the page was opened with.
func (p *Page) URL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.start.String()
}

// Findings returns what the page did that it must not do.
func (p *Page) Findings() []Finding {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Finding(nil), p.findings...)
}

// Aborted reports whether the bench stopped the page (too large, hung).
func (p *Page) Aborted() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.aborted
}

// Err returns ErrAborted for a stopped page, the context's error after the
// deadline, and nil for a page that can still be checked.
func (p *Page) Err() error {
	if p.Aborted() {
		return ErrAborted
	}
	return p.ctx.Err()
}

// Close closes the tab and disposes of its browser context.
func (p *Page) Close() {
	p.closedOnce.Do(func() {
		p.hardStop.Stop()
		if p.cancel != nil {
			p.cancel()
		}
		p.closeTab()
	})
}

func (p *Page) abort() {
	p.mu.Lock()
	p.aborted = true
	p.mu.Unlock()
	p.closeTab()
}

func (p *Page) addFinding(kind, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.findings {
		if f.Kind == kind && f.Message == msg {
			return
		}
	}
	if len(p.findings) < 100 {
		p.findings = append(p.findings, Finding{Kind: kind, Message: msg})
	}
}

func (p *Page) hasFinding(kind string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.findings {
		if f.Kind == kind {
			return true
		}
	}
	return false
}

// allowed reports whether a document may be loaded from raw: the page's own
// host (scheme, host and port) and local schemes only.
func (p *Page) allowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "about", "data", "blob":
		return true
	}
	p.mu.Lock()
	start := p.start
	p.mu.Unlock()
	return (u.Scheme == start.Scheme && u.Host == start.Host) || slices.Contains(p.also, u.Scheme+"://"+u.Host)
}

// onEvent runs on the tab's reader goroutine: it must not block or call the
// browser; replies go out from goroutines.
func (p *Page) onEvent(ev any) {
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		p.netlog.request(ev)
		if ev.Request.HasPostData {
			p.requestBody(ev)
		}
	case *network.EventResponseReceived:
		p.netlog.response(ev)
		if ev.Type == network.ResourceTypeDocument && isAttachment(ev.Response) {
			p.addFinding(KindDownload, "served a download: "+redact(ev.Response.URL))
		}
		if n := contentLength(ev.Response); n > p.b.opts.MaxPageBytes {
			p.addFinding(KindTooLarge, fmt.Sprintf("announced %d MiB, more than the %d MiB a page may load", n>>20, p.b.opts.MaxPageBytes>>20))
			go p.abort()
		}
	case *network.EventLoadingFinished:
		p.netlog.finished(ev.RequestID, ev.EncodedDataLength, "")
		p.readBody(ev)
	case *network.EventWebSocketCreated:
		p.webSocket(ev.RequestID, ev.URL)
	case *network.EventWebSocketFrameReceived:
		if ev.Response != nil {
			p.message(ev.RequestID, "ontvangen WebSocket-bericht", ev.Response.PayloadData)
		}
	case *network.EventWebSocketFrameSent:
		if ev.Response != nil {
			p.message(ev.RequestID, "verzonden WebSocket-bericht", ev.Response.PayloadData)
		}
	case *network.EventEventSourceMessageReceived:
		p.message(ev.RequestID, "EventSource-bericht", []byte(ev.Data))
	case *network.EventLoadingFailed:
		p.netlog.finished(ev.RequestID, 0, ev.ErrorText)
	case *network.EventDataReceived:
		p.mu.Lock()
		p.bytes += max(ev.DataLength, int64(ev.EncodedDataLength))
		over := p.bytes > p.b.opts.MaxPageBytes && !p.aborted
		p.mu.Unlock()
		if over {
			p.addFinding(KindTooLarge, fmt.Sprintf("loaded more than %d MiB", p.b.opts.MaxPageBytes>>20))
			go p.abort()
		}
	case *fetch.EventRequestPaused:
		id, raw := ev.RequestID, ev.Request.URL
		ok := p.allowed(raw)
		if !ok {
			p.addFinding(KindNavigation, "tried to load a document from another host: "+redact(raw))
		}
		go func() {
			if ok {
				chromedp.Call(p.tab, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: id})
				return
			}
			chromedp.Call(p.tab, fetch.FailRequest, fetch.FailRequestParams{RequestID: id, ErrorReason: network.ErrorReasonBlockedByClient})
		}()
	case *page.EventJavascriptDialogOpening:
		p.addFinding(KindDialog, fmt.Sprintf("opened a %s dialog", ev.Type))
		go chromedp.Call(p.tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
	case *page.EventWindowOpen:
		p.popup(ev.URL)
	}
}

func (p *Page) onBrowserEvent(ev any) {
	switch ev := ev.(type) {
	case *target.EventTargetCreated:
		if ev.TargetInfo == nil || ev.TargetInfo.OpenerID != p.targetID {
			return
		}
		p.popup(ev.TargetInfo.URL)
		id := ev.TargetInfo.TargetID
		go chromedp.CallBrowser(p.b.ctx, target.CloseTarget, target.CloseTargetParams{TargetID: id})
	case *browser.EventDownloadWillBegin:
		p.addFinding(KindDownload, "started a download: "+redact(ev.URL))
	}
}

// popup records one finding for a new window, whichever event tells first.
func (p *Page) popup(raw string) {
	if p.hasFinding(KindPopup) {
		return
	}
	msg := "opened a new window"
	if raw != "" && raw != "about:blank" {
		msg += ": " + redact(raw)
	}
	p.addFinding(KindPopup, msg)
}

func contentLength(r *network.Response) int64 {
	for k, v := range r.Headers {
		if s, ok := v.(string); ok && strings.EqualFold(k, "Content-Length") {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return 0
}

func isAttachment(r *network.Response) bool {
	for k, v := range r.Headers {
		if strings.EqualFold(k, "Content-Disposition") {
			if s, ok := v.(string); ok && strings.HasPrefix(strings.ToLower(strings.TrimSpace(s)), "attachment") {
				return true
			}
		}
	}
	return false
}

// redact drops user information and query from a URL written into a finding.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	s := u.String()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// maxShotHeight bounds a full-page screenshot (CSS pixels).
const maxShotHeight = 8000

// Screenshot returns a PNG of the whole page (at most 8000 CSS px high), or
// of clip when it is not nil. The PNG is lossless, encoded for speed rather
// than size (about a quarter larger, half the time).
func (p *Page) Screenshot(clip *page.Viewport) ([]byte, error) {
	if err := p.Err(); err != nil {
		return nil, fmt.Errorf("taking a screenshot: %w", err)
	}
	if clip == nil {
		m, err := chromedp.Call(p.ctx, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, fmt.Errorf("measuring the page: %w", err)
		}
		w, h := float64(p.b.opts.Width), float64(p.b.opts.Height)
		if m.CSSContentSize != nil {
			w, h = max(1, m.CSSContentSize.Width), max(1, m.CSSContentSize.Height)
		}
		clip = &page.Viewport{Width: min(w, 4*float64(p.b.opts.Width)), Height: min(h, maxShotHeight), Scale: 1}
	}
	res, err := chromedp.Call(p.ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format: page.CaptureScreenshotFormatPng, Clip: clip, CaptureBeyondViewport: new(true), OptimizeForSpeed: new(true),
	})
	if err != nil {
		return nil, fmt.Errorf("taking a screenshot: %w", err)
	}
	return res.Data, nil
}
