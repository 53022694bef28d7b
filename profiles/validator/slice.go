package validator

import (
	"fmt"
	"strings"

	"github.com/bcbench/bcbench/profiles/outcome"
	"github.com/bcbench/bcbench/profiles/terminology"
)

// slices assigns each item of element c to one of its slices (nil: none),
// and checks slice cardinality, closed and ordered slicing.
// Without slices it returns nil.
func (r *run) slices(c *elem, items []item, path string, res map[string]any) []*elem {
	if len(c.slices) == 0 {
		return nil
	}
	assigned := make([]*elem, len(items))
	counts := make([]int, len(c.slices))
	last := -1
	exclusive := c.byURL
	var byURL *urlSlices
	if exclusive && len(items) > 0 {
		byURL = r.urlSlicesOf(c, items[0].code)
	}
	for i, it := range items {
		var also []string
		found, decided := byURL.slice(it)
		for si, s := range c.slices {
			if decided && si != found {
				continue // found by url: no other slice matches
			}
			if exclusive && assigned[i] != nil {
				break // slices by distinct extension urls cannot overlap
			}
			r.vague = false
			if !decided && !r.matches(it, s, c.slicing, res) {
				continue
			}
			if assigned[i] != nil {
				if strings.HasPrefix(s.sliceName, assigned[i].sliceName+"/") {
					// A reslice of the slice taken: the value is in both,
					// and judged by the reslice, which holds the slice's
					// constraints and its own.
					assigned[i] = s
					counts[si]++
					continue
				}
				if strings.HasPrefix(assigned[i].sliceName, s.sliceName+"/") {
					counts[si]++ // the slice of the reslice taken
					continue
				}
				if !r.vague {
					also = append(also, s.sliceName)
				}
				continue
			}
			assigned[i] = s
			counts[si]++
			if c.slicing != nil && c.slicing.ordered && si < last {
				r.issue(outcome.Error, outcome.CodeStructure, it.path, "%s: slice %s is out of order (ordered slicing in %s)", c.path, s.sliceName, label(c))
			}
			last = si
		}
		if len(also) > 0 {
			// FHIR slicing: each element is in at most one slice. It is
			// judged by the first, and the ambiguity is the instance's.
			r.issue(outcome.Error, outcome.CodeStructure, it.path, "%s: this value matches more than one slice (%s and %s) of %s; it must match exactly one", c.path, assigned[i].sliceName, strings.Join(also, ", "), label(c))
		}
		if assigned[i] == nil {
			if c.slicing != nil && c.slicing.rules == "closed" {
				r.issue(outcome.Error, outcome.CodeStructure, it.path, "%s: this value matches none of the slices (%s), and the slicing in %s is closed", c.path, sliceNames(c), label(c))
			}
			if c.slicing != nil && c.slicing.rules == "openAtEnd" && last >= 0 {
				last = len(c.slices) // later slices may not follow
			}
		}
	}
	for si, s := range c.slices {
		if counts[si] >= s.min && (s.max < 0 || counts[si] <= s.max) {
			continue
		}
		p := path + "." + c.name + ":" + s.sliceName
		if counts[si] < s.min {
			r.issue(outcome.Error, outcome.CodeRequired, p, "%s: slice %s requires at least %d, but found %d (%s)", c.path, s.sliceName, s.min, counts[si], label(s))
		}
		if s.max >= 0 && counts[si] > s.max {
			r.issue(outcome.Error, outcome.CodeStructure, p, "%s: slice %s allows at most %d, but found %d (%s)", c.path, s.sliceName, s.max, counts[si], label(s))
		}
	}
	return assigned
}

// byURL says whether c is sliced by extension url alone, each slice with its
// own url: then no value matches two slices, and the first match settles it.
func byURL(c *elem) bool {
	if c.slicing == nil || len(c.slicing.discriminators) != 1 || c.slicing.discriminators[0].typ != "value" || c.slicing.discriminators[0].path != "url" {
		return false
	}
	seen := map[string]bool{}
	for _, s := range c.slices {
		u, ok := extensionURL(s).(string)
		if !ok || seen[u] {
			return false
		}
		seen[u] = true
	}
	return true
}

func sliceNames(c *elem) string {
	names := make([]string, len(c.slices))
	for i, s := range c.slices {
		names[i] = s.sliceName
	}
	return strings.Join(names, ", ")
}

