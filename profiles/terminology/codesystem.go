package terminology

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// codeSystem is a CodeSystem resource indexed for lookups, hierarchy and
// property filters.
type codeSystem struct {
	url, version, content string
	caseSensitive         bool
	concepts              map[string]*csConcept
	folded                map[string]*csConcept // lower-cased codes, when not case sensitive
	order                 []string              // codes in definition order
	props                 map[string]string     // declared property code -> type
}

// csConcept is one concept of a CodeSystem.
type csConcept struct {
	code, display string
	designations  []string
	parents       []string
	children      []string
	props         map[string][]string // property code -> values as text
	abstract      bool
}

// maxConceptDepth bounds the nesting of CodeSystem.concept.concept.
const maxConceptDepth = 256

func indexCodeSystem(res map[string]any) *codeSystem {
	cs := &codeSystem{
		url:      str(res, "url"),
		version:  str(res, "version"),
		content:  str(res, "content"),
		concepts: map[string]*csConcept{},
		props:    map[string]string{},
	}
	// FHIR: caseSensitive has no default; codes are compared exactly unless
	// the CodeSystem says it is not case sensitive.
	cs.caseSensitive = true
	if b, ok := res["caseSensitive"].(bool); ok {
		cs.caseSensitive = b
	}
	for _, p := range arr(res, "property") {
		if pm, ok := p.(map[string]any); ok {
			cs.props[str(pm, "code")] = str(pm, "type")
		}
	}
	var walk func(list []any, parent string, depth int)
	truncated := false
	walk = func(list []any, parent string, depth int) {
		if depth > maxConceptDepth {
			truncated = true
			return
		}
		for _, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				continue
			}
			code := str(m, "code")
			if code == "" {
				continue
			}
			con := cs.concepts[code]
			if con == nil {
				con = &csConcept{code: code, props: map[string][]string{}}
				cs.concepts[code] = con
				cs.order = append(cs.order, code)
			}
			con.display = str(m, "display")
			for _, d := range arr(m, "designation") {
				if dm, ok := d.(map[string]any); ok {
					if v := str(dm, "value"); v != "" {
						con.designations = append(con.designations, v)
					}
				}
			}
			for _, p := range arr(m, "property") {
				pm, ok := p.(map[string]any)
				if !ok {
					continue
				}
				pc := str(pm, "code")
				v, ok := propertyValue(pm)
				if !ok {
					continue
				}
				con.props[pc] = append(con.props[pc], v)
				switch pc {
				case "parent", "subsumedBy":
					con.parents = append(con.parents, v)
				case "child":
					con.children = append(con.children, v)
				case "notSelectable", "abstract":
					if v == "true" {
						con.abstract = true
					}
				}
			}
			if parent != "" {
				con.parents = append(con.parents, parent)
			}
			walk(arr(m, "concept"), code, depth+1)
		}
	}
	walk(arr(res, "concept"), "", 0)
	if cs.content == "complete" && len(cs.concepts) == 0 {
		// A "complete" CodeSystem without a single concept (R4 core has
		// message-events and v3-policyHolderRole) is not a reason to reject
		// every code.
		cs.content = "declared complete, but without any concept"
	}
	if truncated && cs.content == "complete" {
		// Concepts nested deeper than we read are missing: never call an
		// absent code NotMember on that basis.
		cs.content = "fragment"
	}
	// Make parent and child links symmetric and free of duplicates.
	for _, code := range cs.order {
		con := cs.concepts[code]
		for _, p := range con.parents {
			if pc := cs.concepts[p]; pc != nil {
				pc.children = append(pc.children, code)
			}
		}
		for _, ch := range con.children {
			if cc := cs.concepts[ch]; cc != nil {
				cc.parents = append(cc.parents, code)
			}
		}
	}
	for _, con := range cs.concepts {
		con.parents = dedupe(con.parents)
		con.children = dedupe(con.children)
	}
	if !cs.caseSensitive {
		cs.folded = make(map[string]*csConcept, len(cs.concepts))
		for code, con := range cs.concepts {
			cs.folded[strings.ToLower(code)] = con
		}
	}
	return cs
}

// propertyValue returns a concept property's value as text.
func propertyValue(pm map[string]any) (string, bool) {
	for k, v := range pm {
		if !strings.HasPrefix(k, "value") {
			continue
		}
		switch x := v.(type) {
		case string:
			return x, true
		case bool:
			return strconv.FormatBool(x), true
		case json.Number:
			return x.String(), true
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), true
		case map[string]any: // valueCoding
			return str(x, "code"), true
		}
	}
	return "", false
}

