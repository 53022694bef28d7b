// Package terminology is the offline terminology service the profile
// validator uses for bindings: it expands ValueSets from their compose (or
// uses a shipped expansion), checks codes against CodeSystems that are in the
// loaded packages, and knows a few code systems by rule.
//
// Every answer is Member, NotMember or Unknown. Unknown always carries a
// message that says exactly what could not be checked; the service never
// turns "could not check" into a pass or a fail.
//
// What is decided (Member / NotMember):
//   - codes a ValueSet lists (compose.include.concept), in any code system,
//     including SNOMED CT, LOINC and the G-Standaard; a listed code that its
//     complete CodeSystem does not define is NotMember;
//   - whole CodeSystems in the packages with content "complete";
//   - filters on such CodeSystems: is-a, descendent-of, is-not-a,
//     generalizes, child-of, descendent-leaf, =, in, not-in, regex, exists,
//     on concept/code, parent/child, display and any declared property; the
//     hierarchy comes from nested concepts and parent/child/subsumedBy
//     properties;
//   - compose.exclude, compose.include.valueSet imports (one import: union;
//     several, or an import with a system: intersection), "url|version"
//     canonicals and include.version (falling back to the loaded version);
//   - filters on code systems whose content is not loaded, where the code
//     alone decides: is-a / generalizes X holds for X itself, descendent-of
//     / is-not-a X fails for X itself, "concept = X" names one code, and a
//     regex on the code needs only the code;
//   - SNOMED CT and LOINC codes whose identifier is malformed (SNOMED CT:
//     Verhoeff check digit, concept partition; LOINC: form and mod 10 check
//     digit) are NotMember wherever their content would otherwise be needed;
//   - the implicit ValueSets of SNOMED CT (http://snomed.info/sct?fhir_vs,
//     ?fhir_vs=isa/X, ?fhir_vs=refset/X) and LOINC (http://loinc.org/vs,
//     http://loinc.org/vs/X) are built from their URL (and are then mostly
//     Unknown, see below);
//   - a shipped expansion (expansion.contains, nested) when there is no
//     compose or the compose cannot be evaluated offline;
//   - code-in-system checks (ValidateCodeInSystem) for complete CodeSystems;
//   - by rule: UCUM units (http://unitsofmeasure.org: expression syntax with
//     prefixes, exponents, "." and "/", parentheses, factors, annotations,
//     and every atom against the UCUM unit table), BCP-47 language tags
//     (urn:ietf:bcp:47: RFC 5646 syntax, ISO 639-1 languages, ISO 3166-1
//     regions, common scripts), MIME types (urn:ietf:bcp:13: RFC 6838 syntax
//     and registered top-level types; subtypes are not checked), ISO 3166-1
//     alpha-2 country codes (urn:iso:std:iso:3166), ISO 639-1 language codes
//     (urn:oid:1.0.639.1), and regex filters on the code of these systems.
//
// What is Unknown (with a message naming the part that could not be checked):
//   - a filter on a code system whose content is not in the packages (SNOMED
//     CT is-a / descendent-of / in refset, LOINC properties, ...), or any
//     other filter on a rule-based system (UCUM "canonical");
//   - a whole code system that is absent or "not-present" (LOINC, the
//     G-Standaard tables) for a code the ValueSet does not list;
//   - a code not in a "fragment" or "example" CodeSystem;
//   - an exclude that cannot be evaluated, when the code is otherwise in;
//   - a missing ValueSet, a missing or cyclic import, a filter on a code or
//     property the CodeSystem does not define, a regex Go cannot evaluate;
//   - a partial shipped expansion (total larger than what it lists);
//   - a well-formed UCUM unit with a bracketed atom not in the table, a
//     well-formed language tag with subtags outside the built-in tables, an
//     alpha-3 / numeric ISO 3166 code, a MIME type with an "x-" top level.
//
// What the packages leave Unknown in ValidateCode is then looked up in the
// membership table the bench ships (membership.yaml: value set, system,
// code, decision and the evidence it rests on; WithoutTable leaves it out),
// and then, when one is given (WithRemote), asked of a terminology server
// (profiles/tx); ValidateCodeInSystem asks the server only. What none of
// them decides stays Unknown, with the packages' reason and the server's.
//
// A Coding's display is compared (ignoring case and white space) with the
// code's display and designations in the CodeSystem and ValueSet; a
// mismatch sets Result.DisplayWarning, a warning-level note. Only codes of
// CodeSystems in the packages are checked: for SNOMED CT or LOINC codes a
// ValueSet lists, the other synonyms are not known offline. Codes compare
// case-sensitively unless the CodeSystem says caseSensitive false.
//
// ValueSets are compiled once per canonical ("url" or "url|version") and the
// result is cached; a Service is safe for concurrent use and reads the cache
// without locks. Validating a code against an expanded ValueSet is a map
// lookup.
package terminology

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
)

