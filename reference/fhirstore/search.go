package fhirstore

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/bcbench/bcbench/profiles/fhirpath"
)

// Result parameters the server understands besides the search parameters.
var resultParams = map[string]bool{"_count": true, "_format": true, "_sort": true, "_summary": true, "_elements": true, "_total": true}

// search answers a type-level search with a searchset Bundle.
func (s *Server) search(w http.ResponseWriter, r *http.Request, typ string, q url.Values, patient string) {
	var includes, iterates []string
	type filter struct {
		name, modifier string
		values         []string
	}
	var filters []filter
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, v := range q[name] {
			switch {
			case name == "_include":
				includes = append(includes, v)
			case name == "_include:iterate" || name == "_include:recurse":
				iterates = append(iterates, v)
			case resultParams[name]:
			case name == "_revinclude" || strings.HasPrefix(name, "_revinclude:"):
				writeOutcome(w, http.StatusBadRequest, "not-supported", "_revinclude is not supported")
				return
			default:
				base, mod, _ := strings.Cut(name, ":")
				if typ, chain, ok := strings.Cut(mod, "."); ok { // context:Encounter.episodeofcare
					base, mod = base+"."+chain, typ
				}
				filters = append(filters, filter{name: base, modifier: mod, values: strings.Split(v, ",")})
			}
		}
	}
	s.mu.RLock()
	candidates := make([]map[string]any, 0, len(s.store[typ]))
	for _, res := range s.store[typ] {
		candidates = append(candidates, res)
	}
	s.mu.RUnlock()
	sort.Slice(candidates, func(i, j int) bool { return str(candidates[i], "id") < str(candidates[j], "id") })
	var matches []map[string]any
	for _, res := range candidates {
		if !s.visible(res, patient) {
			continue
		}
		ok := true
		for _, f := range filters {
			m, err := s.matches(res, typ, f.name, f.modifier, f.values, 0)
			if err != nil {
				writeOutcome(w, http.StatusBadRequest, "not-supported", err.Error())
				return
			}
			if !m {
				ok = false
				break
			}
		}
		if ok {
			matches = append(matches, res)
		}
	}
	included, err := s.include(matches, includes, iterates)
	if err != nil {
		writeOutcome(w, http.StatusBadRequest, "not-supported", err.Error())
		return
	}
	base := s.baseURL(r)
	entries := make([]any, 0, len(matches)+len(included))
	for _, res := range matches {
		entries = append(entries, entry(base, res, "match"))
	}
	for _, res := range included {
		entries = append(entries, entry(base, res, "include"))
	}
	self := base + strings.TrimPrefix(r.URL.Path, s.opts.Prefix)
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	bundle := map[string]any{
		"resourceType": "Bundle",
		"id":           fmt.Sprintf("search-%d", time.Now().UnixNano()),
		"meta":         map[string]any{"lastUpdated": time.Now().UTC().Format(time.RFC3339)},
		"type":         "searchset",
		"total":        len(matches),
		"link":         []any{map[string]any{"relation": "self", "url": self}},
	}
	if len(entries) > 0 {
		bundle["entry"] = entries
	}
	writeJSON(w, http.StatusOK, bundle)
}

func entry(base string, res map[string]any, mode string) map[string]any {
	return map[string]any{
		"fullUrl":  base + "/" + str(res, "resourceType") + "/" + str(res, "id"),
		"resource": res,
		"search":   map[string]any{"mode": mode},
	}
}

// baseURL is the server's base as the client reached it, with the path
// the server is mounted under.
func (s *Server) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.opts.Prefix
}

// param finds the search parameter of a resource type.
func (s *Server) param(typ, code string) (searchParam, bool) {
	for _, t := range []string{typ, "DomainResource", "Resource"} {
		if p, ok := s.params[t][code]; ok {
			return p, true
		}
	}
	return searchParam{}, false
}

