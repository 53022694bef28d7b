package terminology

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// key identifies a code in a value set.
type key struct{ system, code string }

// member is what the service knows of an enumerated code.
type member struct {
	version  string
	displays []string // the first is the preferred display
	// checkDisplay is set when the displays come from a CodeSystem in the
	// packages, so a display outside them is worth a warning. Displays known
	// only from a ValueSet listing or a shipped expansion of an external
	// system (SNOMED CT has many synonyms) are not checked.
	checkDisplay bool
	abstract     bool
	invalid      string // set when the code is listed but its complete CodeSystem does not define it
}

// matcher decides membership for a part of a value set that could not be
// enumerated (a filter on an external code system, a whole external code
// system, a fragment, an import that is itself incomplete).
type matcher struct {
	desc  string
	match func(c Coding) (Outcome, string)
}

// valueSet is a compiled ValueSet. It is immutable once compiled.
type valueSet struct {
	canonical, url, version string

	codes    map[key]*member // codes certainly in the value set (enumerated excludes removed)
	folded   map[key]key     // lower-cased codes of case-insensitive systems -> key in codes
	excluded map[key]bool    // enumerated excludes: they also cut into open parts
	open     []matcher       // included parts that could not be enumerated
	openExcl []matcher       // excluded parts that could not be enumerated
	systems  map[string]bool // systems the value set draws codes from
	// sortedSystems lists systems in a fixed order (for bare codes).
	sortedSystems []string

	incomplete []string // why the enumeration is not the whole value set
	note       string   // how the value set was expanded, when not from compose alone
	// versionNote is set when the requested version was not loaded and
	// another version was used; it is added to every result's message.
	versionNote string

	expOnce sync.Once
	exp     *Expansion
}

// part is one compose.include or compose.exclude, compiled.
type part struct {
	codes      map[key]*member
	shared     bool // codes belongs to an imported value set: copy, never modify
	open       []matcher
	incomplete []string
	systems    []string
}

func (s *Service) compile(canonical string, res map[string]any, stack []string) (*valueSet, error) {
	vs := &valueSet{
		canonical: canonical,
		url:       str(res, "url"),
		version:   str(res, "version"),
		codes:     map[key]*member{},
		excluded:  map[key]bool{},
		systems:   map[string]bool{},
	}
	if vs.url == "" {
		vs.url, _, _ = strings.Cut(canonical, "|")
	}
	compose, hasCompose := res["compose"].(map[string]any)
	expansion, hasExpansion := res["expansion"].(map[string]any)
	if !hasCompose && !hasExpansion {
		return nil, fmt.Errorf("value set %s has neither compose nor expansion", canonical)
	}
	if hasCompose {
		for _, inc := range arr(compose, "include") {
			m, ok := inc.(map[string]any)
			if !ok {
				continue
			}
			p := s.compilePart(vs, m, stack)
			if len(vs.codes) == 0 && !p.shared && p.codes != nil {
				// The first include's map becomes the value set's (no copy).
				vs.codes, p.codes = p.codes, nil
			}
			for k, v := range p.codes {
				if old, ok := vs.codes[k]; ok { // listed twice: keep both displays
					merged := *old
					merged.displays = append(append([]string(nil), old.displays...), v.displays...)
					merged.checkDisplay = old.checkDisplay || v.checkDisplay
					vs.codes[k] = &merged
					continue
				}
				vs.codes[k] = v
			}
			vs.open = append(vs.open, p.open...)
			vs.incomplete = append(vs.incomplete, p.incomplete...)
			for _, sys := range p.systems {
				vs.systems[sys] = true
			}
		}
		for _, exc := range arr(compose, "exclude") {
			m, ok := exc.(map[string]any)
			if !ok {
				continue
			}
			p := s.compilePart(vs, m, stack)
			for k := range p.codes {
				delete(vs.codes, k)
				vs.excluded[k] = true
			}
			for _, o := range p.open {
				vs.openExcl = append(vs.openExcl, o)
				vs.incomplete = append(vs.incomplete, "excluded: "+o.desc)
			}
		}
	}
	complete := len(vs.open) == 0 && len(vs.openExcl) == 0
	if hasExpansion && (!hasCompose || !complete) {
		s.useExpansion(vs, expansion, hasCompose)
	}
	for sys := range vs.systems {
		if sys != "" {
			vs.sortedSystems = append(vs.sortedSystems, sys)
		}
	}
	sort.Strings(vs.sortedSystems)
	// Codes of code systems that say they are not case sensitive also match
	// in another case.
	caseless := map[string]bool{}
	for sys := range vs.systems {
		if cs := s.codeSystemLocked(sys); cs != nil && !cs.caseSensitive {
			caseless[sys] = true
		}
	}
	for k := range vs.codes {
		if caseless[k.system] {
			if vs.folded == nil {
				vs.folded = map[key]key{}
			}
			vs.folded[key{k.system, strings.ToLower(k.code)}] = k
		}
	}
	return vs, nil
}