// Source gives the service the conformance resources it works from.
// Resource looks up a ValueSet or CodeSystem by canonical URL, either "url"
// (any version, the loader's choice) or "url|version", and returns it in the
// JSON-shaped tree of profiles/ (map[string]any, []any, string, json.Number,
// bool).
type Source interface {
	Resource(canonical string) (map[string]any, bool)
}

// Coding is the code to check: the system, an optional system version, the
// code and an optional display.
type Coding struct {
	System, Version, Code, Display string
}

// Outcome is the verdict on one code.
type Outcome int

const (
	// Unknown means the service could not decide; Result.Message says why.
	Unknown Outcome = iota
	// Member means the code is in the ValueSet (or in the code system).
	Member
	// NotMember means the code is not in the ValueSet (or not in the code
	// system); Result.Message says why.
	NotMember
)

// String returns "member", "not-member" or "unknown".
func (o Outcome) String() string {
	switch o {
	case Member:
		return "member"
	case NotMember:
		return "not-member"
	default:
		return "unknown"
	}
}

// Result is the answer of ValidateCode and ValidateCodeInSystem.
type Result struct {
	Outcome Outcome
	// Message explains a NotMember or Unknown outcome. For Member it is
	// empty, or a short note on how far membership was checked (for example
	// "MIME type checked for syntax only").
	Message string
	// DisplayWarning is set when the Coding carries a display that is not
	// one of the known displays (or designations) of the code. It is a
	// warning-level note; it does not change Outcome.
	DisplayWarning string
}

// Concept is one code of an expansion.
type Concept struct {
	System, Version, Code, Display string
	// Abstract is true for codes marked notSelectable / abstract.
	Abstract bool
}

// Expansion is the result of expanding a ValueSet.
type Expansion struct {
	// ValueSet is the canonical URL the expansion was asked for.
	ValueSet string
	// Version is the ValueSet's business version, when it has one.
	Version string
	// Contains lists the codes that are certainly in the ValueSet, sorted by
	// system and code.
	Contains []Concept
	// Complete is true when Contains is exactly the ValueSet. When it is
	// false, Incomplete says which parts could not be enumerated (a filter
	// on a code system that is not in the packages, a whole external code
	// system, a fragment, a missing import).
	Complete   bool
	Incomplete []string
	// Note says where the codes came from when it was not the compose alone
	// (for example the expansion shipped with the ValueSet).
	Note string
}

// Service is the terminology service. Create one with New; it is safe for
// concurrent use and caches every ValueSet it compiles.
type Service struct {
	src Source
	// table and remote decide what the packages cannot (see undecided).
	table  *Table
	remote Remote

	// Compiled ValueSets and indexed CodeSystems are published as immutable
	// maps (copy on write under mu), so that the hot path reads them without
	// locks or allocation.
	cache   atomic.Pointer[map[string]*cacheEntry] // canonical -> compiled ValueSet or error
	systems atomic.Pointer[map[string]*codeSystem] // canonical -> CodeSystem (nil when not loaded)

	mu         sync.Mutex // serialises compilation (imports recurse inside it)
	newVS      map[string]*cacheEntry
	newSystems map[string]*codeSystem
}