// matches reports whether res matches one search parameter with any of
// values (comma-separated values are alternatives).
func (s *Server) matches(res map[string]any, typ, name, modifier string, values []string, depth int) (bool, error) {
	if depth > 3 {
		return false, fmt.Errorf("search %s: chain too long", name)
	}
	code, chain, chained := strings.Cut(name, ".")
	if code == "_id" && !chained {
		for _, v := range values {
			if v == str(res, "id") {
				return true, nil
			}
		}
		return false, nil
	}
	p, ok := s.param(typ, code)
	if !ok {
		return false, fmt.Errorf("search parameter %q is not known for %s", code, typ)
	}
	if code == "period-of-use" {
		return periodOfUse(res, values)
	}
	if p.expression == "" {
		return false, fmt.Errorf("search parameter %q of %s has no expression", code, typ)
	}
	nodes, err := s.eval(p.expression, res)
	if err != nil {
		return false, fmt.Errorf("search parameter %q: %w", code, err)
	}
	if chained {
		if p.typ != "reference" {
			return false, fmt.Errorf("search parameter %q is no reference and cannot be chained", code)
		}
		for _, n := range nodes {
			target, ok := s.resolve(refOf(n), modifier)
			if !ok {
				continue
			}
			if m, err := s.matches(target, str(target, "resourceType"), chain, "", values, depth+1); err != nil || m {
				return m, err
			}
		}
		return false, nil
	}
	for _, v := range values {
		for _, n := range nodes {
			if matchValue(p.typ, modifier, n, v) {
				return true, nil
			}
		}
	}
	return false, nil
}

func (s *Server) eval(expr string, res map[string]any) (fhirpath.Collection, error) {
	var e *fhirpath.Expression
	if c, ok := s.exprs.Load(expr); ok {
		e = c.(*fhirpath.Expression)
	} else {
		var err error
		if e, err = fhirpath.Compile(expr); err != nil {
			return nil, err
		}
		s.exprs.Store(expr, e)
	}
	env := &fhirpath.Env{Resolve: s.resolveAny}
	if s.opts.Model != nil {
		env.Types = s.opts.Model
	}
	return e.Evaluate(res, env)
}

// resolveAny is resolve() in search parameter expressions: the stored
// resource, or for a Type/id reference to nothing stored a stub of that
// type (search parameters such as "subject.where(resolve() is Patient)"
// ask only the type).
func (s *Server) resolveAny(ref string, _ any) (any, bool) {
	if res, ok := s.resolve(ref, ""); ok {
		return res, true
	}
	parts := strings.Split(strings.TrimRight(ref, "/"), "/")
	if len(parts) >= 2 && parts[len(parts)-2] != "" && parts[len(parts)-2][0] >= 'A' && parts[len(parts)-2][0] <= 'Z' {
		return map[string]any{"resourceType": parts[len(parts)-2], "id": parts[len(parts)-1]}, true
	}
	return nil, false
}

// refOf returns the reference text of a Reference element (or a string).
func refOf(v fhirpath.Value) string {
	if e, ok := v.(*fhirpath.Element); ok {
		switch d := e.Data().(type) {
		case map[string]any:
			return str(d, "reference")
		case string:
			return d
		}
	}
	return ""
}

// resolve finds the resource a reference points to; wantType, when set,
// restricts its type.
func (s *Server) resolve(ref, wantType string) (map[string]any, bool) {
	if ref == "" {
		return nil, false
	}
	parts := strings.Split(strings.TrimRight(ref, "/"), "/")
	if len(parts) < 2 {
		return nil, false
	}
	typ, id := parts[len(parts)-2], parts[len(parts)-1]
	if typ == "_history" && len(parts) >= 4 {
		typ, id = parts[len(parts)-4], parts[len(parts)-3]
	}
	if wantType != "" && typ != wantType {
		return nil, false
	}
	return s.get(typ, id)
}

