package wcag

import (
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/text/language"
)

// Page-level rules: title (2.4.2), language (3.1.1, 3.1.2), meta refresh
// (2.2.1) and meta viewport (1.4.4, 1.4.10).

func init() {
	register(Rule{ID: "2779a5", ACT: true, Name: "HTML page has non-empty title", SC: []string{"2.4.2"},
		Check: func(a *Audit) []Result {
			if !a.Snap.isHTMLDoc(0) || a.Snap.Docs[0].ContentType != "text/html" {
				return nil
			}
			if strings.TrimSpace(a.Snap.Docs[0].Title) == "" {
				return []Result{fail(a.Snap.root(0), "the page has no title")}
			}
			// A title exists; whether it describes the page is for a person.
			return []Result{review(a.Snap.root(0), "is the page title %q descriptive of the page?", a.Snap.Docs[0].Title)}
		}})
	register(Rule{ID: "b5c3f8", ACT: true, Name: "HTML page has lang attribute", SC: []string{"3.1.1"},
		Check: func(a *Audit) []Result {
			r := a.Snap.root(0)
			if r == nil || !r.is("html") || a.Snap.Docs[0].ContentType != "text/html" {
				return nil
			}
			if strings.TrimSpace(r.attr("lang")) == "" {
				return []Result{fail(r, "the page has no lang attribute")}
			}
			return nil
		}})
	register(Rule{ID: "bf051a", ACT: true, Name: "HTML page lang attribute has valid language tag", SC: []string{"3.1.1"},
		Check: func(a *Audit) []Result {
			r := a.Snap.root(0)
			if r == nil || !r.is("html") || a.Snap.Docs[0].ContentType != "text/html" || strings.TrimSpace(r.attr("lang")) == "" {
				return nil
			}
			if !knownPrimaryLanguage(r.attr("lang")) {
				return []Result{fail(r, "lang %q has no known primary language subtag", r.attr("lang"))}
			}
			return nil
		}})
	register(Rule{ID: "de46e4", ACT: true, Name: "Element with lang attribute has valid language tag", SC: []string{"3.1.2"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				v, ok := n.Attr("lang")
				if !ok || v == "" || !a.Snap.inBody(n) || a.Snap.inSVG(n) || a.Snap.Docs[n.Doc].ContentType != "text/html" {
					continue
				}
				if !a.Snap.hasInheritingText(n) {
					continue
				}
				if !knownPrimaryLanguage(v) {
					out = append(out, fail(n, "lang %q has no known primary language subtag", v))
				}
			}
			return out
		}})
	register(Rule{ID: "bc659a", ACT: true, Name: "Meta element has no refresh delay", SC: []string{"2.2.1"},
		Check: metaRefresh(func(t float64) bool { return t == 0 || t > 72000 })})
	register(Rule{ID: "bisz58", ACT: true, Name: "Meta element has no refresh delay (no exception)", SC: []string{"2.2.1"},
		Check: metaRefresh(func(t float64) bool { return t == 0 })})
	register(Rule{ID: "b4f0c3", ACT: true, Name: "Meta viewport allows for zoom", SC: []string{"1.4.4", "1.4.10"},
		Check: func(a *Audit) []Result {
			var out []Result
			for _, n := range a.Snap.Elements() {
				if !n.is("meta") || !strings.EqualFold(strings.TrimSpace(n.attr("name")), "viewport") || !n.has("content") {
					continue
				}
				kv := viewportPairs(n.attr("content"))
				if v, ok := kv["user-scalable"]; ok && !userScalable(v) {
					out = append(out, fail(n, "the viewport forbids zooming (user-scalable=%s)", v))
				}
				if v, ok := kv["maximum-scale"]; ok && !maxScaleOK(v) {
					out = append(out, fail(n, "the viewport limits zoom to %s", v))
				}
			}
			return out
		}})
}