// useExpansion replaces a compose that could not be evaluated offline (or is
// absent) by the expansion the ValueSet ships.
func (s *Service) useExpansion(vs *valueSet, exp map[string]any, hadCompose bool) {
	codes := map[key]*member{}
	var walk func(list []any, depth int)
	walk = func(list []any, depth int) {
		if depth > maxConceptDepth {
			return
		}
		for _, it := range list {
			m, ok := it.(map[string]any)
			if !ok {
				continue
			}
			if sys, code := str(m, "system"), str(m, "code"); sys != "" && code != "" {
				mem := &member{version: str(m, "version")}
				if d := str(m, "display"); d != "" {
					mem.displays = []string{d}
				}
				mem.abstract, _ = m["abstract"].(bool)
				codes[key{sys, code}] = mem
			}
			walk(arr(m, "contains"), depth+1)
		}
	}
	walk(arr(exp, "contains"), 0)
	total := intValue(exp["total"])
	partial := total > len(codes)
	for _, p := range arr(exp, "parameter") {
		if pm, ok := p.(map[string]any); ok && (str(pm, "name") == "offset" || str(pm, "name") == "count") {
			partial = true
		}
	}
	vs.codes = codes
	vs.open, vs.openExcl, vs.excluded = nil, nil, map[key]bool{}
	vs.systems = map[string]bool{}
	for k := range codes {
		vs.systems[k.system] = true
	}
	vs.incomplete = nil
	vs.note = "from the expansion shipped with the value set"
	if hadCompose {
		vs.note = "from the expansion shipped with the value set (its compose cannot be evaluated offline)"
	}
	if partial {
		desc := fmt.Sprintf("the shipped expansion of %s is partial (%d of %d codes)", vs.canonical, len(codes), total)
		vs.incomplete = []string{desc}
		vs.open = []matcher{{desc: desc, match: func(c Coding) (Outcome, string) {
			return Unknown, fmt.Sprintf("code %q (system %s) is not in the partial expansion shipped with value set %s (%d of %d codes); it could not be checked", c.Code, c.System, vs.canonical, len(codes), total)
		}}}
	}
}

