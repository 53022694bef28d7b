// Package terminology is the offline terminology service the profile
// validator uses for bindings: it expands ValueSets from their compose (or
// uses a shipped expansion), checks codes against CodeSystems that are in the
// loaded packages, and knows a few code systems by rule (UCUM units, BCP-47
// language tags, MIME types).
//
// Every answer is Member, NotMember or Unknown. Unknown always carries a
// message that says exactly what could not be checked, for example a filter
// on SNOMED CT or LOINC (whose content is not in the packages), a CodeSystem
// that is only a fragment, or a ValueSet or CodeSystem that is not loaded. The
// service never turns "could not check" into a pass or a fail.
//
// ValueSets are compiled once per canonical ("url" or "url|version") and the
// result is cached; a Service is safe for concurrent use. Validating a code
// against an expanded ValueSet is a map lookup.
package terminology

import (
	"fmt"
	"strings"
	"sync"
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

	cache sync.Map // canonical -> *valueSet (compiled, immutable)

	mu      sync.Mutex // serialises compilation (imports recurse inside it)
	systems sync.Map   // canonical -> *codeSystem (nil when not loaded)
}

// New returns a Service that reads ValueSets and CodeSystems from src.
func New(src Source) *Service {
	return &Service{src: src}
}

// maxImportDepth bounds ValueSet imports (compose.include.valueSet) chains.
const maxImportDepth = 32

// ValidateCode says whether the Coding is in the ValueSet with canonical URL
// valueSet ("url" or "url|version"). With an empty valueSet it checks the
// code against its code system (see ValidateCodeInSystem).
func (s *Service) ValidateCode(valueSet string, c Coding) Result {
	if valueSet == "" {
		return s.ValidateCodeInSystem(c)
	}
	vs, err := s.valueSet(valueSet)
	if err != nil {
		return Result{Outcome: Unknown, Message: err.Error()}
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
	if c.System == "" {
		return Result{Outcome: Unknown, Message: fmt.Sprintf("code %q has no system; it could not be checked", c.Code)}
	}
	if b := builtinFor(c.System); b != nil {
		return b.check(c.Code)
	}
	cs := s.codeSystem(c.System, c.Version)
	if cs == nil {
		return Result{Outcome: Unknown, Message: fmt.Sprintf("code system %s is not in the loaded packages; code %q could not be checked", c.System, c.Code)}
	}
	r := cs.lookup(c)
	return r
}

func displayMatches(got string, want []string) bool {
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
// cannot be enumerated make the expansion incomplete (see Expansion).
func (s *Service) Expand(valueSet string) (*Expansion, error) {
	vs, err := s.valueSet(valueSet)
	if err != nil {
		return nil, err
	}
	return vs.expansion(), nil
}

// valueSet returns the compiled ValueSet, compiling it on first use.
func (s *Service) valueSet(canonical string) (*valueSet, error) {
	if v, ok := s.cache.Load(canonical); ok {
		e := v.(*cacheEntry)
		return e.vs, e.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	vs, err := s.compileLocked(canonical, nil)
	return vs, err
}

type cacheEntry struct {
	vs  *valueSet
	err error
}

// compileLocked compiles a ValueSet; s.mu must be held. stack holds the
// canonicals being compiled in this chain of imports, to stop cycles.
func (s *Service) compileLocked(canonical string, stack []string) (*valueSet, error) {
	if v, ok := s.cache.Load(canonical); ok {
		e := v.(*cacheEntry)
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
	var vs *valueSet
	var err error
	switch {
	case !ok:
		err = fmt.Errorf("value set %s is not in the loaded packages", canonical)
	case str(res, "resourceType") != "ValueSet":
		err = fmt.Errorf("%s is a %s, not a ValueSet", canonical, str(res, "resourceType"))
	default:
		vs, err = s.compile(canonical, res, append(stack, canonical))
	}
	s.cache.Store(canonical, &cacheEntry{vs: vs, err: err})
	return vs, err
}

// codeSystem returns the indexed CodeSystem for url (version optional), or nil
// when the packages do not have it.
func (s *Service) codeSystem(url, version string) *codeSystem {
	k := url
	if version != "" {
		k = url + "|" + version
	}
	if v, ok := s.systems.Load(k); ok {
		return v.(*codeSystem)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codeSystemLocked(k)
}

// codeSystemLocked looks up and indexes a CodeSystem; s.mu must be held.
// canonical is "url" or "url|version"; a version that is not loaded falls
// back to the unversioned lookup (the version actually used is in
// codeSystem.version).
func (s *Service) codeSystemLocked(canonical string) *codeSystem {
	if v, ok := s.systems.Load(canonical); ok {
		return v.(*codeSystem)
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
	s.systems.Store(canonical, cs)
	return cs
}