// knownPrimaryLanguage: the primary subtag (letters before the first
// hyphen) is a language in the IANA registry, case-insensitively.
func knownPrimaryLanguage(tag string) bool {
	primary := strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(primary, "-_"); i >= 0 {
		primary = primary[:i]
	}
	if len(primary) < 2 || len(primary) > 3 {
		return false // 1 letter: grandfathered/private (i-, x-); 4+: reserved or script
	}
	for _, r := range primary {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	if primary == "und" {
		return true
	}
	// The registry holds a three-letter code only for languages without a
	// two-letter one ("eng" is not in it; "en" is).
	b, err := language.ParseBase(primary)
	return err == nil && b.String() == primary
}

// inBody: n is in the body of its document (flat tree).
func (s *Snapshot) inBody(n *Node) bool { return n.is("body") || s.closest(n, "body") != nil }

// hasInheritingText: some non-blank text that is visible or in the
// accessibility tree takes its language from n (not from a nested lang).
func (s *Snapshot) hasInheritingText(n *Node) bool {
	if n.AX != nil && !n.AX.Ignored && strings.TrimSpace(n.AX.Name) != "" && !s.programmaticallyHidden(n) {
		return true
	}
	for _, c := range n.Children {
		d := s.Nodes[c]
		if d.Doc != n.Doc {
			continue
		}
		switch d.Type {
		case textNode:
			// visible, or included in the accessibility tree
			if strings.TrimSpace(d.Text) != "" && n.Rendered && !s.hiddenByStyle(n) {
				return true
			}
		case elementNode:
			if v, ok := d.Attr("lang"); ok && strings.TrimSpace(v) != "" {
				continue
			}
			if s.hasInheritingText(d) {
				return true
			}
		}
	}
	return false
}

func metaRefresh(ok func(time float64) bool) func(a *Audit) []Result {
	return func(a *Audit) []Result {
		var out []Result
		seen := map[int]bool{}
		for _, n := range a.Snap.Elements() {
			if seen[n.Doc] || !n.is("meta") || !strings.EqualFold(strings.TrimSpace(n.attr("http-equiv")), "refresh") {
				continue
			}
			t, valid := refreshTime(n.attr("content"))
			if !valid {
				continue
			}
			seen[n.Doc] = true // only the first valid refresh counts
			if !ok(t) {
				out = append(out, fail(n, "the page refreshes or redirects after %g seconds", t))
			}
		}
		return out
	}
}

var refreshPrefix = regexp.MustCompile(`^[ \t\n\f\r]*([0-9]+)(\.[0-9.]*)?`)

// refreshTime runs the HTML "shared declarative refresh steps" far enough to
// give the time and whether the content is valid.
func refreshTime(content string) (float64, bool) {
	m := refreshPrefix.FindStringSubmatch(content)
	if m == nil {
		return 0, false
	}
	rest := content[len(m[0]):]
	if rest != "" {
		switch rest[0] {
		case ';', ',', ' ', '\t', '\n', '\f', '\r':
		default:
			return 0, false
		}
	}
	t, err := strconv.ParseFloat(m[1], 64)
	return t, err == nil
}

// viewportPairs parses a viewport content attribute into lower-case keys.
func viewportPairs(content string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.FieldsFunc(content, func(r rune) bool { return r == ',' || r == ';' }) {
		k, v, _ := strings.Cut(part, "=")
		out[strings.ToLower(strings.TrimSpace(k))] = strings.ToLower(strings.TrimSpace(v))
	}
	return out
}

func userScalable(v string) bool {
	switch v {
	case "yes", "device-width", "device-height":
		return true
	case "no":
		return false
	}
	f, err := strconv.ParseFloat(leadingNumber(v), 64)
	if err != nil {
		return false // unknown words count as "no"
	}
	return f <= -1 || f >= 1
}

func maxScaleOK(v string) bool {
	switch v {
	case "device-width", "device-height":
		return true
	}
	f, err := strconv.ParseFloat(leadingNumber(v), 64)
	if err != nil {
		return false
	}
	return f < 0 || f >= 2
}

var numberPrefix = regexp.MustCompile(`^[-+]?[0-9]*\.?[0-9]+`)

func leadingNumber(v string) string { return numberPrefix.FindString(v) }