// compilePart compiles one include or exclude. s.mu is held.
func (s *Service) compilePart(vs *valueSet, inc map[string]any, stack []string) part {
	system := str(inc, "system")
	version := str(inc, "version")
	var imports []*valueSet
	var p part
	for _, ref := range arr(inc, "valueSet") {
		canon, _ := ref.(string)
		if canon == "" {
			continue
		}
		imp, err := s.compileLocked(canon, stack)
		if err != nil {
			desc := fmt.Sprintf("imported value set %s: %v", canon, err)
			msg := fmt.Sprintf("value set %s imports %s, which could not be used (%v); membership could not be checked", vs.canonical, canon, err)
			p.open = append(p.open, matcher{desc: desc, match: func(Coding) (Outcome, string) { return Unknown, msg }})
			p.incomplete = append(p.incomplete, desc)
			return p
		}
		imports = append(imports, imp)
	}
	var sys *part
	if system != "" {
		sp := s.compileSystemPart(vs, system, version, inc)
		sys = &sp
	}
	switch {
	case sys != nil && len(imports) == 0:
		return *sys
	case sys == nil && len(imports) == 1:
		imp := imports[0]
		if len(imp.openExcl) == 0 {
			p.codes, p.shared = imp.codes, true
		}
		if !imp.complete() {
			p.open = append(p.open, importMatcher(imp))
			p.incomplete = append(p.incomplete, fmt.Sprintf("imported value set %s is incomplete: %s", imp.canonical, strings.Join(imp.incomplete, "; ")))
		}
		for sysURL := range imp.systems {
			p.systems = append(p.systems, sysURL)
		}
		return p
	case sys == nil && len(imports) == 0:
		return p
	}
	// An include with several imports (and perhaps a system) is their
	// intersection.
	allComplete := sys == nil || len(sys.open) == 0
	for _, imp := range imports {
		allComplete = allComplete && imp.complete()
	}
	if allComplete {
		var sets []map[key]*member
		if sys != nil {
			sets = append(sets, sys.codes)
		}
		for _, imp := range imports {
			sets = append(sets, imp.codes)
		}
		sort.Slice(sets, func(i, j int) bool { return len(sets[i]) < len(sets[j]) })
		p.codes = map[key]*member{}
	next:
		for k, m := range sets[0] {
			for _, other := range sets[1:] {
				if _, ok := other[k]; !ok {
					continue next
				}
			}
			p.codes[k] = m
			p.systems = append(p.systems, k.system)
		}
		p.systems = dedupe(p.systems)
		return p
	}
	var parts []matcher
	if sys != nil {
		parts = append(parts, partMatcher(*sys))
	}
	for _, imp := range imports {
		parts = append(parts, importMatcher(imp))
		for sysURL := range imp.systems {
			p.systems = append(p.systems, sysURL)
		}
	}
	if sys != nil {
		p.systems = append(p.systems, sys.systems...)
	}
	desc := "an intersection of imported value sets that could not be enumerated"
	p.open = append(p.open, matcher{desc: desc, match: func(c Coding) (Outcome, string) {
		var unknown []string
		for _, m := range parts {
			o, msg := m.match(c)
			switch o {
			case NotMember:
				return NotMember, msg
			case Unknown:
				unknown = append(unknown, msg)
			}
		}
		if len(unknown) > 0 {
			return Unknown, strings.Join(unknown, "; ")
		}
		return Member, ""
	}})
	p.incomplete = append(p.incomplete, desc)
	return p
}

// compileSystemPart compiles the system / concept / filter half of an include.
func (s *Service) compileSystemPart(vs *valueSet, system, version string, inc map[string]any) part {
	p := part{codes: make(map[key]*member, len(arr(inc, "concept"))), systems: []string{system}}
	canon := system
	if version != "" {
		canon = system + "|" + version
	}
	concepts := arr(inc, "concept")
	var filters []filter
	for _, f := range arr(inc, "filter") {
		if fm, ok := f.(map[string]any); ok {
			filters = append(filters, filter{property: str(fm, "property"), op: str(fm, "op"), value: str(fm, "value")})
		}
	}
	b := builtinFor(system)
	var cs *codeSystem
	if b == nil {
		cs = s.codeSystemLocked(canon)
	}
	// Listed codes decide membership whether or not the system is loaded.
	if len(concepts) > 0 {
		slab := make([]member, 0, len(concepts)) // one allocation for all members
		for _, c := range concepts {
			cm, ok := c.(map[string]any)
			if !ok {
				continue
			}
			code := str(cm, "code")
			if code == "" {
				continue
			}
			slab = append(slab, member{version: version})
			mem := &slab[len(slab)-1]
			if d := str(cm, "display"); d != "" {
				mem.displays = append(mem.displays, d)
			}
			for _, d := range arr(cm, "designation") {
				if dm, ok := d.(map[string]any); ok && str(dm, "value") != "" {
					mem.displays = append(mem.displays, str(dm, "value"))
				}
			}
			switch {
			case b != nil:
				if r := b.check(code); r.Outcome == NotMember {
					mem.invalid = fmt.Sprintf("code %q is listed by value set %s but is not valid in %s: %s", code, vs.canonical, system, r.Message)
				}
			case cs != nil:
				if con := cs.concept(code); con != nil {
					mem.displays = append(con.displays(), mem.displays...)
					mem.checkDisplay = true
					mem.abstract = con.abstract
				} else if cs.complete() {
					mem.invalid = fmt.Sprintf("code %q is listed by value set %s but is not defined in code system %s", code, vs.canonical, cs.name())
				}
			}
			p.codes[key{system, code}] = mem
		}
		return p
	}
	switch {
	case b != nil && len(filters) == 0:
		desc := fmt.Sprintf("all of %s (checked by rule: %s)", system, b.name())
		p.open = append(p.open, matcher{desc: desc, match: func(c Coding) (Outcome, string) {
			if c.System != system {
				return NotMember, ""
			}
			r := b.check(c.Code)
			return r.Outcome, r.Message
		}})
		p.incomplete = append(p.incomplete, desc)
	case b != nil && onlyCodeRegex(filters):
		p.open = append(p.open, builtinRegexMatcher(system, b, filters))
		p.incomplete = append(p.incomplete, p.open[len(p.open)-1].desc)
	case b != nil || cs == nil || !cs.hasContent():
		p.open = append(p.open, externalMatcher(system, cs, filters))
		p.incomplete = append(p.incomplete, p.open[len(p.open)-1].desc)
	default:
		s.enumerate(&p, cs, system, version, filters)
	}
	return p
}

