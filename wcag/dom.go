package wcag

import (
	"strconv"
	"strings"
)

// Attr returns an attribute's value and whether it is present.
func (n *Node) Attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

func (n *Node) attr(name string) string {
	v, _ := n.Attr(name)
	return v
}

func (n *Node) has(name string) bool {
	_, ok := n.Attr(name)
	return ok
}

// is reports whether n is an element with one of the tag names.
func (n *Node) is(tags ...string) bool {
	if n.Type != elementNode {
		return false
	}
	for _, t := range tags {
		if n.Tag == t {
			return true
		}
	}
	return false
}

// Elements returns every element of every document, in tree order per
// document.
func (s *Snapshot) Elements() []*Node {
	var out []*Node
	for _, n := range s.Nodes {
		if n.Type == elementNode {
			out = append(out, n)
		}
	}
	return out
}

// parent returns n's parent node, or nil.
func (s *Snapshot) parent(n *Node) *Node {
	if n.Parent < 0 {
		return nil
	}
	return s.Nodes[n.Parent]
}

// parentElement returns n's nearest element ancestor within its document.
func (s *Snapshot) parentElement(n *Node) *Node {
	for p := s.parent(n); p != nil; p = s.parent(p) {
		if p.Doc != n.Doc {
			return nil
		}
		if p.Type == elementNode {
			return p
		}
	}
	return nil
}

// ancestors calls f for n's element ancestors within its document, nearest
// first, until f returns false.
func (s *Snapshot) ancestors(n *Node, f func(*Node) bool) {
	for p := s.parentElement(n); p != nil; p = s.parentElement(p) {
		if !f(p) {
			return
		}
	}
}

// descendants calls f for every node below n (same document), depth first.
func (s *Snapshot) descendants(n *Node, f func(*Node)) {
	for _, c := range n.Children {
		d := s.Nodes[c]
		if d.Doc != n.Doc {
			continue
		}
		f(d)
		s.descendants(d, f)
	}
}

// TextContent is the concatenated text of n's text descendants.
func (s *Snapshot) TextContent(n *Node) string {
	if n.Type == textNode {
		return n.Text
	}
	var b strings.Builder
	s.descendants(n, func(d *Node) {
		if d.Type == textNode && !s.inTags(d, "script", "style", "template") {
			b.WriteString(d.Text)
		}
	})
	return b.String()
}

func (s *Snapshot) inTags(n *Node, tags ...string) bool {
	for _, t := range tags {
		if s.closest(n, t) != nil {
			return true
		}
	}
	return false
}

// root returns the document element (html) of document doc.
func (s *Snapshot) root(doc int) *Node {
	for _, c := range s.Nodes[s.Docs[doc].Root].Children {
		if n := s.Nodes[c]; n.Type == elementNode && n.Doc == doc {
			return n
		}
	}
	return nil
}

// isHTMLDoc reports whether the document is an HTML document (its root is
// html), not SVG or another XML vocabulary served on its own.
func (s *Snapshot) isHTMLDoc(doc int) bool {
	r := s.root(doc)
	return r != nil && r.Tag == "html"
}

// hiddenByStyle reports whether n or an ancestor is not rendered or is
// visibility:hidden.
func (s *Snapshot) hiddenByStyle(n *Node) bool {
	if n.Type == elementNode && !n.Rendered && !n.is("area", "map") {
		// display:contents has no box but its children do.
		if !n.is("slot") && n.Style == nil && !s.hasRenderedDescendant(n) {
			return true
		}
	}
	if n.Style != nil && (n.Style["visibility"] == "hidden" || n.Style["visibility"] == "collapse") {
		return true
	}
	return false
}

func (s *Snapshot) hasRenderedDescendant(n *Node) bool {
	found := false
	s.descendants(n, func(d *Node) {
		if d.Rendered {
			found = true
		}
	})
	return found
}

// programmaticallyHidden: hidden from assistive technologies (not rendered,
// visibility hidden, or aria-hidden on it or an ancestor).
func (s *Snapshot) programmaticallyHidden(n *Node) bool {
	if s.hiddenByStyle(n) {
		return true
	}
	if n.AX != nil && n.AX.Hidden {
		return true
	}
	hidden := false
	for p := n; p != nil && !hidden; p = s.parentElement(p) {
		hidden = strings.TrimSpace(p.attr("aria-hidden")) == "true"
	}
	return hidden
}

// included reports whether n is included in the accessibility tree.
func (s *Snapshot) included(n *Node) bool {
	return n.AX != nil && !n.AX.Ignored && !s.programmaticallyHidden(n)
}

// role is Chrome's computed role of n ("" without an AX node).
func role(n *Node) string {
	if n.AX == nil {
		return ""
	}
	return n.AX.Role
}

// name is Chrome's accessible name of n.
func name(n *Node) string {
	if n.AX == nil {
		return ""
	}
	return strings.TrimSpace(n.AX.Name)
}

// tabindex returns the parsed tabindex attribute, and whether it is valid.
func tabindex(n *Node) (int, bool) {
	v, ok := n.Attr("tabindex")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(strings.TrimSpace(v))
	return i, err == nil
}

// nativelyFocusable: elements that take focus without tabindex.
func (s *Snapshot) nativelyFocusable(n *Node) bool {
	switch n.Tag {
	case "a", "area":
		return n.has("href")
	case "button", "select", "textarea", "iframe":
		return true
	case "input":
		return !strings.EqualFold(n.attr("type"), "hidden")
	case "summary":
		p := s.parentElement(n)
		if p == nil || !p.is("details") {
			return false
		}
		for _, c := range p.Children {
			if d := s.Nodes[c]; d.is("summary") {
				return d == n
			}
		}
	case "audio", "video":
		return n.has("controls")
	}
	if v, ok := n.Attr("contenteditable"); ok && !strings.EqualFold(v, "false") {
		return true
	}
	return false
}

// sequentiallyFocusable: reached with Tab (focusable, tabindex not negative,
// rendered, not disabled, not inert).
func (s *Snapshot) sequentiallyFocusable(n *Node) bool {
	if n.Type != elementNode || s.hiddenByStyle(n) || !n.Rendered {
		return false
	}
	if n.is("button", "input", "select", "textarea") && (n.has("disabled") || s.inDisabledFieldset(n)) {
		return false
	}
	inert := false
	for p := n; p != nil && !inert; p = s.parentElement(p) {
		inert = p.has("inert")
	}
	if inert {
		return false
	}
	if t, ok := tabindex(n); ok {
		return t >= 0
	}
	return s.nativelyFocusable(n)
}

func (s *Snapshot) inDisabledFieldset(n *Node) bool {
	found := false
	s.ancestors(n, func(p *Node) bool {
		if p.is("fieldset") && p.has("disabled") {
			// the first legend's content stays enabled
			found = true
		}
		return !found
	})
	return found
}

// lowerFields splits a token list into lower-case tokens.
func lowerFields(v string) []string {
	return strings.Fields(strings.ToLower(v))
}
