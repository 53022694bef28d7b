package wcag

import (
	"bytes"
	"fmt"
	"image/png"
	"strings"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Rules that drive the page: keyboard (2.1.1, 2.1.2), focus visible
// (2.4.7), reflow at 320 px (1.4.10), text spacing (1.4.12) and resize
// (1.4.4). Each leaves the page as it found it.

func init() {
	register(Rule{ID: "bcb-keyboard", Name: "Every focusable element is reached with Tab, and Tab never gets stuck", SC: []string{"2.1.1", "2.1.2"},
		Interactive: true, Check: keyboardWalk})
	register(Rule{ID: "oj04fd", ACT: true, Name: "Element in sequential focus order has visible focus", SC: []string{"2.4.7"},
		Interactive: true, Check: focusVisible})
	register(Rule{ID: "bcb-reflow", Name: "Content reflows at 320 CSS px without scrolling sideways", SC: []string{"1.4.10"},
		Interactive: true, Check: func(a *Audit) []Result {
			return a.atViewport(320, 256, 1, "at 320 × 256 CSS px", true)
		}})
	register(Rule{ID: "bcb-resize", Name: "Text resized to 200 % is not clipped", SC: []string{"1.4.4"},
		Interactive: true, Check: func(a *Audit) []Result {
			return a.atViewport(int(max(a.Snap.Width, 640)/2), int(max(a.Snap.Height, 512)/2), 2, "at 200 % zoom", false)
		}})
	register(Rule{ID: "bcb-text-spacing", Name: "Text is not clipped with the WCAG text spacing", SC: []string{"1.4.12"},
		Interactive: true, Check: textSpacing})
	register(Rule{ID: "cf77f2", ACT: true, Name: "Bypass Blocks of Repeated Content", SC: []string{"2.4.1"},
		Check: bypassBlocks})
}

// probeJS describes elements for findings and finds clipped text.
const probeJS = `
const bcbDesc = (e) => {
  let s = e.tagName.toLowerCase();
  if (e.id) s += "#" + e.id;
  const t = (e.innerText || e.getAttribute("aria-label") || "").trim().replace(/\s+/g, " ").slice(0, 40);
  return t ? s + ' "' + t + '"' : s;
};
const bcbActive = () => {
  let e = document.activeElement;
  for (;;) {
    if (e && e.shadowRoot && e.shadowRoot.activeElement) { e = e.shadowRoot.activeElement; continue; }
    if (e && e.tagName === "IFRAME") { try { const d = e.contentDocument; if (d && d.activeElement && d.activeElement !== d.body) { e = d.activeElement; continue; } } catch (x) {} }
    break;
  }
  if (!e || e === document.body || e === document.documentElement) return "";
  if (!e.dataset.bcbFocus) e.dataset.bcbFocus = String(Math.random()).slice(2);
  return e.dataset.bcbFocus + " " + bcbDesc(e);
};
const bcbClipped = () => {
  const out = [];
  for (const e of document.querySelectorAll("body *")) {
    const cs = getComputedStyle(e);
    const hid = (v) => v === "hidden" || v === "clip";
    if (!(hid(cs.overflowX) || hid(cs.overflowY)) || cs.display === "none" || cs.visibility === "hidden") continue;
    let text = false;
    for (const c of e.childNodes) if (c.nodeType === 3 && c.textContent.trim()) text = true;
    if (!text && !e.innerText.trim()) continue;
    if ((hid(cs.overflowY) && e.scrollHeight > e.clientHeight + 1) || (hid(cs.overflowX) && e.scrollWidth > e.clientWidth + 1)) {
      if (e.clientHeight > 0 && e.clientWidth > 0) out.push(bcbDesc(e));
    }
    if (out.length >= 10) break;
  }
  return out;
};
`

// eval runs a probe expression with the helpers above and decodes its result.
func eval[T any](a *Audit, expr string) (T, error) {
	return chromedp.Run(a.Ctx, chromedp.Evaluate[T]("(() => {"+probeJS+"return ("+expr+");})()"))
}

func pageResult(outcome Outcome, element, format string, args ...any) Result {
	return Result{Node: -1, Element: element, Outcome: outcome, Message: fmt.Sprintf(format, args...)}
}

func pressTab(a *Audit, shift bool) error {
	mod := int64(0)
	if shift {
		mod = 8
	}
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		_, err := chromedp.Call(a.Ctx, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: "Tab", Code: "Tab", WindowsVirtualKeyCode: 9, NativeVirtualKeyCode: 9, Modifiers: mod,
		})
		if err != nil {
			return fmt.Errorf("pressing Tab: %w", err)
		}
	}
	return nil
}

