package wcag

import (
	"sort"
	"strings"
)

// Rules on ARIA use and focusable content (4.1.2, 1.3.1) and on tables'
// headers (1.3.1).

func init() {
	register(Rule{ID: "6cfa84", ACT: true, Name: "Element with aria-hidden has no content in sequential focus navigation", SC: []string{"4.1.2"},
		Interactive: true,
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				if !strings.EqualFold(strings.TrimSpace(n.attr("aria-hidden")), "true") {
					continue
				}
				for _, f := range a.Snap.allFocusableInside(n) {
					// An element that passes focus on at once (a focus
					// sentinel) is never focused by the user.
					if a.focusStays(f) {
						out = append(out, fail(f, "focusable element inside aria-hidden content: reached by Tab, hidden from assistive technology"))
						break
					}
				}
			}
			return out
		}})
	register(Rule{ID: "307n5z", ACT: true, Name: "Element with presentational children has no focusable content", SC: []string{"4.1.2"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				if !presentationalChildren[semanticRole(n)] || n.AX == nil {
					continue
				}
				if f := a.Snap.focusableInside(n, false); f != nil {
					out = append(out, fail(f, "focusable element inside a %s, whose children are presentational", semanticRole(n)))
				}
			}
			return out
		}})
	register(Rule{ID: "674b10", ACT: true, Name: "Role attribute has valid value", SC: []string{"1.3.1", "4.1.2"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				v, ok := n.Attr("role")
				if !ok || strings.TrimSpace(v) == "" || a.Snap.programmaticallyHidden(n) {
					continue
				}
				valid := false
				for _, tok := range lowerFields(v) {
					valid = valid || ariaRoles[tok]
				}
				if !valid {
					out = append(out, fail(n, "role %q names no WAI-ARIA role", v))
				}
			}
			return out
		}})
	register(Rule{ID: "5f99a7", ACT: true, Name: "ARIA attribute is defined in WAI-ARIA", SC: []string{"1.3.1", "4.1.2"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				for _, at := range n.Attrs {
					if strings.HasPrefix(at.Name, "aria-") && !ariaAttributes[at.Name] {
						out = append(out, fail(n, "%s is not a WAI-ARIA attribute", at.Name))
					}
				}
			}
			return out
		}})
	register(Rule{ID: "akn7bn", ACT: true, Name: "Iframe with interactive elements is not excluded from tab-order", SC: []string{"2.1.1"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				if !n.is("iframe") || n.Content < 0 || a.Snap.inert(n) {
					continue
				}
				t, ok := tabindex(n)
				if !ok || t >= 0 {
					continue
				}
				doc := a.Snap.Docs[n.Content]
				if f := a.Snap.focusableInside(a.Snap.Nodes[doc.Root], false); f != nil && a.Snap.visible(f) && f.Box.X < n.Box.W && f.Box.Y < n.Box.H {
					out = append(out, fail(n, "iframe with tabindex=%d holds content reached by Tab only inside it", t))
				}
			}
			return out
		}})
	register(Rule{ID: "a25f45", ACT: true, Name: "Headers attribute specified on a cell refers to cells in the same table element", SC: []string{"1.3.1"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				h, ok := n.Attr("headers")
				if !ok || !n.is("td", "th") {
					continue
				}
				table := a.Snap.closest(n, "table")
				if table == nil || !a.Snap.visible(table) || !a.Snap.included(table) {
					continue
				}
				if r := semanticRole(table); r != "table" && r != "grid" && r != "treegrid" {
					continue
				}
				cells := map[string]bool{}
				a.Snap.descendants(table, func(d *Node) {
					if d.is("td", "th") && a.Snap.closest(d, "table") == table {
						if id, ok := d.Attr("id"); ok {
							cells[id] = true
						}
					}
				})
				own := n.attr("id")
				for _, tok := range strings.Fields(h) {
					switch {
					case tok == own:
						out = append(out, fail(n, "headers refers to the cell itself (%q)", tok))
					case !cells[tok]:
						out = append(out, fail(n, "headers refers to %q, not a cell of this table", tok))
					}
				}
			}
			return out
		}})
	register(Rule{ID: "in6db8", ACT: true, Name: "ARIA required ID references exist", SC: []string{"1.3.1", "4.1.2"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				v, ok := n.Attr("aria-controls")
				if !ok || a.Snap.inSVG(n) {
					continue
				}
				r := semanticRole(n)
				if !(r == "scrollbar" || r == "combobox" && strings.TrimSpace(n.attr("aria-expanded")) == "true") {
					continue
				}
				found := false
				for _, id := range strings.Fields(v) {
					found = found || a.Snap.byID(n, id) != nil
				}
				if !found {
					out = append(out, fail(n, "aria-controls %q names no element of this document", v))
				}
			}
			return out
		}})
}

// semanticRole is the role an element has for assistive technology:
// Chrome's computed role, named as WAI-ARIA names it.
func semanticRole(n *Node) string {
	if tok := firstValidRole(n.attr("role")); tok != "" && !(tok == "none" || tok == "presentation") || presentational(n) {
		return tok
	}
	r := strings.ToLower(role(n))
	switch r {
	case "image":
		return "img"
	case "menulistoption":
		return "option"
	case "menulistpopup":
		return "listbox"
	}
	return r
}

