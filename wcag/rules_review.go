package wcag

import (
	"strings"
)

// Our own rules for what automation can only flag: link purpose (2.4.4),
// labels (3.3.2, 2.4.6), focus order (2.4.3), and empty headings (2.4.6),
// which it can decide.

func init() {
	register(Rule{ID: "bcb-link-purpose", Name: "Link text says where the link goes", SC: []string{"2.4.4"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				if !linkRoles[strings.ToLower(role(n))] || !a.Snap.included(n) {
					continue
				}
				if genericLinkText[strings.Trim(strings.ToLower(name(n)), " .:!…>»")] {
					out = append(out, review(n, "link text %q says nothing on its own: does its context tell where it goes?", name(n)))
				}
			}
			return out
		}})
	register(Rule{ID: "bcb-label", Name: "Form fields have a visible label, not only a placeholder or title", SC: []string{"3.3.2"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				if !formFieldRoles[role(n)] || !a.Snap.included(n) || name(n) == "" || a.Snap.labelled(n) {
					continue
				}
				if n.has("placeholder") || n.has("title") {
					out = append(out, review(n, "named only by its placeholder or title %q: is a label visible while typing?", name(n)))
				}
			}
			return out
		}})
	register(Rule{ID: "bcb-heading", Name: "Headings are not empty", SC: []string{"2.4.6", "1.3.1"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				if role(n) != "heading" || !a.Snap.included(n) {
					continue
				}
				if name(n) == "" {
					out = append(out, fail(n, "heading without text"))
				}
			}
			return out
		}})
	register(Rule{ID: "bcb-focus-order", Name: "No positive tabindex", SC: []string{"2.4.3"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				if t, ok := tabindex(n); ok && t > 0 && a.Snap.sequentiallyFocusable(n) {
					out = append(out, review(n, "tabindex=%d changes the focus order: does it still follow the reading order?", t))
				}
			}
			return out
		}})
}

// genericLinkText are link texts that do not say where a link goes, Dutch
// and English.
var genericLinkText = map[string]bool{
	"hier": true, "klik hier": true, "klik": true, "lees meer": true, "meer": true, "meer info": true,
	"meer informatie": true, "details": true, "bekijk": true, "bekijken": true, "link": true, "open": true,
	"here": true, "click here": true, "read more": true, "more": true, "click": true, "view": true,
}

// labelled: the field gets its name from a label element, aria-label or
// aria-labelledby (not from placeholder or title alone).
func (s *Snapshot) labelled(n *Node) bool {
	if strings.TrimSpace(n.attr("aria-label")) != "" || strings.TrimSpace(n.attr("aria-labelledby")) != "" {
		return true
	}
	if s.closest(n, "label") != nil {
		return true
	}
	id := n.attr("id")
	if id == "" {
		return false
	}
	for _, l := range s.Elements() {
		if l.is("label") && l.Doc == n.Doc && l.attr("for") == id {
			return true
		}
	}
	return false
}