// enumerate lists the codes of a CodeSystem in the packages that pass the
// filters (all codes when there are none).
func (s *Service) enumerate(p *part, cs *codeSystem, system, version string, filters []filter) {
	var set map[string]bool
	for _, f := range filters {
		got, err := cs.apply(f)
		if err != nil {
			msg := err.Error()
			desc := fmt.Sprintf("filter %q on %s could not be evaluated: %s", f, system, msg)
			p.open = append(p.open, matcher{desc: desc, match: func(c Coding) (Outcome, string) {
				if c.System != system {
					return NotMember, ""
				}
				return Unknown, fmt.Sprintf("code %q: %s; membership could not be checked", c.Code, msg)
			}})
			p.incomplete = append(p.incomplete, desc)
			return
		}
		if set == nil {
			set = got
			continue
		}
		for code := range set {
			if !got[code] {
				delete(set, code)
			}
		}
	}
	if version == "" {
		version = cs.version
	}
	add := func(code string) {
		con := cs.concepts[code]
		p.codes[key{system, code}] = &member{version: version, displays: con.displays(), abstract: con.abstract, checkDisplay: true}
	}
	if set == nil {
		for _, code := range cs.order {
			add(code)
		}
	} else {
		for code := range set {
			add(code)
		}
	}
	if !cs.complete() {
		what := "all codes"
		if len(filters) > 0 {
			what = "codes matching " + filtersText(filters)
		}
		desc := fmt.Sprintf("%s of %s, which the packages hold only as %s", what, cs.name(), partialContent(cs.content))
		p.open = append(p.open, matcher{desc: desc, match: func(c Coding) (Outcome, string) {
			if c.System != system {
				return NotMember, ""
			}
			if msg, bad := badIdentifier(system, c.Code); bad {
				return NotMember, msg
			}
			return Unknown, fmt.Sprintf("code %q is not in code system %s as far as the packages hold it (content %s); whether it is one of the %s could not be checked", c.Code, cs.name(), cs.content, what)
		}})
		p.incomplete = append(p.incomplete, desc)
	}
}

func filtersText(fs []filter) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%q", f.String())
	}
	return strings.Join(parts, " and ")
}

// externalMatcher handles an include on a code system whose content is not in
// the packages (SNOMED CT, LOINC, G-Standaard, ...), or a filter on a code
// system known only by rule.
func externalMatcher(system string, cs *codeSystem, filters []filter) matcher {
	why := "which is not in the loaded packages"
	reason := "that code system is not in the loaded packages"
	if cs != nil {
		why = fmt.Sprintf("which the packages hold without its codes (content %s)", contentName(cs.content))
		reason = fmt.Sprintf("the packages hold that code system without its codes (content %s)", contentName(cs.content))
	}
	if b := builtinFor(system); b != nil {
		why = "which bcbench knows only by rule (" + b.name() + "), not by filter"
		reason = "bcbench checks that code system by rule (" + b.name() + "), not by filter"
	}
	if len(filters) == 0 {
		desc := fmt.Sprintf("all codes of %s, %s", system, why)
		return matcher{desc: desc, match: func(c Coding) (Outcome, string) {
			if c.System != system {
				return NotMember, ""
			}
			if msg, bad := badIdentifier(system, c.Code); bad {
				return NotMember, msg
			}
			return Unknown, fmt.Sprintf("code %q: the value set includes all of code system %s, %s; whether the code exists could not be checked", c.Code, system, why)
		}}
	}
	ft := filtersText(filters)
	desc := fmt.Sprintf("codes of %s matching filter %s, %s", system, ft, why)
	regexes := make([]*regexp.Regexp, len(filters))
	for i, f := range filters {
		if f.op == "regex" && (f.property == "concept" || f.property == "code") {
			regexes[i], _ = fullRegexp(f.value) // nil when Go cannot evaluate it: undecided
		}
	}
	return matcher{desc: desc, match: func(c Coding) (Outcome, string) {
		if c.System != system {
			return NotMember, ""
		}
		if msg, bad := badIdentifier(system, c.Code); bad {
			return NotMember, msg
		}
		// Some filters decide a code without the code system's content: the
		// filter's own code is-a itself and no descendant of itself, "="
		// names one code, a regex on the code needs only the code.
		var undecided []filter
		for i, f := range filters {
			decided, match := decideByCode(f, regexes[i], c.Code)
			if !decided {
				undecided = append(undecided, f)
				continue
			}
			if !match {
				return NotMember, fmt.Sprintf("code %q does not match filter %q on %s", c.Code, f.String(), system)
			}
		}
		if len(undecided) == 0 {
			return Member, ""
		}
		return Unknown, fmt.Sprintf("code %q: filter %s on %s could not be checked: %s", c.Code, filtersText(undecided), system, reason)
	}}
}