// New returns a Service that reads ValueSets and CodeSystems from src. By
// default it also consults the membership table the bench ships (see
// Membership) for what the packages cannot decide; options add a remote
// terminology server or leave the table out.
func New(src Source, opts ...Option) *Service {
	s := &Service{src: src, table: Membership()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// maxImportDepth bounds ValueSet imports (compose.include.valueSet) chains.
const maxImportDepth = 32

// ValidateCode says whether the Coding is in the ValueSet with canonical URL
// valueSet ("url" or "url|version"). With an empty valueSet it checks the
// code against its code system (see ValidateCodeInSystem).
//
// A Coding without a system is a bare code (a FHIR code primitive bound to
// the ValueSet): its system is the one the ValueSet draws codes from; when
// the ValueSet draws from several, the code is a member if it is a member
// under any of them.
func (s *Service) ValidateCode(valueSet string, c Coding) Result {
	if valueSet == "" {
		return s.ValidateCodeInSystem(c)
	}
	r := s.validateOffline(valueSet, c)
	if r.Outcome != Unknown {
		return r
	}
	return s.undecided(valueSet, c, r)
}

// validateOffline decides from the packages alone.
func (s *Service) validateOffline(valueSet string, c Coding) Result {
	vs, err := s.valueSet(valueSet)
	if err != nil {
		return Result{Outcome: Unknown, Message: err.Error()}
	}
	if c.System == "" {
		return vs.validateBare(c)
	}
	return vs.validate(c)
}

// ValidateConcept checks a CodeableConcept's codings against the ValueSet:
// Member when any coding is a member; otherwise Unknown when any coding could
// not be decided; otherwise NotMember. The message of each non-member coding
// is kept.
func (s *Service) ValidateConcept(valueSet string, codings []Coding) Result {
	if len(codings) == 0 {
		return Result{Outcome: NotMember, Message: "no coding to check against value set " + valueSet}
	}
	var unknown, notMember []string
	for _, c := range codings {
		r := s.ValidateCode(valueSet, c)
		switch r.Outcome {
		case Member:
			return r
		case Unknown:
			unknown = append(unknown, r.Message)
		default:
			notMember = append(notMember, r.Message)
		}
	}
	if len(unknown) > 0 {
		return Result{Outcome: Unknown, Message: strings.Join(append(unknown, notMember...), "; ")}
	}
	return Result{Outcome: NotMember, Message: strings.Join(notMember, "; ")}
}

// ValidateCodeInSystem checks that the code exists in its code system:
// for a CodeSystem in the packages with content "complete" an unknown code is
// NotMember; for a fragment a code not in it is Unknown; UCUM, BCP-47 and MIME
// types are checked by rule; any other system is Unknown.
func (s *Service) ValidateCodeInSystem(c Coding) Result {
	r := s.inSystemOffline(c)
	if r.Outcome != Unknown || c.System == "" || s.remote == nil {
		return r
	}
	return s.undecided("", c, r)
}

// DisplayInSystem checks a code and its display against its code system
// from the packages and the built-in systems alone, never asking the remote
// server: displays are judged offline only (a server is asked about
// membership, and only where a binding needs it).
func (s *Service) DisplayInSystem(c Coding) Result { return s.inSystemOffline(c) }

// inSystemOffline decides code-in-system checks from the packages alone.
func (s *Service) inSystemOffline(c Coding) Result {
	if c.System == "" {
		return Result{Outcome: Unknown, Message: fmt.Sprintf("code %q has no system; it could not be checked", c.Code)}
	}
	if b := builtinFor(c.System); b != nil {
		return b.check(c.Code)
	}
	cs := s.codeSystem(c.System, c.Version)
	if cs == nil || !cs.complete() {
		if msg, bad := badIdentifier(c.System, c.Code); bad {
			return Result{Outcome: NotMember, Message: msg}
		}
	}
	if cs == nil {
		return Result{Outcome: Unknown, Message: fmt.Sprintf("code system %s is not in the loaded packages; code %q could not be checked", c.System, c.Code)}
	}
	r := cs.lookup(c)
	if c.Version != "" && cs.version != "" && c.Version != cs.version {
		note := fmt.Sprintf("code system %s version %q is not loaded; checked against version %q", c.System, c.Version, cs.version)
		r.Message = strings.TrimPrefix(r.Message+" ("+note+")", " ")
	}
	return r
}

func displayMatches(got string, want []string) bool {
	for _, w := range want {
		if w == got || strings.EqualFold(w, got) {
			return true
		}
	}
	g := normDisplay(got)
	for _, w := range want {
		if normDisplay(w) == g {
			return true
		}
	}
	return false
}

func normDisplay(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// Expand returns the expansion of the ValueSet with canonical URL valueSet.
// It fails only when the ValueSet is not loaded or cannot be read; parts that
// cannot be enumerated make the expansion incomplete (see Expansion). The
// Expansion is cached and shared: callers must not modify it.
func (s *Service) Expand(valueSet string) (*Expansion, error) {
	vs, err := s.valueSet(valueSet)
	if err != nil {
		return nil, err
	}
	return vs.expansion(), nil
}

// valueSet returns the compiled ValueSet, compiling it on first use.
func (s *Service) valueSet(canonical string) (*valueSet, error) {
	if m := s.cache.Load(); m != nil {
		if e, ok := (*m)[canonical]; ok {
			return e.vs, e.err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.publishLocked()
	return s.compileLocked(canonical, nil)
}

// lookupVSLocked finds a compiled ValueSet, published or not; s.mu is held.
func (s *Service) lookupVSLocked(canonical string) (*cacheEntry, bool) {
	if e, ok := s.newVS[canonical]; ok {
		return e, true
	}
	if m := s.cache.Load(); m != nil {
		e, ok := (*m)[canonical]
		return e, ok
	}
	return nil, false
}

// publishLocked makes what was compiled under s.mu visible to readers.
func (s *Service) publishLocked() {
	if len(s.newVS) > 0 {
		next := map[string]*cacheEntry{}
		if m := s.cache.Load(); m != nil {
			next = maps.Clone(*m)
		}
		maps.Copy(next, s.newVS)
		s.cache.Store(&next)
		s.newVS = nil
	}
	if len(s.newSystems) > 0 {
		next := map[string]*codeSystem{}
		if m := s.systems.Load(); m != nil {
			next = maps.Clone(*m)
		}
		maps.Copy(next, s.newSystems)
		s.systems.Store(&next)
		s.newSystems = nil
	}
}

type cacheEntry struct {
	vs  *valueSet
	err error
}

// compileLocked compiles a ValueSet; s.mu must be held. stack holds the
// canonicals being compiled in this chain of imports, to stop cycles.
func (s *Service) compileLocked(canonical string, stack []string) (*valueSet, error) {
	if e, ok := s.lookupVSLocked(canonical); ok {
		return e.vs, e.err
	}
	for _, c := range stack {
		if c == canonical {
			return nil, fmt.Errorf("value set %s imports itself (cycle %s)", canonical, strings.Join(append(stack, canonical), " -> "))
		}
	}
	if len(stack) >= maxImportDepth {
		return nil, fmt.Errorf("value set %s: imports nested deeper than %d", canonical, maxImportDepth)
	}
	res, ok := s.src.Resource(canonical)
	versionNote := ""
	if url, _, versioned := strings.Cut(canonical, "|"); !ok && versioned {
		// Like the HL7 validator: a version that is not loaded falls back to
		// the loaded version of the same ValueSet, and says so.
		if res, ok = s.src.Resource(url); ok {
			versionNote = fmt.Sprintf("value set %s is not loaded; checked against version %q", canonical, str(res, "version"))
		}
	}
	if !ok {
		res, ok = implicitValueSet(canonical)
	}
	var vs *valueSet
	var err error
	switch {
	case !ok:
		err = fmt.Errorf("value set %s is not in the loaded packages", canonical)
	case str(res, "resourceType") != "ValueSet":
		err = fmt.Errorf("%s is a %s, not a ValueSet", canonical, str(res, "resourceType"))
	default:
		vs, err = s.compile(canonical, res, append(stack, canonical))
		if vs != nil && versionNote != "" {
			vs.versionNote = versionNote
			vs.note = strings.TrimPrefix(vs.note+"; "+versionNote, "; ")
		}
	}
	if s.newVS == nil {
		s.newVS = map[string]*cacheEntry{}
	}
	s.newVS[canonical] = &cacheEntry{vs: vs, err: err}
	return vs, err
}

// codeSystem returns the indexed CodeSystem for url (version optional), or nil
// when the packages do not have it.
func (s *Service) codeSystem(url, version string) *codeSystem {
	k := url
	if version != "" {
		k = url + "|" + version
	}
	if m := s.systems.Load(); m != nil {
		if cs, ok := (*m)[k]; ok {
			return cs
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.publishLocked()
	return s.codeSystemLocked(k)
}

// codeSystemLocked looks up and indexes a CodeSystem; s.mu must be held.
// canonical is "url" or "url|version"; a version that is not loaded falls
// back to the unversioned lookup (the version actually used is in
// codeSystem.version).
func (s *Service) codeSystemLocked(canonical string) *codeSystem {
	if cs, ok := s.newSystems[canonical]; ok {
		return cs
	}
	if m := s.systems.Load(); m != nil {
		if cs, ok := (*m)[canonical]; ok {
			return cs
		}
	}
	var cs *codeSystem
	res, ok := s.src.Resource(canonical)
	if (!ok || str(res, "resourceType") != "CodeSystem") && strings.Contains(canonical, "|") {
		url, _, _ := strings.Cut(canonical, "|")
		res, ok = s.src.Resource(url)
	}
	if ok && str(res, "resourceType") == "CodeSystem" {
		cs = indexCodeSystem(res)
	}
	if s.newSystems == nil {
		s.newSystems = map[string]*codeSystem{}
	}
	s.newSystems[canonical] = cs
	return cs
}

// implicitValueSet builds the ValueSets that SNOMED CT and LOINC define by URL
// (FHIR "implicit value sets"): http://snomed.info/sct?fhir_vs (all),
// ?fhir_vs=isa/X, ?fhir_vs=refset/X; http://loinc.org/vs (all) and
// http://loinc.org/vs/X (an answer list or panel, which needs LOINC content).
func implicitValueSet(canonical string) (map[string]any, bool) {
	url, _, _ := strings.Cut(canonical, "|")
	include := map[string]any{}
	switch {
	case url == "http://snomed.info/sct?fhir_vs":
		include["system"] = systemSNOMED
	case strings.HasPrefix(url, "http://snomed.info/sct?fhir_vs=isa/"):
		include["system"] = systemSNOMED
		include["filter"] = []any{map[string]any{"property": "concept", "op": "is-a", "value": strings.TrimPrefix(url, "http://snomed.info/sct?fhir_vs=isa/")}}
	case strings.HasPrefix(url, "http://snomed.info/sct?fhir_vs=refset/"):
		include["system"] = systemSNOMED
		include["filter"] = []any{map[string]any{"property": "concept", "op": "in", "value": strings.TrimPrefix(url, "http://snomed.info/sct?fhir_vs=refset/")}}
	case url == "http://loinc.org/vs":
		include["system"] = systemLOINC
	case strings.HasPrefix(url, "http://loinc.org/vs/"):
		include["system"] = systemLOINC
		include["filter"] = []any{map[string]any{"property": "answer-list", "op": "=", "value": strings.TrimPrefix(url, "http://loinc.org/vs/")}}
	default:
		return nil, false
	}
	return map[string]any{
		"resourceType": "ValueSet",
		"url":          url,
		"compose":      map[string]any{"include": []any{include}},
	}, true
}