// matches decides whether an item belongs to slice s.
func (r *run) matches(it item, s *elem, sl *slicing, res map[string]any) bool {
	if sl == nil || len(sl.discriminators) == 0 {
		// No discriminator: the slice is the one the value conforms to.
		return r.trial(func(t *run) { t.value(it, s, res) })
	}
	for _, d := range sl.discriminators {
		if !r.discriminate(it, s, d, res) {
			return false
		}
	}
	return true
}

func (r *run) discriminate(it item, s *elem, d discriminator, res map[string]any) bool {
	segs := d.segs
	nodes := r.walk([]any{it.val}, segs, res)
	target, tcode := r.elemAt(s, segs, it.code)
	switch d.typ {
	case "value", "pattern":
		if target == nil {
			return r.vagueMatch()
		}
		want, isPattern := wanted(s, target, segs)
		if want == nil {
			// The discriminator points at a sliced element (or into one): a
			// value matches when it matches one of the fixed values or
			// patterns the slices along the path give.
			found := false
			for _, sl := range r.candidates(s, segs, it.code) {
				w, pat := sl.fixed, false
				if w == nil {
					w, pat = sl.pattern, true
				}
				if w == nil {
					continue
				}
				found = true
				for _, n := range nodes {
					if pat && matchPattern(n, w) || !pat && equal(n, w) {
						return true
					}
				}
			}
			if found {
				return false
			}
		}
		if want == nil {
			if len(nodes) == 0 {
				return true
			}
			if target.max == 0 {
				return false
			}
			if target.binding != nil && target.binding.strength == "required" {
				return r.inValueSet(nodes, target.binding.valueSet, tcode)
			}
			return r.vagueMatch() // nothing to tell slices apart by
		}
		for _, n := range nodes {
			if isPattern && matchPattern(n, want) || !isPattern && equal(n, want) {
				return true
			}
		}
		return false
	case "exists":
		if target == nil {
			return r.vagueMatch()
		}
		return (len(nodes) > 0) == (target.min > 0)
	case "type":
		if target == nil {
			return r.vagueMatch()
		}
		if last(segs) == "resolve()" {
			// The type of the referenced resource against the target types.
			var want []string
			for _, t := range target.types {
				for _, tp := range t.targets {
					want = append(want, r.typeOf(tp))
				}
			}
			for _, n := range nodes {
				for _, w := range want {
					if str(n.(map[string]any), "resourceType") == w {
						return true
					}
				}
			}
			return false
		}
		if l := last(segs); l != "$this" && l != "" && !strings.Contains(l, "(") {
			// The type of a choice element is in its property name.
			for _, p := range r.walk([]any{it.val}, segs[:len(segs)-1], res) {
				m, _ := p.(map[string]any)
				for k := range m {
					if !strings.HasPrefix(k, l) || len(k) == len(l) {
						continue
					}
					for _, c := range target.typeCodes() {
						if strings.EqualFold(c, k[len(l):]) {
							return true
						}
					}
				}
			}
		}
		for _, n := range nodes {
			t := it.code
			if m, ok := n.(map[string]any); ok && str(m, "resourceType") != "" {
				t = str(m, "resourceType")
			}
			for _, c := range target.typeCodes() {
				if c == t {
					return true
				}
			}
		}
		return len(nodes) == 0 && len(target.types) == 0
	case "profile":
		if target == nil {
			return r.vagueMatch()
		}
		var profiles []string
		for _, t := range target.types {
			if strings.Contains(d.path, "resolve()") {
				profiles = append(profiles, t.targets...)
			} else {
				profiles = append(profiles, t.profiles...)
			}
		}
		if len(profiles) == 0 {
			return r.vagueMatch()
		}
		// An unresolvable reference matches no profile slice.
		for _, n := range nodes {
			m, ok := n.(map[string]any)
			if !ok {
				// A primitive (a string profiled with a fixed value, say):
				// judged as a value of the profile's root.
				for _, p := range profiles {
					if st, err := r.v.comp.structure(p); err == nil && isPrimitive(st.typ) &&
						r.trial(func(t *run) { t.value(item{val: n, code: st.typ, path: it.path}, st.root, res) }) {
						return true
					}
				}
				continue
			}
			for _, p := range profiles {
				st, err := r.v.comp.structure(p)
				if err != nil {
					continue
				}
				if rt := str(m, "resourceType"); rt != "" && st.typ != rt {
					continue // a profile of another resource type
				}
				if r.trial(func(t *run) { t.nest++; t.structure(m, st, it.path, res) }) {
					return true
				}
			}
		}
		return false
	}
	return r.vagueMatch()
}

