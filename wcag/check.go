package wcag

import (
	"context"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/page"

	"github.com/bcbench/bcbench/browser"
)

// PageReport is the outcome of checking one page.
type PageReport struct {
	Page     string    `json:"page"`
	Findings []Finding `json:"findings"`
	// Browser lists what the page did that a viewer must not do (never
	// finished loading, pop-ups, another host, downloads, too large).
	Browser []browser.Finding `json:"browser,omitempty"`
	// Evidence: a PNG of the page, one per failed element (outlined), and
	// the network log. Not in the JSON line; a caller writes them to files.
	Screenshot []byte       `json:"-"`
	Shots      []Shot       `json:"-"`
	HAR        *browser.HAR `json:"-"`
	Rules      int          `json:"rules"`
	// Phases is where the check's time went, in order (screenshot, capture,
	// each rule, shots): for the log, never judged.
	Phases []browser.Phase `json:"-"`
}

// timed runs f and appends its duration to phases under name.
func timed[T any](phases *[]browser.Phase, name string, f func() (T, error)) (T, error) {
	start := time.Now()
	v, err := f()
	*phases = append(*phases, browser.Phase{Name: name, Duration: time.Since(start)})
	return v, err
}

// Shot is a screenshot of one failed element, outlined in red.
type Shot struct {
	Finding int // index into Findings
	PNG     []byte
}

// Failed reports whether the page failed a rule or misbehaved.
func (r *PageReport) Failed() bool { return AnyFailed(r.Findings) || len(r.Browser) > 0 }

// maxShots bounds the failure screenshots of one page.
const maxShots = 20

// Check opens url in a fresh incognito context of b, runs every rule and
// takes the screenshots. An error means the bench could not judge the page
// (not loadable, browser failure); a page that misbehaved is judged, with
// its Browser findings.
func Check(ctx context.Context, b *browser.Browser, url string) (*PageReport, error) {
	p, err := b.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return CheckPage(p)
}

// CheckPage runs every rule on a page that is already open (a viewer's view
// after its launch) and takes the screenshots; the caller closes the page.
func CheckPage(p *browser.Page) (*PageReport, error) {
	url := p.URL()
	rep := &PageReport{Page: url, Findings: []Finding{}, Rules: len(Rules())}
	var err error
	rep.Browser = p.Findings()
	if p.Aborted() {
		rep.HAR = p.HAR()
		return rep, nil
	}
	rep.Screenshot, err = timed(&rep.Phases, "screenshot", func() ([]byte, error) { return p.Screenshot(nil) })
	if err != nil {
		return nil, fmt.Errorf("checking %s: %w", url, err)
	}
	snap, err := timed(&rep.Phases, "capture", func() (*Snapshot, error) { return Capture(p.Context()) })
	if err != nil {
		return nil, fmt.Errorf("checking %s: %w", url, err)
	}
	a := &Audit{Snap: snap, Ctx: p.Context(), phases: &rep.Phases}
	fs, err := a.run(Rules())
	if err != nil {
		return nil, fmt.Errorf("checking %s: %w", url, err)
	}
	rep.Findings = append(rep.Findings, fs...)
	rep.Shots, _ = timed(&rep.Phases, "shots", func() ([]Shot, error) { return a.shots(p, rep.Findings), nil })
	rep.Browser = p.Findings()
	rep.HAR = p.HAR()
	return rep, nil
}

// shots outlines each failed element in turn and photographs it with some
// of its surroundings.
func (a *Audit) shots(p *browser.Page, fs []Finding) []Shot {
	var out []Shot
	done := map[int]bool{}
	for i, f := range fs {
		if f.Outcome != Failed || f.Node < 0 || done[f.Node] || len(out) >= maxShots {
			continue
		}
		done[f.Node] = true
		n := a.Snap.Nodes[f.Node]
		if n.Box.W <= 0 || n.Box.H <= 0 || n.Doc != 0 || n.is("html", "body") {
			continue
		}
		var old string
		if err := a.call(n, `function(){ const o = this.style.outline + "|" + this.style.outlineOffset;
			this.style.outline = "4px solid #d00000"; this.style.outlineOffset = "2px"; return o }`, &old); err != nil {
			continue
		}
		const margin = 40
		clip := &page.Viewport{X: max(0, n.Box.X-margin), Y: max(0, n.Box.Y-margin), Width: n.Box.W + 2*margin, Height: min(n.Box.H+2*margin, 2000), Scale: 1}
		png, err := p.Screenshot(clip)
		a.restoreOutline(n, old)
		if err == nil {
			out = append(out, Shot{Finding: i, PNG: png})
		}
	}
	return out
}

func (a *Audit) restoreOutline(n *Node, old string) {
	var ignored bool
	a.call(n, fmt.Sprintf(`function(){ const [o, off] = %q.split("|"); this.style.outline = o; this.style.outlineOffset = off; return true }`, old), &ignored)
}
