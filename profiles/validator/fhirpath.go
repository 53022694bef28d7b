package validator

import (
	"strings"
	"sync"

	"github.com/bcbench/bcbench/profiles/fhirpath"
	"github.com/bcbench/bcbench/profiles/registry"
	"github.com/bcbench/bcbench/profiles/terminology"
)

// fhirpathEngine evaluates invariants with profiles/fhirpath. Compiled
// expressions and the type model are cached; it is safe for concurrent use.
type fhirpathEngine struct {
	v         *Validator
	exprs     memo[string, *compiledExpr] // by expression text
	modelOnce sync.Once
	model     *fhirpath.Model
}

type compiledExpr struct {
	e   *fhirpath.Expression
	err error
}

// newInvariantEngine returns the FHIRPath engine for invariants.
func newInvariantEngine(v *Validator) invariantEngine { return &fhirpathEngine{v: v} }

// models caches type models by the set of base definitions they were built
// from (registries made with Registry.With share their core's model).
var models sync.Map // modelKey → *modelEntry

type modelKey struct {
	first *registry.Entry
	n     int
}

type modelEntry struct {
	once  sync.Once
	model *fhirpath.Model
}

// types builds the FHIRPath type model from the base definitions once.
func (f *fhirpathEngine) types() *fhirpath.Model {
	f.modelOnce.Do(func() {
		var bases []*registry.Entry
		for _, e := range f.v.reg.Entries() {
			if e.ResourceType == "StructureDefinition" && e.Derivation != "constraint" && e.Kind != "logical" {
				bases = append(bases, e)
			}
		}
		key := modelKey{n: len(bases)}
		if len(bases) > 0 {
			key.first = bases[0]
		}
		me, _ := models.LoadOrStore(key, &modelEntry{})
		m := me.(*modelEntry)
		m.once.Do(func() {
			defs := make([]map[string]any, 0, len(bases))
			for _, e := range bases {
				if t, err := e.Tree(); err == nil {
					defs = append(defs, t)
				}
			}
			m.model = fhirpath.NewModel(defs)
		})
		f.model = m.model
	})
	return f.model
}

// compile compiles an expression once.
func (f *fhirpathEngine) compile(expr string) (*fhirpath.Expression, error) {
	ce, ok := f.exprs.get(expr)
	if !ok {
		e, err := fhirpath.Compile(lenientAs(expr))
		ce = &compiledExpr{e: e, err: err}
		f.exprs.put(expr, ce) // the expressions of the loaded definitions
	}
	return ce.e, ce.err
}

func (f *fhirpathEngine) check(expr string, focus any, focusType string, resource, root map[string]any) (bool, bool, error) {
	compiled, err := f.compile(expr)
	if err != nil {
		return false, false, err
	}
	ce := &compiledExpr{e: compiled}
	env := &fhirpath.Env{
		Resource:     resource,
		RootResource: root,
		FocusType:    focusType,
		Types:        f.types(),
		MaxSteps:     100000,
		MemberOf: func(val fhirpath.Value, vs string) (bool, bool) {
			return f.memberOf(val, vs)
		},
	}
	if m, ok := focus.(map[string]any); ok && m["resourceType"] != nil {
		env.FocusType = ""
	}
	return ce.e.EvaluateBool(focus, env)
}

// memberOf answers memberOf() for codes through the terminology service.
func (f *fhirpathEngine) memberOf(val fhirpath.Value, vs string) (bool, bool) {
	el, ok := val.(*fhirpath.Element)
	if !ok {
		if s, ok := val.(fhirpath.String); ok {
			r := (&run{v: f.v}).validateCode(vs, terminology.Coding{Code: string(s)})
			return r.Outcome == terminology.Member, r.Outcome != terminology.Unknown
		}
		return false, false
	}
	node := el.Data()
	var cs []terminology.Coding
	switch x := node.(type) {
	case string:
		cs = append(cs, terminology.Coding{Code: x})
	case map[string]any:
		if _, has := x["coding"]; has {
			for _, c := range asList(x["coding"]) {
				cm, _ := c.(map[string]any)
				cs = append(cs, coding(cm))
			}
		} else {
			cs = append(cs, coding(x))
		}
	}
	known := true
	for _, c := range cs {
		r := (&run{v: f.v}).validateCode(vs, c)
		if r.Outcome == terminology.Member {
			return true, true
		}
		if r.Outcome == terminology.Unknown {
			known = false
		}
	}
	return false, known
}

// lenientAs reads the function form x.as(T) in an invariant as x.ofType(T).
// FHIRPath makes as() on several items an error, but the core invariants
// were written for engines that filter (dom-3 applies
// descendants().as(canonical) to every descendant), and the HL7 validator
// evaluates them that way; on one item or none the two are the same. The
// operator form (x as T) keeps the strict meaning.
func lenientAs(expr string) string {
	if !strings.Contains(expr, ".as(") {
		return expr
	}
	return strings.ReplaceAll(expr, ".as(", ".ofType(")
}

// Model returns the FHIRPath type model of the validator's FHIR version,
// built once from the base definitions of its packages and shared, for
// callers that evaluate FHIRPath on resources of that version (TestScript
// asserts, search parameters).
func (v *Validator) Model() *fhirpath.Model {
	if f, ok := v.inv.(*fhirpathEngine); ok {
		return f.types()
	}
	return nil
}