// include adds the resources _include and _include:iterate name.
func (s *Server) include(matches []map[string]any, includes, iterates []string) ([]map[string]any, error) {
	seen := map[string]bool{}
	for _, m := range matches {
		seen[key(m)] = true
	}
	var out []map[string]any
	apply := func(from []map[string]any, specs []string) ([]map[string]any, error) {
		var added []map[string]any
		for _, spec := range specs {
			parts := strings.Split(spec, ":")
			if len(parts) < 2 {
				return nil, fmt.Errorf("_include %q is not Type:parameter[:target]", spec)
			}
			srcType, code, target := parts[0], parts[1], ""
			if len(parts) > 2 {
				target = parts[2]
			}
			p, ok := s.param(srcType, code)
			if !ok || p.typ != "reference" {
				return nil, fmt.Errorf("_include %q: %s has no reference parameter %q", spec, srcType, code)
			}
			for _, res := range from {
				if str(res, "resourceType") != srcType {
					continue
				}
				nodes, err := s.eval(p.expression, res)
				if err != nil {
					return nil, fmt.Errorf("_include %q: %w", spec, err)
				}
				for _, n := range nodes {
					t, ok := s.resolve(refOf(n), target)
					if !ok || seen[key(t)] {
						continue
					}
					seen[key(t)] = true
					added = append(added, t)
				}
			}
		}
		return added, nil
	}
	first, err := apply(matches, includes)
	if err != nil {
		return nil, err
	}
	out = append(out, first...)
	if len(iterates) > 0 {
		frontier := append(append([]map[string]any{}, matches...), first...)
		for round := 0; round < maxIterate && len(frontier) > 0; round++ {
			more, err := apply(frontier, append(append([]string{}, includes...), iterates...))
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
			frontier = more
		}
	}
	return out, nil
}

func key(res map[string]any) string { return str(res, "resourceType") + "/" + str(res, "id") }

// matchValue compares one element with one search value.
func matchValue(typ, modifier string, v fhirpath.Value, want string) bool {
	e, ok := v.(*fhirpath.Element)
	if !ok {
		return false
	}
	switch typ {
	case "token":
		return matchToken(e.Data(), modifier, want)
	case "reference":
		ref := refOf(v)
		if ref == "" {
			return false
		}
		if modifier != "" && modifier != "missing" && !strings.Contains(want, "/") {
			want = modifier + "/" + want
		}
		return ref == want || strings.HasSuffix(ref, "/"+want) || (!strings.Contains(want, "/") && strings.HasSuffix(ref, "/"+want))
	case "string":
		text := strings.ToLower(flatText(e.Data()))
		w := strings.ToLower(want)
		if modifier == "exact" {
			return flatText(e.Data()) == want
		}
		if modifier == "contains" {
			return strings.Contains(text, w)
		}
		for _, part := range strings.Split(text, "\x00") {
			if strings.HasPrefix(part, w) {
				return true
			}
		}
		return false
	case "date":
		lo, hi, ok := rangeOf(e.Data())
		return ok && compareDate(lo, hi, want)
	case "uri":
		s, _ := e.Data().(string)
		return s == want
	case "number", "quantity":
		return strings.Contains(flatText(e.Data()), want)
	}
	return false
}

// matchToken matches system|code against a Coding, CodeableConcept,
// Identifier, ContactPoint or a code.
func matchToken(node any, modifier, want string) bool {
	system, code, hasSystem := strings.Cut(want, "|")
	if !hasSystem {
		code, system = want, ""
	}
	check := func(sys, val string) bool {
		if val == "" {
			return false
		}
		if hasSystem && system != "" && sys != system {
			return false
		}
		if hasSystem && system == "" && sys != "" {
			return false
		}
		return code == "" || val == code
	}
	switch n := node.(type) {
	case string:
		return !hasSystem && n == code
	case bool:
		return !hasSystem && fmt.Sprint(n) == code
	case map[string]any:
		if cs, ok := n["coding"].([]any); ok {
			for _, c := range cs {
				if cm, ok := c.(map[string]any); ok && check(str(cm, "system"), str(cm, "code")) {
					return true
				}
			}
			return modifier == "text" && strings.EqualFold(str(n, "text"), want)
		}
		if _, ok := n["code"]; ok {
			return check(str(n, "system"), str(n, "code"))
		}
		if _, ok := n["value"]; ok {
			return check(str(n, "system"), str(n, "value"))
		}
	}
	return false
}

