package wcag

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Text contrast (1.4.3). The background is what the page really paints
// behind the text: one screenshot with all text made transparent, sampled
// inside each text node's boxes, so gradients, images and overlapping
// boxes count as they are seen. The highest contrast between the text
// colour (with its alpha and opacity) and any background pixel, or a text
// shadow, must reach 4.5:1 (3:1 for large text).

func init() {
	register(Rule{ID: "afw4f7", ACT: true, Name: "Text has minimum contrast", SC: []string{"1.4.3"}, Interactive: true,
		Check: func(a *Audit) []Result {
			targets := a.contrastTargets()
			if len(targets) == 0 {
				return nil
			}
			bg, err := a.textlessScreenshot()
			if err != nil {
				var out []Result
				for _, t := range targets {
					out = append(out, review(t, "contrast not measured: %v", err))
				}
				return out
			}
			var out []Result
			done := map[int]bool{}
			for _, t := range targets {
				el := a.Snap.parentElement(t)
				fg, ok := parseColor(el.Style["color"])
				if !ok {
					continue
				}
				fg.A *= el.Opacity
				best, seen := 0.0, false
				for _, box := range t.textBoxes {
					if c, ok := maxContrast(bg, box, fg); ok {
						best, seen = math.Max(best, c), true
					}
				}
				if !seen || best < 1.01 {
					continue // not visible, or text in its background's colour
				}
				// A text shadow around the glyphs is what the text is read
				// against, in place of the background behind it.
				if shadows := shadowColors(el.Style["text-shadow"]); len(shadows) > 0 {
					best = 0
					for _, sh := range shadows {
						best = math.Max(best, contrast(blend(fg, sh), sh))
					}
				}
				need := 4.5
				if largeText(el) {
					need = 3
				}
				if best < need && !done[el.Index] {
					done[el.Index] = true
					out = append(out, fail(el, "text contrast %.2f:1 is below %.1f:1 (%s on its background)", best, need, el.Style["color"]))
				}
			}
			return out
		}})
}

// contrastTargets are the visible text nodes of HTML elements, not in a
// disabled widget or group nor the label of a disabled widget, that say
// something (more than one character).
func (a *Audit) contrastTargets() []*Node {
	s := a.Snap
	disabledLabels := map[int]bool{}
	for _, n := range s.Elements() {
		if !s.disabledWidget(n) {
			continue
		}
		if id := n.attr("id"); id != "" {
			for _, l := range s.Elements() {
				if l.is("label") && l.attr("for") == id && l.Doc == n.Doc {
					disabledLabels[l.Index] = true
				}
			}
		}
		if l := s.closest(n, "label"); l != nil {
			disabledLabels[l.Index] = true
		}
		for _, id := range strings.Fields(n.attr("aria-labelledby")) {
			if l := s.byID(n, id); l != nil {
				disabledLabels[l.Index] = true
			}
		}
	}
	var out []*Node
	for _, t := range s.Nodes {
		if t.Type != textNode || len(t.textBoxes) == 0 || len([]rune(strings.TrimSpace(t.Text))) < 2 {
			continue
		}
		el := s.parentElement(t)
		if el == nil || el.Style == nil || s.inSVG(el) || !s.visible(el) || !onPage(t.textBoxes) {
			continue
		}
		excluded := false
		for p := el; p != nil && !excluded; p = s.parentElement(p) {
			excluded = s.disabledWidget(p) || disabledLabels[p.Index]
		}
		if !excluded {
			out = append(out, t)
		}
	}
	return out
}

// disabledWidget: a widget or group that is disabled (natively, by a
// disabled fieldset, or with aria-disabled).
func (s *Snapshot) disabledWidget(n *Node) bool {
	if n.is("button", "input", "select", "textarea", "fieldset", "optgroup", "option") && (n.has("disabled") || s.inDisabledFieldset(n)) {
		return true
	}
	if strings.TrimSpace(n.attr("aria-disabled")) == "true" {
		r := semanticRole(n)
		return widgetRoles[r] || r == "group" || r == "radiogroup" || r == "toolbar"
	}
	return false
}

func onPage(boxes []Rect) bool {
	for _, b := range boxes {
		if b.X+b.W > 0 && b.Y+b.H > 0 && b.W > 0 && b.H > 0 {
			return true
		}
	}
	return false
}