// wanted is the value (or pattern) a value or pattern discriminator along
// segs requires of slice s, found at target (its element in s); nil when the
// slice gives none there.
func wanted(s, target *elem, segs []string) (want any, isPattern bool) {
	want, isPattern = target.fixed, false
	if want == nil {
		want, isPattern = target.pattern, true
	}
	if want == nil && last(segs) == "url" && len(s.types) > 0 && len(s.types[0].profiles) > 0 && target != s {
		want = s.types[0].profiles[0] // extension slice: its url is the profile's
	}
	if want == nil && target == s && len(segs) == 1 && segs[0] == "url" {
		want = extensionURL(s)
	}
	return want, isPattern
}

// urlSlices finds the slice of an element sliced by extension url alone
// (elem.byURL) by the url of an extension in one lookup, instead of trying
// the slices one by one: for items of type code, first maps each url a
// slice requires to the first slice requiring it. It holds only when
// discriminate decides every slice by comparing the url with a string
// (first is nil otherwise), so that the slice found is the one trying them
// in order finds.
type urlSlices struct {
	code  string
	first map[string]int
}

// urlSlicesOf returns the url lookup of c for items of type code, made on
// first use and kept with c (slow path when nil or for another code).
func (r *run) urlSlicesOf(c *elem, code string) *urlSlices {
	if u := c.urls.Load(); u != nil && u.code == code {
		return u
	}
	u := &urlSlices{code: code, first: make(map[string]int, len(c.slices))}
	d := c.slicing.discriminators[0] // byURL: the one value discriminator on url
	for si, s := range c.slices {
		var w string
		if target, _ := r.elemAt(s, d.segs, code); target != nil {
			want, _ := wanted(s, target, d.segs)
			w, _ = want.(string)
		}
		if w == "" {
			u.first = nil // decided otherwise: the slices are tried in turn
			break
		}
		if _, taken := u.first[w]; !taken {
			u.first[w] = si
		}
	}
	c.urls.Store(u)
	return u
}

// slice returns the index of the slice item it belongs to (-1: none) and
// whether the lookup could decide it: an extension whose url is a string.
// The value and pattern comparisons of discriminate (equal, matchPattern)
// are string equality for a string url against a string.
func (u *urlSlices) slice(it item) (int, bool) {
	if u == nil || u.first == nil || it.code != u.code {
		return 0, false
	}
	m, _ := it.val.(map[string]any)
	url, ok := m["url"].(string)
	if !ok {
		return 0, false
	}
	si, found := u.first[url]
	if !found {
		return -1, true
	}
	return si, true
}

// vagueMatch is a match the discriminator could not tell apart from other
// slices (no value, type or profile to compare): the item is taken by the
// first such slice, and the overlap is not an error of the instance.
func (r *run) vagueMatch() bool {
	r.vague = true
	return true
}

// extensionURL is the url an extension slice requires: its fixed url child
// or its type profile.
func extensionURL(s *elem) any {
	if u := s.byName["url"]; u != nil && u.fixed != nil {
		return u.fixed
	}
	for _, t := range s.types {
		if len(t.profiles) > 0 {
			return t.profiles[0]
		}
	}
	return nil
}