// presentationalChildren are the roles whose children are presentational.
var presentationalChildren = map[string]bool{
	"button": true, "checkbox": true, "img": true, "math": true, "menuitemcheckbox": true, "menuitemradio": true,
	"meter": true, "option": true, "progressbar": true, "radio": true, "scrollbar": true, "separator": true,
	"slider": true, "switch": true, "tab": true,
}

// focusableInside returns a descendant of n (n itself too when inclusive)
// that is part of sequential focus navigation, or nil.
func (s *Snapshot) focusableInside(n *Node, inclusive bool) *Node {
	if inclusive && s.sequentiallyFocusable(n) {
		return n
	}
	var found *Node
	s.descendants(n, func(d *Node) {
		if found == nil && d.Type == elementNode && s.sequentiallyFocusable(d) {
			found = d
		}
	})
	return found
}

// scope identifies n's node tree: the shadow host whose tree it is in, or
// the document (-1).
func (s *Snapshot) scope(n *Node) int {
	if n.Shadow == "" {
		return -1
	}
	for p := s.parent(n); p != nil; p = s.parent(p) {
		if p.Shadow == "" {
			return p.Index
		}
	}
	return -1
}

// blockedByModal: an open modal dialog (shown in the top layer, which
// Chrome's own style sheet positions fixed) that does not contain n.
func (s *Snapshot) blockedByModal(n *Node) bool {
	for _, d := range s.Nodes {
		if d.Doc != n.Doc || !d.is("dialog") || !d.has("open") || d.Style == nil || d.Style["position"] != "fixed" {
			continue
		}
		inside := false
		s.ancestors(n, func(p *Node) bool {
			inside = p == d
			return !inside
		})
		if !inside {
			return true
		}
	}
	return false
}

// allFocusableInside lists n and its descendants in sequential focus
// navigation.
func (s *Snapshot) allFocusableInside(n *Node) []*Node {
	var out []*Node
	if s.sequentiallyFocusable(n) {
		out = append(out, n)
	}
	s.descendants(n, func(d *Node) {
		if d.Type == elementNode && s.sequentiallyFocusable(d) {
			out = append(out, d)
		}
	})
	return out
}

func (s *Snapshot) inert(n *Node) bool {
	if n.AX != nil {
		for _, r := range n.AX.Reasons {
			if r == "activeModalDialog" || r == "inertElement" || r == "inertSubtree" {
				return true
			}
		}
	}
	if s.blockedByModal(n) {
		return true
	}
	for p := n; p != nil; p = s.parentElement(p) {
		if p.has("inert") {
			return true
		}
	}
	return false
}

// visible: rendered, not hidden by style, with a box of some size or
// visible text.
func (s *Snapshot) visible(n *Node) bool {
	if !n.Rendered || s.hiddenByStyle(n) {
		return false
	}
	if n.Style != nil && n.Style["opacity"] == "0" {
		return false
	}
	if n.Box.X+n.Box.W <= 0 || n.Box.Y+n.Box.H <= 0 {
		return false // moved off the page
	}
	return n.Box.W > 0 && n.Box.H > 0 || len(n.textBoxes) > 0
}

// closest returns the nearest ancestor with the tag.
func (s *Snapshot) closest(n *Node, tag string) *Node {
	var found *Node
	s.ancestors(n, func(p *Node) bool {
		if p.is(tag) {
			found = p
		}
		return found == nil
	})
	return found
}

// byID finds an element with the id in n's tree (its document, or the
// shadow tree it is in).
func (s *Snapshot) byID(n *Node, id string) *Node {
	scope := s.scope(n)
	for _, d := range s.Nodes {
		if d.Doc == n.Doc && d.Type == elementNode && d.has("id") && d.attr("id") == id && s.scope(d) == scope {
			return d
		}
	}
	return nil
}

// ariaAttributes are the attributes WAI-ARIA 1.2 (and 1.3 drafts, that
// browsers support) defines, including the deprecated ones.
var ariaAttributes = set(`aria-activedescendant aria-atomic aria-autocomplete aria-braillelabel
aria-brailleroledescription aria-busy aria-checked aria-colcount aria-colindex aria-colindextext aria-colspan
aria-controls aria-current aria-describedby aria-description aria-details aria-disabled aria-dropeffect
aria-errormessage aria-expanded aria-flowto aria-grabbed aria-haspopup aria-hidden aria-invalid aria-keyshortcuts
aria-label aria-labelledby aria-level aria-live aria-modal aria-multiline aria-multiselectable aria-orientation
aria-owns aria-placeholder aria-posinset aria-pressed aria-readonly aria-relevant aria-required
aria-roledescription aria-rowcount aria-rowindex aria-rowindextext aria-rowspan aria-selected aria-setsize
aria-sort aria-valuemax aria-valuemin aria-valuenow aria-valuetext`)