// flatText joins the strings of a node with NUL separators.
func flatText(node any) string {
	var parts []string
	var walk func(any)
	walk = func(n any) {
		switch x := n.(type) {
		case string:
			parts = append(parts, x)
		case map[string]any:
			for k, v := range x {
				if k != "extension" && k != "use" {
					walk(v)
				}
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		default:
			if x != nil {
				parts = append(parts, fmt.Sprint(x))
			}
		}
	}
	walk(node)
	return strings.Join(parts, "\x00")
}

// rangeOf returns the time range of a date, dateTime, instant or Period.
func rangeOf(node any) (time.Time, time.Time, bool) {
	switch n := node.(type) {
	case string:
		return dateRange(n)
	case map[string]any:
		start, end := str(n, "start"), str(n, "end")
		if start == "" && end == "" {
			return time.Time{}, time.Time{}, false
		}
		lo, hi := time.Unix(-1<<40, 0), time.Unix(1<<40, 0)
		if start != "" {
			l, _, ok := dateRange(start)
			if !ok {
				return lo, hi, false
			}
			lo = l
		}
		if end != "" {
			_, h, ok := dateRange(end)
			if !ok {
				return lo, hi, false
			}
			hi = h
		} else if d, ok := durationOf(n); ok && start != "" {
			hi = d(lo)
		}
		return lo, hi, true
	}
	return time.Time{}, time.Time{}, false
}

// dateRange parses a FHIR date or dateTime to the range it covers, on the
// wall clock it is written in: a period of use from 00:00:00+02:00 to
// 23:59:59+02:00 covers those calendar days, and a search date without a
// time (period-of-use=le2026-11-21) is a calendar day too, as the Nictiz
// scripts expect.
func dateRange(s string) (time.Time, time.Time, bool) {
	if len(s) > 19 && s[10] == 'T' {
		s = wallClock(s)
	}
	layouts := []struct {
		layout string
		add    func(time.Time) time.Time
	}{
		{"2006-01-02T15:04:05.999999999", func(t time.Time) time.Time { return t.Add(time.Second) }},
		{"2006-01-02T15:04:05", func(t time.Time) time.Time { return t.Add(time.Second) }},
		{"2006-01-02T15:04", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
	}
	for _, l := range layouts {
		if t, err := time.Parse(l.layout, s); err == nil {
			return t, l.add(t), true
		}
	}
	return time.Time{}, time.Time{}, false
}

// wallClock drops the zone of a dateTime (Z, +hh:mm or -hh:mm).
func wallClock(s string) string {
	s = strings.TrimSuffix(s, "Z")
	if i := strings.LastIndexAny(s, "+-"); i > 10 {
		s = s[:i]
	}
	return s
}

// compareDate applies a date search value (with its prefix) to a range.
func compareDate(lo, hi time.Time, want string) bool {
	prefix := "eq"
	if len(want) > 2 && strings.Contains("eq ne lt le gt ge sa eb ap", want[:2]) && (want[2] >= '0' && want[2] <= '9') {
		prefix, want = want[:2], want[2:]
	}
	wlo, whi, ok := dateRange(want)
	if !ok {
		return false
	}
	switch prefix {
	case "eq":
		return !lo.Before(wlo) && !hi.After(whi)
	case "ne":
		return lo.Before(wlo) || hi.After(whi)
	case "lt":
		return lo.Before(wlo)
	case "le":
		return lo.Before(whi)
	case "gt":
		return hi.After(whi)
	case "ge":
		return hi.After(wlo)
	case "sa":
		return lo.After(whi) || lo.Equal(whi)
	case "eb":
		return hi.Before(wlo) || hi.Equal(wlo)
	case "ap":
		return lo.Before(whi) && hi.After(wlo)
	}
	return false
}