func (r *run) inValueSet(nodes []any, vs, code string) bool {
	for _, n := range nodes {
		var cs []terminology.Coding
		switch x := n.(type) {
		case string:
			cs = append(cs, terminology.Coding{Code: x})
		case map[string]any:
			if _, ok := x["coding"]; ok {
				for _, c := range asList(x["coding"]) {
					cm, _ := c.(map[string]any)
					cs = append(cs, coding(cm))
				}
			} else {
				cs = append(cs, coding(x))
			}
		}
		for _, c := range cs {
			if r.validateCode(vs, c).Outcome == terminology.Member {
				return true
			}
		}
	}
	return false
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// splitPath splits a discriminator path at dots outside parentheses and quotes.
func splitPath(p string) []string {
	var out []string
	depth, quote, start := 0, false, 0
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\'':
			quote = !quote
		case quote:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '.' && depth == 0:
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return append(out, p[start:])
}

// funcArg returns the argument of a segment like extension('url') or ofType(X).
func funcArg(seg, fn string) (string, bool) {
	if !strings.HasPrefix(seg, fn+"(") || !strings.HasSuffix(seg, ")") {
		return "", false
	}
	return strings.Trim(seg[len(fn)+1:len(seg)-1], "'\" "), true
}

// walk evaluates a simple discriminator path on instance values.
func (r *run) walk(nodes []any, segs []string, res map[string]any) []any {
	for _, seg := range segs {
		var next []any
		for _, n := range nodes {
			switch {
			case seg == "$this" || seg == "":
				next = append(next, n)
			case seg == "resolve()":
				if ref, ok := n.(string); ok {
					if t, _ := r.resolve(ref, res); t != nil {
						next = append(next, t)
					}
				}
				if m, ok := n.(map[string]any); ok {
					if ref, _ := m["reference"].(string); ref != "" {
						if t, _ := r.resolve(ref, res); t != nil {
							next = append(next, t)
						}
					}
				}
			default:
				if u, ok := funcArg(seg, "extension"); ok {
					m, _ := n.(map[string]any)
					for _, x := range asList(m["extension"]) {
						if xm, _ := x.(map[string]any); str(xm, "url") == u {
							next = append(next, xm)
						}
					}
					continue
				}
				if t, ok := funcArg(seg, "ofType"); ok {
					if m, ok := n.(map[string]any); ok && str(m, "resourceType") != "" && str(m, "resourceType") != t {
						continue
					}
					next = append(next, n)
					continue
				}
				m, ok := n.(map[string]any)
				if !ok {
					continue
				}
				if v, ok := m[seg]; ok {
					next = append(next, asList(v)...)
					continue
				}
				for k, v := range m { // choice: value → valueQuantity
					if strings.HasPrefix(k, seg) && len(k) > len(seg) && k[len(seg)] >= 'A' && k[len(seg)] <= 'Z' {
						next = append(next, asList(v)...)
					}
				}
			}
		}
		nodes = next
	}
	return nodes
}

// elemAt finds the element definition a discriminator path points to inside
// slice s, following types into their definitions where the snapshot does not
// list children.
func (r *run) elemAt(s *elem, segs []string, code string) (*elem, string) {
	cur := s
	for _, seg := range segs {
		switch {
		case seg == "$this" || seg == "" || seg == "resolve()":
			continue
		case strings.HasPrefix(seg, "ofType("):
			t, _ := funcArg(seg, "ofType")
			code = t
			continue
		}
		if u, ok := funcArg(seg, "extension"); ok {
			h := r.holder(cur, code)
			if h == nil {
				return nil, ""
			}
			ext := h.byName["extension"]
			if ext == nil {
				return nil, ""
			}
			var found *elem
			for _, sl := range ext.slices {
				if fmt.Sprint(extensionURL(sl)) == u {
					found = sl // the last: a reslice says more than its slice
				}
			}
			if found == nil {
				// The extension's own definition.
				st, err := r.v.comp.structure(u)
				if err != nil {
					return nil, ""
				}
				found = st.root
			}
			cur, code = found, "Extension"
			continue
		}
		h := r.holder(cur, code)
		if h == nil {
			return nil, ""
		}
		c, ccode, _ := child(h, seg)
		if c == nil {
			if x, ok := h.byName[seg+"[x]"]; ok {
				c = x
				if len(x.types) == 1 {
					ccode = x.types[0].code
				}
			}
		}
		if c == nil {
			return nil, ""
		}
		cur, code = c, ccode
	}
	return cur, code
}

// candidates lists the element definitions a discriminator path can reach
// inside slice s when every sliced element on the way may be taken through
// any of its slices.
func (r *run) candidates(s *elem, segs []string, code string) []*elem {
	type state struct {
		e    *elem
		code string
	}
	cur := []state{{s, code}}
	for _, seg := range segs {
		if seg == "$this" || seg == "" || seg == "resolve()" || strings.Contains(seg, "(") {
			continue
		}
		var next []state
		for _, st := range cur {
			h := r.holder(st.e, st.code)
			if h == nil {
				continue
			}
			c, ccode, _ := child(h, seg)
			if c == nil {
				if x, ok := h.byName[seg+"[x]"]; ok {
					c = x
					if len(x.types) == 1 {
						ccode = x.types[0].code
					}
				}
			}
			if c == nil {
				continue
			}
			next = append(next, state{c, ccode})
			for _, sl := range c.slices {
				next = append(next, state{sl, ccode})
			}
		}
		cur = next
		if len(cur) > 64 {
			cur = cur[:64]
		}
	}
	out := make([]*elem, len(cur))
	for i, st := range cur {
		out[i] = st.e
	}
	return out
}
