package wcag

import "strings"

// Rules on accessible names (4.1.2 Name, Role, Value; 1.1.1 Non-text
// Content; 2.4.4 Link Purpose): Chrome computes the name, the rules only
// decide which elements must have one.

func init() {
	register(Rule{ID: "97a4e1", ACT: true, Name: "Button has non-empty accessible name", SC: []string{"4.1.2"},
		Check: namedRoles("button has no accessible name", func(a *Audit, n *Node) bool {
			return role(n) == "button" && !(n.is("input") && strings.EqualFold(n.attr("type"), "image"))
		})})
	register(Rule{ID: "c487ae", ACT: true, Name: "Link has non-empty accessible name", SC: []string{"4.1.2", "2.4.4", "1.1.1"},
		Check: namedRoles("link has no accessible name", func(a *Audit, n *Node) bool { return linkRoles[strings.ToLower(role(n))] })})
	register(Rule{ID: "e086e5", ACT: true, Name: "Form field has non-empty accessible name", SC: []string{"4.1.2", "1.3.1"},
		Check: namedRoles("form field has no accessible name", func(a *Audit, n *Node) bool { return formFieldRoles[role(n)] })})
	register(Rule{ID: "m6b1q3", ACT: true, Name: "Menuitem has non-empty accessible name", SC: []string{"4.1.2"},
		Check: namedRoles("menu item has no accessible name", func(a *Audit, n *Node) bool { return role(n) == "menuitem" })})
	register(Rule{ID: "cae760", ACT: true, Name: "Iframe element has non-empty accessible name", SC: []string{"4.1.2"},
		Check: namedRoles("iframe has no accessible name", func(a *Audit, n *Node) bool {
			t, ok := tabindex(n)
			return n.is("iframe") && !(ok && t < 0) && !presentational(n)
		})})
	register(Rule{ID: "2t702h", ACT: true, Name: "Summary element has non-empty accessible name", SC: []string{"4.1.2"},
		Check: namedRoles("summary has no accessible name", func(a *Audit, n *Node) bool {
			if !n.is("summary") {
				return false
			}
			p := a.Snap.parentElement(n)
			if p == nil || !p.is("details") {
				return false
			}
			for _, c := range p.Children { // only the details' first summary summarises it
				if d := a.Snap.Nodes[c]; d.is("summary") {
					return d == n
				}
			}
			return false
		})})
	register(Rule{ID: "59796f", ACT: true, Name: "Image button has non-empty accessible name", SC: []string{"1.1.1", "4.1.2"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				if !n.is("input") || !strings.EqualFold(strings.TrimSpace(n.attr("type")), "image") || !a.Snap.included(n) {
					continue
				}
				switch nm := name(n); nm {
				case "", "Submit", "Submit Query":
					out = append(out, fail(n, "image button has no accessible name of its own (%q)", nm))
				}
			}
			return out
		}})
	register(Rule{ID: "23a2a8", ACT: true, Name: "Image has non-empty accessible name", SC: []string{"1.1.1"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				if a.Snap.inSVG(n) || !(n.is("img") || role(n) == "image" || role(n) == "img") || a.Snap.programmaticallyHidden(n) {
					continue
				}
				if r := role(n); r == "none" || r == "presentation" || presentational(n) || (n.is("img") && n.has("alt") && n.attr("alt") == "" && !conflict(n)) {
					continue
				}
				if name(n) == "" {
					out = append(out, fail(n, "image has no text alternative"))
				}
			}
			return out
		}})
	register(Rule{ID: "7d6734", ACT: true, Name: "SVG element with explicit role has non-empty accessible name", SC: []string{"1.1.1"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				if !a.Snap.inSVG(n) || !a.Snap.included(n) {
					continue
				}
				switch firstToken(n.attr("role")) {
				case "img", "graphics-document", "graphics-symbol":
					if name(n) == "" {
						out = append(out, fail(n, "SVG image has no accessible name"))
					}
				}
			}
			return out
		}})
}

// linkRoles are the roles that inherit from link (WAI-ARIA and DPUB), as
// Chrome may name them.
var linkRoles = map[string]bool{
	"link": true, "doc-backlink": true, "doc-biblioref": true, "doc-glossref": true, "doc-noteref": true,
	"docbacklink": true, "docbiblioref": true, "docglossref": true, "docnoteref": true,
}

// formFieldRoles are the roles of ACT rule e086e5, as Chrome names them.
var formFieldRoles = map[string]bool{
	"checkbox": true, "combobox": true, "listbox": true, "menuitemcheckbox": true, "menuitemradio": true,
	"radio": true, "searchbox": true, "slider": true, "spinbutton": true, "switch": true, "textbox": true,
}

// namedRoles makes a rule: every element included in the accessibility tree
// that applies must have a non-empty accessible name.
func namedRoles(msg string, applies func(a *Audit, n *Node) bool) func(a *Audit) []Result {
	return func(a *Audit) []Result {
		var out []Result
		for _, n := range a.Snap.Elements() {
			if !applies(a, n) || !a.Snap.included(n) {
				continue
			}
			if name(n) == "" {
				out = append(out, fail(n, "%s", msg))
			}
		}
		return out
	}
}

// presentational reports an explicit role of none or presentation that
// holds: the role is ignored on an element that is focusable or carries a
// global ARIA attribute (presentational roles conflict resolution).
func presentational(n *Node) bool {
	r := firstToken(n.attr("role"))
	return (r == "none" || r == "presentation") && !conflict(n)
}

// conflict: focusable, or a global ARIA state or property is set.
func conflict(n *Node) bool {
	if n.has("tabindex") || n.is("button", "input", "select", "textarea") || n.is("a") && n.has("href") {
		return true
	}
	for _, a := range n.Attrs {
		if globalARIA[a.Name] {
			return true
		}
	}
	return false
}

var globalARIA = set(`aria-atomic aria-busy aria-controls aria-current aria-describedby aria-description
aria-details aria-dropeffect aria-flowto aria-grabbed aria-keyshortcuts aria-label aria-labelledby aria-live
aria-owns aria-relevant aria-roledescription`)

func firstToken(v string) string {
	f := lowerFields(v)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// inSVG reports whether n is an svg element or inside one.
func (s *Snapshot) inSVG(n *Node) bool { return n.is("svg") || s.closest(n, "svg") != nil }
