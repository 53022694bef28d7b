package validator

import (
	"regexp"
	"strings"

	"github.com/bcbench/bcbench/profiles/outcome"
)

// narrativeHref finds the targets of a narrative's hyperlinks.
var narrativeHref = regexp.MustCompile(`<(?:[a-zA-Z]+:)?a\s[^>]*?\bhref\s*=\s*["']([^"']*)["']`)

// narrativeAnchor finds the anchors (id and name attributes) of a narrative.
var narrativeAnchor = regexp.MustCompile(`\s(?:id|name)\s*=\s*["']([^"']+)["']`)

// linkSchemes are the URL schemes a reader of a narrative can follow.
var linkSchemes = map[string]bool{"http": true, "https": true, "ftp": true, "mailto": true, "tel": true, "data": true}

// hyperlinks checks the links of a narrative: an absolute link uses a
// scheme a reader can follow (not urn:uuid, say), and a link to "#x"
// resolves to an anchor (an id or name attribute) in a narrative of the
// resource, or to one of its contained resources.
func (r *run) hyperlinks(div, path string) {
	if !strings.Contains(div, "href") {
		return
	}
	for _, m := range narrativeHref.FindAllStringSubmatch(div, -1) {
		href := m[1]
		if frag, ok := strings.CutPrefix(href, "#"); ok {
			if frag != "" && !r.anchors()[frag] {
				r.issue(outcome.Error, outcome.CodeValue, path, "hyperlink %q in the narrative does not resolve: no anchor (id or name) and no contained resource has that name", href)
			}
			continue
		}
		if scheme, _, ok := strings.Cut(href, ":"); ok && isScheme(scheme) && !linkSchemes[strings.ToLower(scheme)] {
			r.issue(outcome.Error, outcome.CodeValue, path, "hyperlink %q in the narrative uses the scheme %q, which a reader cannot follow", clip(href), scheme)
		}
	}
}

// isScheme says whether s is a URL scheme (a letter, then letters, digits, +, - or .).
func isScheme(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// anchors collects, once per validation, the names a local hyperlink may
// point to: the id and name attributes in every narrative of the resource
// validated (its contained and entry resources included), and the ids of
// contained resources.
func (r *run) anchors() map[string]bool {
	if r.anchorSet != nil {
		return *r.anchorSet
	}
	set := map[string]bool{}
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(c, k)
			}
			if cs, ok := x["contained"].([]any); ok {
				for _, c := range cs {
					if cm, ok := c.(map[string]any); ok && str(cm, "id") != "" {
						set[str(cm, "id")] = true
					}
				}
			}
		case []any:
			for _, c := range x {
				walk(c, key)
			}
		case string:
			if key == "div" {
				for _, m := range narrativeAnchor.FindAllStringSubmatch(x, -1) {
					set[m[1]] = true
				}
			}
		}
	}
	walk(r.root, "")
	r.anchorSet = &set
	return set
}