// keyboardWalk presses Tab through the page: an element that keeps focus
// for good (or a small cycle that leaves out the rest) is a keyboard trap;
// a focusable element never reached is for a person to review.
func keyboardWalk(a *Audit) []Result {
	var expected []*Node
	for _, n := range a.Snap.Elements() {
		if n.Doc == 0 && a.Snap.sequentiallyFocusable(n) && a.Snap.visible(n) && !a.Snap.inert(n) {
			expected = append(expected, n)
		}
	}
	if len(expected) == 0 || a.Ctx == nil {
		return nil
	}
	steps := min(len(expected)+6, 80)
	var seen []string
	distinct := map[string]string{}
	for range steps {
		if err := pressTab(a, false); err != nil {
			return []Result{pageResult(NeedsReview, "", "keyboard not tested: %v", err)}
		}
		id, err := eval[string](a, "bcbActive()")
		if err != nil {
			return []Result{pageResult(NeedsReview, "", "keyboard not tested: %v", err)}
		}
		seen = append(seen, id)
		key, desc, _ := strings.Cut(id, " ")
		if key != "" {
			distinct[key] = desc
		}
	}
	var out []Result
	// Stuck: the last Tabs never left a set of at most two elements, while
	// more elements take focus.
	tail := map[string]bool{}
	for _, id := range seen[len(seen)-min(len(seen), 5):] {
		tail[id] = true
	}
	if len(expected) > len(tail) && len(tail) <= 2 && len(distinct) < len(expected) {
		for id := range tail {
			if id == "" {
				continue
			}
			// Shift+Tab is the other standard way out.
			pressTab(a, true)
			back, _ := eval[string](a, "bcbActive()")
			if back == id || tail[back] {
				_, desc, _ := strings.Cut(id, " ")
				out = append(out, pageResult(Failed, desc, "keyboard trap: Tab and Shift+Tab keep focus here, %d other focusable elements are never reached", len(expected)-len(distinct)))
			}
			break
		}
	}
	if len(out) == 0 && len(distinct) < len(expected) {
		out = append(out, pageResult(NeedsReview, "", "Tab reached %d of %d focusable elements: is every control reachable by keyboard?", len(distinct), len(expected)))
	}
	eval[bool](a, `(() => { for (const e of document.querySelectorAll("[data-bcb-focus]")) delete e.dataset.bcbFocus; if (document.activeElement) document.activeElement.blur(); return true })()`)
	return out
}

// maxFocusChecks bounds the focus-visible screenshots per page.
const maxFocusChecks = 25

// focusVisible compares each focusable element's surroundings unfocused and
// focused: not one pixel changed means no visible focus indicator.
func focusVisible(a *Audit) []Result {
	if a.Ctx == nil {
		return nil
	}
	var out []Result
	checked := 0
	for _, n := range a.Snap.Elements() {
		if checked >= maxFocusChecks || !a.Snap.sequentiallyFocusable(n) || !a.Snap.visible(n) || n.Doc != 0 || a.Snap.inert(n) {
			continue
		}
		checked++
		const m = 8
		clip := &page.Viewport{X: max(0, n.Box.X-m), Y: max(0, n.Box.Y-m), Width: n.Box.W + 2*m, Height: min(n.Box.H+2*m, 1000), Scale: 1}
		var ok bool
		if err := a.call(n, `function(){ if (document.activeElement) document.activeElement.blur(); return true }`, &ok); err != nil {
			continue
		}
		before, err1 := a.shot(clip)
		if err := a.call(n, `function(){ this.focus({focusVisible: true}); return document.activeElement === this || this.contains(document.activeElement) }`, &ok); err != nil || !ok {
			continue // focus moved elsewhere: not this element's indicator to judge
		}
		after, err2 := a.shot(clip)
		a.call(n, `function(){ this.blur(); return true }`, &ok)
		if err1 != nil || err2 != nil {
			out = append(out, review(n, "focus indicator not measured"))
			continue
		}
		if samePixels(before, after) {
			out = append(out, fail(n, "nothing on screen changes when this element has keyboard focus"))
		}
	}
	return out
}

func (a *Audit) shot(clip *page.Viewport) ([]byte, error) {
	res, err := chromedp.Call(a.Ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format: page.CaptureScreenshotFormatPng, Clip: clip, CaptureBeyondViewport: new(true), OptimizeForSpeed: new(true),
	})
	return res.Data, err
}