// textlessScreenshot photographs the page with every text, decoration,
// marker and caret transparent: the backgrounds the text is painted on.
func (a *Audit) textlessScreenshot() (image.Image, error) {
	const css = `*, *::before, *::after, *::marker, *::placeholder, *::first-letter, *::first-line {
		color: transparent !important; -webkit-text-fill-color: transparent !important;
		text-shadow: none !important; text-decoration-color: transparent !important; caret-color: transparent !important;
		-webkit-text-stroke-color: transparent !important }`
	add := fmt.Sprintf(`(() => { const s = document.createElement("style"); s.id = "bcbench-textless"; s.textContent = %q;
		document.documentElement.appendChild(s); return true })()`, css)
	if _, err := chromedp.Run(a.Ctx, chromedp.Evaluate[bool](add)); err != nil {
		return nil, fmt.Errorf("hiding the text: %w", err)
	}
	defer chromedp.Run(a.Ctx, chromedp.Evaluate[bool](`(() => { const s = document.getElementById("bcbench-textless"); if (s) s.remove(); return true })()`))
	m, err := chromedp.Call(a.Ctx, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return nil, fmt.Errorf("measuring the page: %w", err)
	}
	w, h := a.Snap.Width, a.Snap.Height
	if m.CSSContentSize != nil {
		w, h = math.Max(w, m.CSSContentSize.Width), math.Max(h, m.CSSContentSize.Height)
	}
	clip := &page.Viewport{Width: math.Min(w, 4096), Height: math.Min(h, 8000), Scale: 1}
	res, err := chromedp.Call(a.Ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format: page.CaptureScreenshotFormatPng, Clip: clip, CaptureBeyondViewport: new(true), OptimizeForSpeed: new(true),
	})
	if err != nil {
		return nil, fmt.Errorf("taking the background screenshot: %w", err)
	}
	img, err := png.Decode(bytes.NewReader(res.Data))
	if err != nil {
		return nil, fmt.Errorf("reading the background screenshot: %w", err)
	}
	return img, nil
}

// rgba is a colour with channels 0..255 and alpha 0..1.
type rgba struct{ R, G, B, A float64 }

// maxContrast samples the background inside box (at most ~4000 pixels) and
// returns the highest contrast the text colour reaches on it.
func maxContrast(img image.Image, box Rect, fg rgba) (float64, bool) {
	b := img.Bounds()
	x0, y0 := max(int(math.Ceil(box.X)), b.Min.X), max(int(math.Ceil(box.Y)), b.Min.Y)
	x1, y1 := min(int(box.X+box.W), b.Max.X), min(int(box.Y+box.H), b.Max.Y)
	if x1 <= x0 || y1 <= y0 {
		return 0, false
	}
	step := max(1, int(math.Sqrt(float64((x1-x0)*(y1-y0))/4000)))
	best := 0.0
	// A background is mostly a few colours: each is measured once.
	measured := map[[3]uint8]bool{}
	for y := y0; y < y1; y += step {
		for x := x0; x < x1; x += step {
			px := pixel(img, x, y)
			if measured[px] {
				continue
			}
			measured[px] = true
			bg := rgba{float64(px[0]), float64(px[1]), float64(px[2]), 1}
			best = math.Max(best, contrast(blend(fg, bg), bg))
		}
	}
	return best, true
}

// pixel is the colour at x, y in 8 bits per channel, as img.At(x, y).RGBA()
// gives it; opaque pixels of Go's PNG decodings are read directly.
func pixel(img image.Image, x, y int) [3]uint8 {
	switch m := img.(type) {
	case *image.RGBA:
		i := m.PixOffset(x, y)
		return [3]uint8{m.Pix[i], m.Pix[i+1], m.Pix[i+2]}
	case *image.NRGBA:
		if i := m.PixOffset(x, y); m.Pix[i+3] == 0xff {
			return [3]uint8{m.Pix[i], m.Pix[i+1], m.Pix[i+2]}
		}
	}
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
}

// blend paints fg with its alpha over an opaque bg.
func blend(fg, bg rgba) rgba {
	a := fg.A
	return rgba{fg.R*a + bg.R*(1-a), fg.G*a + bg.G*(1-a), fg.B*a + bg.B*(1-a), 1}
}

// luminance is the WCAG relative luminance.
func luminance(c rgba) float64 {
	lin := func(v float64) float64 {
		v /= 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// contrast is the WCAG contrast ratio, 1 to 21.
func contrast(a, b rgba) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

var colorFunc = regexp.MustCompile(`rgba?\(([^)]*)\)`)

// parseColor reads Chrome's computed colour: rgb(r, g, b) or rgba(r, g, b, a).
func parseColor(v string) (rgba, bool) {
	m := colorFunc.FindStringSubmatch(v)
	if m == nil {
		return rgba{}, false
	}
	parts := strings.FieldsFunc(m[1], func(r rune) bool { return r == ',' || r == ' ' || r == '/' })
	if len(parts) < 3 {
		return rgba{}, false
	}
	c := rgba{A: 1}
	for i, p := range parts[:min(len(parts), 4)] {
		f, err := strconv.ParseFloat(strings.TrimSuffix(p, "%"), 64)
		if err != nil {
			return rgba{}, false
		}
		switch i {
		case 0:
			c.R = f
		case 1:
			c.G = f
		case 2:
			c.B = f
		case 3:
			c.A = f
		}
	}
	return c, true
}

// shadowColors returns the opaque colours of a computed text-shadow.
func shadowColors(v string) []rgba {
	var out []rgba
	for _, m := range colorFunc.FindAllString(v, -1) {
		if c, ok := parseColor(m); ok && c.A > 0.99 {
			out = append(out, c)
		}
	}
	return out
}

// largeText: at least 24 CSS px, or 18.66 px bold.
func largeText(n *Node) bool {
	size := px(n.Style["font-size"])
	weight, _ := strconv.Atoi(n.Style["font-weight"])
	return size >= 24 || size >= 18.66 && weight >= 700
}
