package wcag

import (
	"strconv"
	"strings"
)

// Text spacing (1.4.12): a spacing a user cannot override (!important in a
// style attribute) must already be at least the WCAG amounts.

func init() {
	register(Rule{ID: "24afc2", ACT: true, Name: "Important letter spacing in style attributes is wide enough", SC: []string{"1.4.12"},
		Check: importantSpacing("letter-spacing", 0.12, false)})
	register(Rule{ID: "9e45ec", ACT: true, Name: "Important word spacing in style attributes is wide enough", SC: []string{"1.4.12"},
		Check: importantSpacing("word-spacing", 0.16, false)})
	register(Rule{ID: "78fd32", ACT: true, Name: "Important line height in style attributes is wide enough", SC: []string{"1.4.12"},
		Check: importantSpacing("line-height", 1.5, true)})
}

func importantSpacing(prop string, factor float64, wraps bool) func(a *Audit) []Result {
	return func(a *Audit) []Result {
		var out []Result
		for _, n := range a.Snap.Elements() {
			style, ok := n.Attr("style")
			if !ok || n.Style == nil || a.Snap.inSVG(n) || !importantDecl(style, prop) {
				continue
			}
			if !a.Snap.hasVisibleText(n) {
				continue
			}
			if wraps && !a.Snap.wraps(n) {
				continue
			}
			size := px(n.Style["font-size"])
			got := px(n.Style[prop])
			if prop == "line-height" && n.Style[prop] == "normal" {
				got = 1.2 * size
			}
			if got+0.01 < factor*size {
				out = append(out, fail(n, "%s is %s !important, less than %g × the font size (%s)", prop, n.Style[prop], factor, n.Style["font-size"]))
			}
		}
		return out
	}
}

// importantDecl: the style attribute's winning declaration of prop is
// !important.
func importantDecl(style, prop string) bool {
	important := false
	for _, decl := range strings.Split(style, ";") {
		k, v, ok := strings.Cut(decl, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), prop) {
			continue
		}
		val := strings.ToLower(strings.ReplaceAll(v, " ", ""))
		imp := strings.HasSuffix(val, "!important")
		switch strings.TrimSuffix(val, "!important") {
		case "inherit", "unset", "revert", "revert-layer":
			imp = false // the computed value is the parent's, not important
		}
		if imp || !important {
			important = imp
		}
	}
	return important
}

// hasVisibleText: n has a text node child with visible characters.
func (s *Snapshot) hasVisibleText(n *Node) bool {
	if !s.visible(n) {
		return false
	}
	for _, c := range n.Children {
		d := s.Nodes[c]
		if d.Type == textNode && strings.TrimSpace(d.Text) != "" && len(d.textBoxes) > 0 {
			return true
		}
	}
	return false
}

// wraps: n's text runs over more than one line.
func (s *Snapshot) wraps(n *Node) bool {
	lines := map[int]bool{}
	for _, c := range n.Children {
		for _, b := range s.Nodes[c].textBoxes {
			lines[int(b.Y)] = true
		}
	}
	return len(lines) > 1
}

// px parses a computed length in CSS pixels ("normal" and others: 0).
func px(v string) float64 {
	f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), "px"), 64)
	if err != nil {
		return 0
	}
	return f
}