func samePixels(p, q []byte) bool {
	if bytes.Equal(p, q) {
		return true
	}
	a, err1 := png.Decode(bytes.NewReader(p))
	b, err2 := png.Decode(bytes.NewReader(q))
	if err1 != nil || err2 != nil || a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

// atViewport lays the page out at w × h CSS px (scale: device pixels per
// CSS px, 2 for 200 % zoom): clipped text fails; a page that scrolls
// sideways fails for reflow (two-dimensional content needs a person).
func (a *Audit) atViewport(w, h int, scale float64, where string, reflow bool) []Result {
	if a.Ctx == nil {
		return nil
	}
	_, err := chromedp.Call(a.Ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: int64(w), Height: int64(h), DeviceScaleFactor: scale,
	})
	if err != nil {
		return []Result{pageResult(NeedsReview, "", "not measured %s: %v", where, err)}
	}
	defer chromedp.Call(a.Ctx, emulation.ClearDeviceMetricsOverride, struct{}{})
	var out []Result
	clipped, err := eval[[]string](a, "bcbClipped()")
	if err != nil {
		return []Result{pageResult(NeedsReview, "", "not measured %s: %v", where, err)}
	}
	for _, c := range clipped {
		out = append(out, pageResult(Failed, c, "text is cut off %s", where))
	}
	if !reflow {
		return out
	}
	type wide struct {
		Desc    string `json:"desc"`
		TwoDim  bool   `json:"twoDim"`
		Overrun int    `json:"overrun"`
	}
	over, err := eval[[]wide](a, `(() => {
  const d = document.documentElement, cw = d.clientWidth;
  if (d.scrollWidth <= cw + 1) return [];
  const twoDim = (e) => !!e.closest("table, pre, img, video, canvas, svg, map, iframe, object, embed, math, [role=grid], [role=toolbar], [role=img]");
  const out = [];
  for (const e of document.querySelectorAll("body *")) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.right <= cw + 1) continue;
    if (e.parentElement && e.parentElement.getBoundingClientRect().right > cw + 1 && e.parentElement !== document.body) continue;
    out.push({desc: bcbDesc(e), twoDim: twoDim(e), overrun: Math.round(r.right - cw)});
    if (out.length >= 5) break;
  }
  return out.length ? out : [{desc: "html", twoDim: false, overrun: d.scrollWidth - cw}];
})()`)
	if err != nil {
		return append(out, pageResult(NeedsReview, "", "reflow not measured: %v", err))
	}
	for _, o := range over {
		if o.TwoDim {
			out = append(out, pageResult(NeedsReview, o.Desc, "scrolls sideways %s by %d px: is this two-dimensional content (table, image, map) that may?", where, o.Overrun))
		} else {
			out = append(out, pageResult(Failed, o.Desc, "the page scrolls sideways %s: this element runs %d px past the edge", where, o.Overrun))
		}
	}
	return out
}

// textSpacing applies the WCAG 1.4.12 spacing to every element; text that
// is then cut off fails.
func textSpacing(a *Audit) []Result {
	if a.Ctx == nil {
		return nil
	}
	clipped, err := eval[[]string](a, `(() => {
  const s = document.createElement("style"); s.id = "bcbench-spacing";
  s.textContent = "* { line-height: 1.5 !important; letter-spacing: 0.12em !important; word-spacing: 0.16em !important } p { margin-bottom: 2em !important }";
  document.documentElement.appendChild(s);
  const out = bcbClipped(); s.remove(); return out;
})()`)
	if err != nil {
		return []Result{pageResult(NeedsReview, "", "text spacing not measured: %v", err)}
	}
	var out []Result
	for _, c := range clipped {
		out = append(out, pageResult(Failed, c, "text is cut off with line height 1.5, letter spacing 0.12em, word spacing 0.16em"))
	}
	return out
}

// bypassBlocks (ACT cf77f2, composite): a way past repeated blocks — a
// main landmark, a heading, a link to a target on the same page, or a
// collapsible block.
func bypassBlocks(a *Audit) []Result {
	s := a.Snap
	r := s.root(0)
	if r == nil || !r.is("html") || s.Docs[0].ContentType != "text/html" {
		return nil
	}
	for _, n := range s.Elements() {
		if n.Doc != 0 || !s.included(n) {
			continue
		}
		switch semanticRole(n) {
		case "main", "heading":
			return nil
		}
		if n.is("details") {
			return nil
		}
		if href, ok := n.Attr("href"); ok && n.is("a") && strings.HasPrefix(href, "#") && len(href) > 1 {
			if s.byID(n, href[1:]) != nil {
				return nil
			}
		}
	}
	// No structure to skip by. Is there a block before the content at all,
	// and could one of its controls collapse it or move past it?
	var before []*Node
	for _, n := range s.Nodes {
		if n.Doc != 0 {
			continue
		}
		if n.Type == textNode && len(strings.TrimSpace(n.Text)) >= 40 && s.visible(s.parentElement(n)) {
			break // the first real content
		}
		if n.Type == elementNode && s.sequentiallyFocusable(n) {
			before = append(before, n)
		}
	}
	if len(before) == 0 {
		return nil // nothing repeated stands before the content
	}
	for _, n := range before {
		if n.has("onclick") || n.is("button") {
			return []Result{review(n, "no landmark, heading or skip link: does this control collapse the repeated block or move focus past it?")}
		}
	}
	return []Result{fail(r, "no way to skip repeated blocks: no main landmark, no heading, no skip link")}
}