func dedupe(in []string) []string {
	if len(in) < 2 {
		return in
	}
	seen := make(map[string]bool, len(in))
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// complete reports whether the CodeSystem defines all its codes.
func (cs *codeSystem) complete() bool { return cs.content == "complete" }

// hasContent reports whether the CodeSystem carries any concepts we may use
// (complete, fragment or example content).
func (cs *codeSystem) hasContent() bool {
	switch cs.content {
	case "complete", "fragment", "example":
		return true
	}
	return false
}

func (cs *codeSystem) name() string {
	if cs.version != "" {
		return cs.url + " (version " + cs.version + ")"
	}
	return cs.url
}

func (cs *codeSystem) concept(code string) *csConcept {
	if c := cs.concepts[code]; c != nil {
		return c
	}
	if cs.folded != nil {
		return cs.folded[strings.ToLower(code)]
	}
	return nil
}

func (c *csConcept) displays() []string {
	out := make([]string, 0, 1+len(c.designations))
	if c.display != "" {
		out = append(out, c.display)
	}
	return append(out, c.designations...)
}

// lookup checks that a code exists in the CodeSystem.
func (cs *codeSystem) lookup(c Coding) Result {
	con := cs.concept(c.Code)
	switch {
	case con != nil:
		r := Result{Outcome: Member}
		r.DisplayWarning = displayWarning(c, con.displays())
		return r
	case cs.complete():
		return Result{Outcome: NotMember, Message: fmt.Sprintf("unknown code %q in code system %s", c.Code, cs.name())}
	case cs.hasContent():
		return Result{Outcome: Unknown, Message: fmt.Sprintf("code %q is not in code system %s, which the packages hold only as %s; it could not be checked", c.Code, cs.name(), partialContent(cs.content))}
	default:
		return Result{Outcome: Unknown, Message: fmt.Sprintf("code system %s is in the packages without its codes (content %s); code %q could not be checked", cs.name(), contentName(cs.content), c.Code)}
	}
}

// partialContent names fragment / example content for messages.
func partialContent(c string) string {
	if c == "example" {
		return "an example"
	}
	return "a " + c
}

func contentName(c string) string {
	if c == "" {
		return "not stated"
	}
	return c
}

// displayWarning returns a warning when c has a display that none of the known
// displays match (case and white space ignored).
func displayWarning(c Coding, known []string) string {
	if c.Display == "" || len(known) == 0 || displayMatches(c.Display, known) {
		return ""
	}
	return fmt.Sprintf("display %q for %s#%s is not a known display of the code; expected %q", c.Display, c.System, c.Code, known[0])
}

// descendants returns the codes below code (not code itself).
func (cs *codeSystem) descendants(code string) []string {
	var out []string
	seen := map[string]bool{code: true}
	queue := []string{code}
	for len(queue) > 0 {
		cur := cs.concepts[queue[0]]
		queue = queue[1:]
		if cur == nil {
			continue
		}
		for _, ch := range cur.children {
			if !seen[ch] {
				seen[ch] = true
				out = append(out, ch)
				queue = append(queue, ch)
			}
		}
	}
	return out
}

// ancestors returns the codes above code (not code itself).
func (cs *codeSystem) ancestors(code string) []string {
	var out []string
	seen := map[string]bool{code: true}
	queue := []string{code}
	for len(queue) > 0 {
		cur := cs.concepts[queue[0]]
		queue = queue[1:]
		if cur == nil {
			continue
		}
		for _, p := range cur.parents {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
				queue = append(queue, p)
			}
		}
	}
	return out
}

// filter describes one compose.include.filter.
type filter struct{ property, op, value string }

func (f filter) String() string {
	return fmt.Sprintf("%s %s %s", f.property, f.op, f.value)
}