// ariaRoles are the non-abstract roles of WAI-ARIA 1.2, the Graphics and the
// DPUB modules.
var ariaRoles = set(`alert alertdialog application article banner blockquote button caption cell checkbox code
columnheader combobox comment complementary contentinfo definition deletion dialog directory document emphasis
feed figure form generic grid gridcell group heading image img insertion link list listbox listitem log main mark
marquee math menu menubar menuitem menuitemcheckbox menuitemradio meter navigation none note option paragraph
presentation progressbar radio radiogroup region row rowgroup rowheader scrollbar search searchbox separator
slider spinbutton status strong subscript suggestion superscript switch tab table tablist tabpanel term textbox
time timer toolbar tooltip tree treegrid treeitem
graphics-document graphics-object graphics-symbol
doc-abstract doc-acknowledgments doc-afterword doc-appendix doc-backlink doc-biblioentry doc-bibliography
doc-biblioref doc-chapter doc-colophon doc-conclusion doc-cover doc-credit doc-credits doc-dedication doc-endnote
doc-endnotes doc-epigraph doc-epilogue doc-errata doc-example doc-footnote doc-foreword doc-glossary doc-glossref
doc-index doc-introduction doc-noteref doc-notice doc-pagebreak doc-pagefooter doc-pageheader doc-pagelist
doc-part doc-preface doc-prologue doc-pullquote doc-qna doc-subtitle doc-tip doc-toc`)

// firstValidRole returns the first token of a role attribute that is a
// WAI-ARIA role.
func firstValidRole(v string) string {
	for _, tok := range lowerFields(v) {
		if ariaRoles[tok] {
			return tok
		}
	}
	return ""
}

func set(words string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.Fields(words) {
		out[w] = true
	}
	return out
}

func init() {
	register(Rule{ID: "4e8ab6", ACT: true, Name: "Element with role attribute has required states and properties", SC: []string{"1.3.1", "4.1.2"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				r := firstValidRole(n.attr("role"))
				if r == "" || !a.Snap.included(n) || r == implicitRole(n) {
					continue
				}
				need := requiredStates[r]
				if r == "separator" && (n.has("tabindex") || n.AX != nil && n.AX.Focusable) {
					need = []string{"aria-valuenow"}
				}
				for _, attr := range need {
					if strings.TrimSpace(n.attr(attr)) == "" {
						out = append(out, fail(n, "role %s needs %s", r, attr))
					}
				}
			}
			return out
		}})
}

// requiredStates are WAI-ARIA 1.2's required states and properties that have
// no implicit value.
var requiredStates = map[string][]string{
	"checkbox": {"aria-checked"}, "radio": {"aria-checked"}, "switch": {"aria-checked"},
	"menuitemcheckbox": {"aria-checked"}, "menuitemradio": {"aria-checked"},
	"combobox": {"aria-controls", "aria-expanded"}, "heading": {"aria-level"},
	"scrollbar": {"aria-controls", "aria-valuenow"}, "slider": {"aria-valuenow"}, "meter": {"aria-valuenow"},
}

// implicitRole is the role HTML gives an element, for the roles above.
func implicitRole(n *Node) string {
	switch n.Tag {
	case "h1", "h2", "h3", "h4", "h5", "h6":
		return "heading"
	case "hr":
		return "separator"
	case "meter":
		return "meter"
	case "select":
		return "combobox"
	case "input":
		switch strings.ToLower(strings.TrimSpace(n.attr("type"))) {
		case "checkbox":
			return "checkbox"
		case "radio":
			return "radio"
		case "range":
			return "slider"
		}
	}
	return ""
}

func init() {
	register(Rule{ID: "ff89c9", ACT: true, Name: "ARIA required context role", SC: []string{"1.3.1"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				r := firstValidRole(n.attr("role"))
				ctx, ok := requiredContext[r]
				if !ok || !a.Snap.included(n) || r == implicitContextRole(n) {
					continue
				}
				parent := strings.ToLower(n.AX.ParentRole)
				if parent == "image" {
					parent = "img"
				}
				if !ctx[parent] {
					out = append(out, fail(n, "role %s must be owned by %s, not by %q", r, strings.Join(sortedKeys(ctx), " or "), parent))
				}
			}
			return out
		}})
}

// requiredContext are WAI-ARIA 1.2's required context roles.
var requiredContext = map[string]map[string]bool{
	"caption": set("figure grid table treegrid"), "cell": set("row"), "columnheader": set("row"),
	"gridcell": set("row"), "listitem": set("directory list"), "menuitem": set("group menu menubar"),
	"menuitemcheckbox": set("group menu menubar"), "menuitemradio": set("group menu menubar"),
	"option": set("group listbox"), "row": set("grid rowgroup table treegrid"), "rowgroup": set("grid table treegrid"),
	"rowheader": set("row"), "tab": set("tablist"), "treeitem": set("group tree"),
}

// implicitContextRole is the role HTML gives the elements that have a
// required context.
func implicitContextRole(n *Node) string {
	switch n.Tag {
	case "li":
		return "listitem"
	case "tr":
		return "row"
	case "td":
		return "cell"
	case "th":
		return "columnheader"
	case "thead", "tbody", "tfoot":
		return "rowgroup"
	case "option":
		return "option"
	case "caption":
		return "caption"
	}
	return ""
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