// decideByCode evaluates a filter on a code system whose content is not
// loaded, where the code alone decides it.
func decideByCode(f filter, re *regexp.Regexp, code string) (decided, match bool) {
	if f.property != "concept" && f.property != "code" {
		return false, false
	}
	switch f.op {
	case "is-a", "generalizes":
		if code == f.value {
			return true, true
		}
	case "descendent-of", "is-not-a":
		if code == f.value {
			return true, false
		}
	case "=":
		return true, code == f.value
	case "regex":
		if re != nil {
			return true, re.MatchString(code)
		}
	}
	return false, false
}

// onlyCodeRegex reports whether every filter is a regex on the code, which
// can be checked for a code system known by rule.
func onlyCodeRegex(fs []filter) bool {
	for _, f := range fs {
		if f.op != "regex" || (f.property != "code" && f.property != "concept") {
			return false
		}
	}
	return true
}

// builtinRegexMatcher checks regex filters on the code of a code system
// known by rule: the code must match every regex and be valid by the rule.
func builtinRegexMatcher(system string, b *builtinSystem, fs []filter) matcher {
	desc := fmt.Sprintf("codes of %s matching %s (checked by rule: %s)", system, filtersText(fs), b.name())
	res := make([]*regexp.Regexp, len(fs))
	var bad error
	for i, f := range fs {
		res[i], bad = fullRegexp(f.value)
		if bad != nil {
			break
		}
	}
	return matcher{desc: desc, match: func(c Coding) (Outcome, string) {
		if c.System != system {
			return NotMember, ""
		}
		if bad != nil {
			return Unknown, fmt.Sprintf("code %q: filter on %s could not be checked: %v", c.Code, system, bad)
		}
		for i, re := range res {
			if !re.MatchString(c.Code) {
				return NotMember, fmt.Sprintf("code %q does not match filter %q", c.Code, fs[i].String())
			}
		}
		r := b.check(c.Code)
		return r.Outcome, r.Message
	}}
}

func importMatcher(imp *valueSet) matcher {
	return matcher{desc: "value set " + imp.canonical, match: func(c Coding) (Outcome, string) {
		r := imp.validate(c)
		return r.Outcome, r.Message
	}}
}

func partMatcher(p part) matcher {
	return matcher{desc: "include", match: func(c Coding) (Outcome, string) {
		if m, ok := p.codes[key{c.System, c.Code}]; ok && m.invalid == "" {
			return Member, ""
		}
		var unknown []string
		for _, o := range p.open {
			out, msg := o.match(c)
			if out == Member {
				return Member, msg
			}
			if out == Unknown {
				unknown = append(unknown, msg)
			}
		}
		if len(unknown) > 0 {
			return Unknown, strings.Join(unknown, "; ")
		}
		return NotMember, fmt.Sprintf("code %q (system %s) is not in the include", c.Code, c.System)
	}}
}

func (vs *valueSet) complete() bool { return len(vs.open) == 0 && len(vs.openExcl) == 0 }

// validate decides membership of one coding.
func (vs *valueSet) validate(c Coding) Result {
	r := vs.decide(c)
	if vs.versionNote != "" {
		r.Message = strings.TrimPrefix(r.Message+" ("+vs.versionNote+")", " ")
	}
	return r
}