// apply evaluates a filter over the CodeSystem's concepts. It returns the
// matching codes, or an error that says why the filter cannot be evaluated.
func (cs *codeSystem) apply(f filter) (map[string]bool, error) {
	out := map[string]bool{}
	all := func(keep func(*csConcept) bool) {
		for _, code := range cs.order {
			if keep(cs.concepts[code]) {
				out[code] = true
			}
		}
	}
	need := func() (*csConcept, error) {
		con := cs.concept(f.value)
		if con == nil {
			return nil, fmt.Errorf("filter %q: code %q is not defined in code system %s", f, f.value, cs.name())
		}
		return con, nil
	}
	list := func() []string {
		var out []string
		for _, v := range strings.Split(f.value, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	prop := f.property
	switch {
	case prop == "concept" || prop == "code":
		switch f.op {
		case "is-a", "descendent-of", "is-not-a", "generalizes", "child-of", "descendent-leaf":
			con, err := need()
			if err != nil {
				return nil, err
			}
			code := con.code
			switch f.op {
			case "is-a":
				out[code] = true
				for _, d := range cs.descendants(code) {
					out[d] = true
				}
			case "descendent-of":
				for _, d := range cs.descendants(code) {
					out[d] = true
				}
			case "is-not-a":
				under := map[string]bool{code: true}
				for _, d := range cs.descendants(code) {
					under[d] = true
				}
				all(func(c *csConcept) bool { return !under[c.code] })
			case "generalizes":
				out[code] = true
				for _, a := range cs.ancestors(code) {
					out[a] = true
				}
			case "child-of":
				for _, ch := range con.children {
					out[ch] = true
				}
			case "descendent-leaf":
				for _, d := range cs.descendants(code) {
					if c := cs.concepts[d]; c != nil && len(c.children) == 0 {
						out[d] = true
					}
				}
			}
		case "=":
			if con := cs.concept(f.value); con != nil {
				out[con.code] = true
			}
		case "in":
			for _, v := range list() {
				if con := cs.concept(v); con != nil {
					out[con.code] = true
				}
			}
		case "not-in":
			ex := map[string]bool{}
			for _, v := range list() {
				ex[v] = true
			}
			all(func(c *csConcept) bool { return !ex[c.code] })
		case "regex":
			re, err := fullRegexp(f.value)
			if err != nil {
				return nil, fmt.Errorf("filter %q on %s: %w", f, cs.name(), err)
			}
			all(func(c *csConcept) bool { return re.MatchString(c.code) })
		case "exists":
			if f.value == "true" {
				all(func(*csConcept) bool { return true })
			}
		default:
			return nil, fmt.Errorf("filter %q on %s: operator %q is not supported", f, cs.name(), f.op)
		}
		return out, nil
	case prop == "parent" || prop == "child":
		if f.op != "=" && f.op != "in" {
			return nil, fmt.Errorf("filter %q on %s: operator %q is not supported for property %s", f, cs.name(), f.op, prop)
		}
		for _, v := range list() {
			con := cs.concept(v)
			if con == nil {
				continue
			}
			rel := con.children // parent = v: the concepts whose parent is v
			if prop == "child" {
				rel = con.parents
			}
			for _, r := range rel {
				out[r] = true
			}
		}
		return out, nil
	}
	values := func(c *csConcept) []string {
		switch prop {
		case "display":
			return []string{c.display}
		case "notSelectable", "abstract":
			if len(c.props[prop]) == 0 {
				return []string{strconv.FormatBool(c.abstract)}
			}
		}
		return c.props[prop]
	}
	if _, declared := cs.props[prop]; !declared && prop != "display" && !cs.anyConceptHas(prop) {
		return nil, fmt.Errorf("filter %q: property %q is not defined by code system %s", f, prop, cs.name())
	}
	switch f.op {
	case "=":
		all(func(c *csConcept) bool { return contains(values(c), f.value) })
	case "in", "not-in":
		set := map[string]bool{}
		for _, v := range list() {
			set[v] = true
		}
		all(func(c *csConcept) bool {
			hit := false
			for _, v := range values(c) {
				if set[v] {
					hit = true
				}
			}
			return hit == (f.op == "in")
		})
	case "regex":
		re, err := fullRegexp(f.value)
		if err != nil {
			return nil, fmt.Errorf("filter %q on %s: %w", f, cs.name(), err)
		}
		all(func(c *csConcept) bool {
			for _, v := range values(c) {
				if re.MatchString(v) {
					return true
				}
			}
			return false
		})
	case "exists":
		want := f.value == "true"
		all(func(c *csConcept) bool { return (len(values(c)) > 0) == want })
	default:
		return nil, fmt.Errorf("filter %q on %s: operator %q is not supported for property %s", f, cs.name(), f.op, prop)
	}
	return out, nil
}

func (cs *codeSystem) anyConceptHas(prop string) bool {
	for _, c := range cs.concepts {
		if len(c.props[prop]) > 0 {
			return true
		}
	}
	return false
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// fullRegexp compiles a filter regex so that it must match the whole value.
func fullRegexp(expr string) (*regexp.Regexp, error) {
	if len(expr) > 4096 {
		return nil, fmt.Errorf("regex longer than 4096 characters")
	}
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return nil, fmt.Errorf("regex %q cannot be evaluated here: %w", expr, err)
	}
	return re, nil
}