// decide is validate without the version note.
func (vs *valueSet) decide(c Coding) Result {
	k := key{c.System, c.Code}
	m, ok := vs.codes[k]
	if !ok && vs.folded != nil {
		if fk, found := vs.folded[key{c.System, strings.ToLower(c.Code)}]; found {
			m, ok = vs.codes[fk]
		}
	}
	if ok {
		if m.invalid != "" {
			return Result{Outcome: NotMember, Message: m.invalid}
		}
		r := Result{Outcome: Member}
		if m.checkDisplay {
			r.DisplayWarning = displayWarning(c, m.displays)
		}
		return vs.checkExcludes(c, r)
	}
	var unknown, why []string
	for _, o := range vs.open {
		out, msg := o.match(c)
		switch out {
		case Member:
			if vs.excluded[k] {
				return Result{Outcome: NotMember, Message: fmt.Sprintf("code %q (system %s) is excluded from value set %s", c.Code, c.System, vs.canonical)}
			}
			return vs.checkExcludes(c, Result{Outcome: Member, Message: msg})
		case Unknown:
			unknown = append(unknown, msg)
		default:
			if msg != "" {
				why = append(why, msg)
			}
		}
	}
	if len(unknown) > 0 {
		if vs.excluded[k] {
			return Result{Outcome: NotMember, Message: fmt.Sprintf("code %q (system %s) is excluded from value set %s", c.Code, c.System, vs.canonical)}
		}
		return Result{Outcome: Unknown, Message: fmt.Sprintf("value set %s: %s", vs.canonical, strings.Join(unknown, "; "))}
	}
	if c.System == "" {
		return Result{Outcome: NotMember, Message: fmt.Sprintf("code %q has no system and is not in value set %s", c.Code, vs.canonical)}
	}
	if !vs.systems[c.System] {
		return Result{Outcome: NotMember, Message: fmt.Sprintf("code %q is not in value set %s: the value set has no codes from system %s", c.Code, vs.canonical, c.System)}
	}
	msg := "code " + strconv.Quote(c.Code) + " (system " + c.System + ") is not in value set " + vs.canonical
	if len(why) > 0 {
		msg += ": " + strings.Join(why, "; ")
	}
	return Result{Outcome: NotMember, Message: msg}
}

// validateBare checks a code without a system against every system the
// value set draws from.
func (vs *valueSet) validateBare(c Coding) Result {
	if len(vs.systems) == 0 {
		return Result{Outcome: Unknown, Message: fmt.Sprintf("code %q has no system and value set %s names none; it could not be checked", c.Code, vs.canonical)}
	}
	var unknown []string
	for _, sys := range vs.sortedSystems {
		c.System = sys
		r := vs.validate(c)
		switch r.Outcome {
		case Member:
			return r
		case Unknown:
			unknown = append(unknown, r.Message)
		}
	}
	if len(unknown) > 0 {
		return Result{Outcome: Unknown, Message: strings.Join(unknown, "; ")}
	}
	return Result{Outcome: NotMember, Message: fmt.Sprintf("code %q is not in value set %s", c.Code, vs.canonical)}
}

// checkExcludes applies excludes that could not be enumerated.
func (vs *valueSet) checkExcludes(c Coding, r Result) Result {
	for _, o := range vs.openExcl {
		out, msg := o.match(c)
		switch out {
		case Member:
			return Result{Outcome: NotMember, Message: fmt.Sprintf("code %q (system %s) is excluded from value set %s", c.Code, c.System, vs.canonical)}
		case Unknown:
			return Result{Outcome: Unknown, Message: fmt.Sprintf("code %q is included in value set %s, but whether an exclude removes it could not be checked: %s", c.Code, vs.canonical, msg)}
		}
	}
	return r
}

func (vs *valueSet) expansion() *Expansion {
	vs.expOnce.Do(func() {
		e := &Expansion{ValueSet: vs.canonical, Version: vs.version, Complete: vs.complete()}
		e.Contains = make([]Concept, 0, len(vs.codes))
		for k, m := range vs.codes {
			if m.invalid != "" {
				continue
			}
			con := Concept{System: k.system, Code: k.code, Version: m.version, Abstract: m.abstract}
			if len(m.displays) > 0 {
				con.Display = m.displays[0]
			}
			e.Contains = append(e.Contains, con)
		}
		sort.Slice(e.Contains, func(i, j int) bool {
			a, b := e.Contains[i], e.Contains[j]
			if a.System != b.System {
				return a.System < b.System
			}
			return a.Code < b.Code
		})
		e.Incomplete = append([]string(nil), vs.incomplete...)
		e.Note = vs.note
		vs.exp = e
	})
	return vs.exp
}
