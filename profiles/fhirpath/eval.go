package fhirpath

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DefaultMaxSteps bounds one evaluation when Env.MaxSteps is zero.
const DefaultMaxSteps = 2_000_000

// ErrStepLimit is returned when an evaluation exceeds its step budget.
var ErrStepLimit = errors.New("fhirpath: evaluation step limit exceeded")

// EvalError reports an expression that could not be evaluated against its
// input (a type mismatch, a singleton expected where a collection was found,
// an unknown variable, a hook that failed).
type EvalError struct {
	Pos int
	Msg string
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("fhirpath evaluation error at %d: %s", e.Pos, e.Msg)
}

func evalErr(n *node, format string, args ...any) error {
	pos := 0
	if n != nil {
		pos = n.pos
	}
	return &EvalError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Expression is a compiled FHIRPath expression. It is immutable and safe for
// concurrent use by any number of goroutines.
type Expression struct {
	src  string
	root *node
}

// String returns the expression text.
func (e *Expression) String() string { return e.src }

// Compile parses expr and binds its functions. Unknown functions, wrong
// argument counts and malformed type specifiers are errors here, so that an
// invariant that cannot work is reported once, when its profile is loaded.
func Compile(expr string) (*Expression, error) {
	root, err := parse(expr)
	if err != nil {
		return nil, err
	}
	if err := bind(root); err != nil {
		return nil, err
	}
	return &Expression{src: expr, root: root}, nil
}

// MustCompile is Compile for expressions known to be valid; it panics on error.
func MustCompile(expr string) *Expression {
	e, err := Compile(expr)
	if err != nil {
		panic(err)
	}
	return e
}

func bind(n *node) error {
	if n == nil {
		return nil
	}
	if err := bind(n.left); err != nil {
		return err
	}
	if err := bind(n.right); err != nil {
		return err
	}
	if n.kind == nFunc {
		f, ok := functions[n.name]
		if !ok {
			return &SyntaxError{n.pos, "unknown function " + n.name + "()"}
		}
		if len(n.args) < f.minArgs || len(n.args) > f.maxArgs {
			return &SyntaxError{n.pos, fmt.Sprintf("%s() takes %d to %d arguments, got %d", n.name, f.minArgs, f.maxArgs, len(n.args))}
		}
		n.fn = f
		if f.typeArg {
			ts, ok := typeSpecOf(n.args[0])
			if !ok {
				return &SyntaxError{n.pos, n.name + "() needs a type name"}
			}
			n.typ = ts
			return nil
		}
	}
	for _, a := range n.args {
		if err := bind(a); err != nil {
			return err
		}
	}
	return nil
}

func typeSpecOf(a *node) (typeSpec, bool) {
	switch a.kind {
	case nIdent:
		return typeSpec{name: a.name}, true
	case nMember:
		if a.left.kind == nIdent {
			return typeSpec{ns: a.left.name, name: a.name}, true
		}
	}
	return typeSpec{}, false
}

// Env is what an evaluation may see besides its focus. The zero value (or
// nil) works: no model, no hooks, default limits.
type Env struct {
	// Resource is %resource: the resource that contains the focus. When nil,
	// the focus is used if it is a resource.
	Resource any
	// RootResource is %rootResource (the container of a contained resource, or
	// the Bundle entry's resource). Defaults to Resource.
	RootResource any
	// Context is %context: the node the expression is evaluated on. Defaults
	// to the focus.
	Context any
	// FocusType is the FHIR type key of the focus when it is not a resource
	// (e.g. "Quantity" or "Observation.component#BackboneElement"); with it,
	// invariants on data types and backbone elements navigate precisely.
	FocusType string
	// Variables are user variables, %name. A value may be a Value, a
	// Collection, a tree node (map[string]any, []any, string, bool,
	// json.Number) or a Go string, int or bool.
	Variables map[string]any
	// Types resolves element types; nil means none: types are then inferred
	// from JSON shape, resourceType and choice-element suffixes.
	Types TypeResolver
	// Resolve implements resolve(): it gets the reference text (a
	// Reference.reference or a canonical/uri string) and the resource that
	// holds it (%resource) and returns the referenced resource. Nil: resolve()
	// finds contained resources ("#id") and Bundle entries by fullUrl or
	// type/id within %rootResource, and nothing else.
	Resolve func(reference string, from any) (any, bool)
	// MemberOf implements memberOf(valueSet) for a code, Coding or
	// CodeableConcept element. known=false means it could not be decided
	// (the result is then empty). Nil: memberOf() returns empty.
	MemberOf func(v Value, valueSet string) (member bool, known bool)
	// ConformsTo implements conformsTo(profile). Nil: conformsTo() returns empty.
	ConformsTo func(v Value, profile string) (conforms bool, known bool)
	// Trace receives trace(name[, projection]) output; nil discards it.
	Trace func(name string, c Collection)
	// Now fixes now(), today() and timeOfDay(); zero means the wall clock at
	// the start of the evaluation.
	Now time.Time
	// Strict makes navigation to an element the model does not define an
	// error (instead of an empty result), and likewise a type name that does
	// not match the focus at the start of a path.
	Strict bool
	// CheckOrdered makes an ordered function (first, last, tail, skip, take,
	// single, an indexer) applied directly to children() or descendants(),
	// whose order the specification leaves open, an error before evaluation.
	CheckOrdered bool
	// MaxSteps bounds the number of evaluation steps (0: DefaultMaxSteps).
	MaxSteps int
	// Ctx, when set, cancels the evaluation.
	Ctx context.Context
}

type state struct {
	env    *Env
	types  TypeResolver
	steps  int
	max    int
	now    time.Time
	nowSet bool
	root   Collection
}

type frame struct {
	focus Collection // what identifiers at the start of a path navigate from
	this  Value
	index int
	hasIx bool
	total Collection
	hasT  bool
}

// Evaluate evaluates the expression with focus as its input: a tree node
// (map[string]any for a resource or complex element, or a primitive), an
// *Element, a Value or a Collection. env may be nil.
func (e *Expression) Evaluate(focus any, env *Env) (out Collection, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("fhirpath: internal error evaluating %q: %v", e.src, r)
		}
	}()
	if env == nil {
		env = &Env{}
	}
	run := &struct {
		s   state
		fr  frame
		one [1]Value
	}{}
	s, fr := &run.s, &run.fr
	s.env, s.types, s.max = env, env.Types, env.MaxSteps
	if s.max <= 0 {
		s.max = DefaultMaxSteps
	}
	if el, ok := focus.(*Element); ok {
		run.one[0] = el
		s.root = run.one[:]
	} else {
		s.root = toCollection(focus, env.FocusType)
	}
	fr.focus = s.root
	if len(s.root) == 1 {
		fr.this = s.root[0]
	}
	if (env.Strict || env.CheckOrdered) && s.types != nil && len(s.root) == 1 {
		if el, ok := s.root[0].(*Element); ok && el.typ != "" {
			if _, err := s.staticTypes(e.root, []string{el.typ}); err != nil {
				return nil, err
			}
		}
	}
	out, err = s.eval(e.root, fr)
	if err == nil && s.steps > s.max {
		return nil, ErrStepLimit // a comparison ran out of steps
	}
	return out, err
}

// EvaluateBool evaluates an invariant: an empty result is ok=false (no
// answer), a single boolean is its value, and any other non-empty result is
// true. Treating a result of several items as true (rather than as the
// singleton error of the specification) is what the HL7 Java validator does,
// and STU3's ele-1, "hasValue() | (children().count() > id.count())", needs it.
func (e *Expression) EvaluateBool(focus any, env *Env) (value bool, ok bool, err error) {
	c, err := e.Evaluate(focus, env)
	if err != nil {
		return false, false, err
	}
	if len(c) > 1 {
		return true, true, nil
	}
	return singletonBool(c, e.root)
}

func toCollection(v any, typ string) Collection {
	switch x := v.(type) {
	case nil:
		return Collection{}
	case Collection:
		return x
	case Value:
		return Collection{x}
	case []any:
		out := make(Collection, 0, len(x))
		for _, it := range x {
			out = append(out, toCollection(it, typ)...)
		}
		return out
	case int:
		return Collection{Integer(x)}
	case int64:
		return Collection{Integer(x)}
	}
	return Collection{NewElement(v, typ)}
}

func (s *state) step() error {
	s.steps++
	if s.steps > s.max {
		return ErrStepLimit
	}
	if s.steps&1023 == 0 && s.env.Ctx != nil {
		if err := s.env.Ctx.Err(); err != nil {
			return fmt.Errorf("fhirpath: evaluation cancelled: %w", err)
		}
	}
	return nil
}

// charge accounts for work proportional to n items.
func (s *state) charge(n int) error {
	s.steps += n
	if s.steps > s.max {
		return ErrStepLimit
	}
	return nil
}

func (s *state) eval(n *node, fr *frame) (Collection, error) {
	if err := s.step(); err != nil {
		return nil, err
	}
	switch n.kind {
	case nLiteral:
		return n.lit, nil
	case nThis:
		if fr.this == nil {
			return fr.focus, nil
		}
		return Collection{fr.this}, nil
	case nIndexVar:
		if !fr.hasIx {
			return nil, evalErr(n, "$index is not defined here")
		}
		return Collection{Integer(fr.index)}, nil
	case nTotal:
		if !fr.hasT {
			return nil, evalErr(n, "$total is only defined in aggregate()")
		}
		return fr.total, nil
	case nVar:
		return s.variable(n)
	case nIdent:
		return s.ident(n, fr)
	case nMember:
		in, err := s.eval(n.left, fr)
		if err != nil {
			return nil, err
		}
		return s.navigate(in, n.name, n)
	case nFunc:
		if n.name == "count" {
			// count() evaluates its own input (to count children cheaply).
			if n.left == nil {
				in, _ := s.funcInput(n, fr)
				return intC(len(in)), nil
			}
			return n.fn.call(s, n, nil, fr)
		}
		in, err := s.funcInput(n, fr)
		if err != nil {
			return nil, err
		}
		return n.fn.call(s, n, in, fr)
	case nIndexer:
		in, err := s.eval(n.left, fr)
		if err != nil {
			return nil, err
		}
		ix, err := s.eval(n.right, fr)
		if err != nil {
			return nil, err
		}
		if len(ix) == 0 {
			return Collection{}, nil
		}
		i, ok := asInteger(ix[0])
		if len(ix) != 1 || !ok {
			return nil, evalErr(n, "index must be a single integer")
		}
		if i < 0 || int(i) >= len(in) {
			return Collection{}, nil
		}
		return Collection{in[i]}, nil
	case nNeg:
		in, err := s.eval(n.left, fr)
		if err != nil {
			return nil, err
		}
		return negate(in, n)
	case nIs:
		in, err := s.eval(n.left, fr)
		if err != nil {
			return nil, err
		}
		if len(in) == 0 {
			return Collection{}, nil
		}
		if len(in) > 1 {
			return nil, evalErr(n, "'is' needs a single item, got %d", len(in))
		}
		return Collection{Boolean(s.isType(in[0], n.typ))}, nil
	case nAs:
		in, err := s.eval(n.left, fr)
		if err != nil {
			return nil, err
		}
		if len(in) > 1 {
			return nil, evalErr(n, "'as' needs a single item, got %d", len(in))
		}
		return s.asType(in, n.typ, n)
	case nBinary:
		return s.binary(n, fr)
	case nList:
		out := Collection{}
		for _, a := range n.args {
			r, err := s.eval(a, fr)
			if err != nil {
				return nil, err
			}
			out = append(out, r...)
		}
		return out, nil
	}
	return nil, evalErr(n, "unsupported expression")
}

// funcInput evaluates the input of a function call: its left operand, or
// $this (the frame's focus) for a call at the start of a path.
func (s *state) funcInput(n *node, fr *frame) (Collection, error) {
	if n.left == nil {
		return fr.focus, nil
	}
	return s.eval(n.left, fr)
}

func (s *state) variable(n *node) (Collection, error) {
	if v, ok := s.env.Variables[n.name]; ok {
		return toCollection(v, ""), nil
	}
	switch n.name {
	case "resource":
		if s.env.Resource != nil {
			return toCollection(s.env.Resource, ""), nil
		}
		return s.defaultResource(), nil
	case "rootResource":
		if s.env.RootResource != nil {
			return toCollection(s.env.RootResource, ""), nil
		}
		if s.env.Resource != nil {
			return toCollection(s.env.Resource, ""), nil
		}
		return s.defaultResource(), nil
	case "context":
		if s.env.Context != nil {
			return toCollection(s.env.Context, s.env.FocusType), nil
		}
		return s.root, nil
	case "ucum":
		return Collection{String("http://unitsofmeasure.org")}, nil
	case "sct":
		return Collection{String("http://snomed.info/sct")}, nil
	case "loinc":
		return Collection{String("http://loinc.org")}, nil
	}
	if rest, ok := strings.CutPrefix(n.name, "vs-"); ok {
		return Collection{String("http://hl7.org/fhir/ValueSet/" + rest)}, nil
	}
	if rest, ok := strings.CutPrefix(n.name, "ext-"); ok {
		return Collection{String("http://hl7.org/fhir/StructureDefinition/" + rest)}, nil
	}
	return nil, evalErr(n, "undefined variable %%%s", n.name)
}

func (s *state) defaultResource() Collection {
	if len(s.root) == 1 {
		if e, ok := s.root[0].(*Element); ok && isResourceData(e.data) {
			return s.root
		}
	}
	return Collection{}
}

func isResourceData(d any) bool {
	m, ok := d.(map[string]any)
	if !ok {
		return false
	}
	_, ok = m["resourceType"].(string)
	return ok
}

// ident evaluates a name at the start of a path: a type name matching the
// focus returns the focus; anything else is navigation from the focus.
func (s *state) ident(n *node, fr *frame) (Collection, error) {
	focus := fr.focus
	if n.name != "" && n.name[0] >= 'A' && n.name[0] <= 'Z' {
		matched := false
		out := Collection{}
		for _, v := range focus {
			if e, ok := v.(*Element); ok && s.typeMatches(e.typ, n.name) {
				out = append(out, v)
				matched = true
			}
		}
		if matched {
			return out, nil
		}
		if s.isKnownType(n.name) {
			if s.env.Strict {
				return nil, evalErr(n, "the focus is not a %s", n.name)
			}
			// A type name that is also no element of the focus: empty.
			if res, err := s.navigate(focus, n.name, n); err != nil || len(res) > 0 {
				return res, err
			}
			return Collection{}, nil
		}
	}
	return s.navigate(focus, n.name, n)
}

func (s *state) isKnownType(name string) bool {
	if m, ok := s.types.(*Model); ok && m != nil {
		if m.Knows(name) {
			return true
		}
	}
	return builtinBase(name) != "" || name == "Resource"
}

// typeMatches reports whether the type key (or one of its bases) is name.
func (s *state) typeMatches(key, name string) bool {
	t := typeName(key)
	for i := 0; i < 30 && t != ""; i++ {
		if t == name {
			return true
		}
		t = s.base(t)
	}
	return false
}

func (s *state) base(t string) string {
	if s.types != nil {
		return s.types.Base(t)
	}
	return builtinBase(t)
}

// navigate returns the children called name of every item of in.
func (s *state) navigate(in Collection, name string, n *node) (Collection, error) {
	var out Collection
	for _, v := range in {
		e, ok := v.(*Element)
		if !ok {
			continue
		}
		var err error
		out, err = s.child(e, name, out, n)
		if err != nil {
			return nil, err
		}
	}
	if out == nil {
		out = Collection{}
	}
	return out, s.charge(len(out))
}

// child appends the children of e called name to out.
func (s *state) child(e *Element, name string, out Collection, n *node) (Collection, error) {
	m, isMap := e.data.(map[string]any)
	if !isMap {
		// A primitive: only id and extension, from its "_name" companion.
		if e.ext != nil && (name == "id" || name == "extension") {
			typ := "string"
			if name == "extension" {
				typ = "Extension"
			}
			return appendElems(out, e.ext[name], nil, typ, name), nil
		}
		return out, nil
	}
	if name == "resourceType" {
		return out, nil
	}
	if s.types != nil && e.typ != "" {
		info, ok := s.types.Child(e.typ, name)
		if ok {
			if !info.Choice {
				typ := ""
				if len(info.Types) > 0 {
					typ = info.Types[0]
				}
				return appendElems(out, m[name], m["_"+name], typ, name), nil
			}
			return s.choice(m, name, info.Types, out), nil
		}
		if s.env.Strict {
			return nil, evalErr(n, "%s has no element %s", typeName(e.typ), name)
		}
		if s.isChoiceAlias(e.typ, name) {
			return nil, evalErr(n, "%s is a choice element: navigate it by its base name (R4 has no polymorphic access by type suffix)", name)
		}
	}
	raw, found := m[name]
	ext, extFound := m["_"+name]
	if found || extFound {
		typ := ""
		if s.types != nil && e.typ != "" {
			typ = s.propertyType(e.typ, name)
		}
		return appendElems(out, raw, ext, typ, name), nil
	}
	// An untyped choice element: valueQuantity, valueString, ...
	for k, raw := range m {
		if len(k) > len(name) && strings.HasPrefix(k, name) {
			if t := choiceType(k[len(name):]); t != "" {
				out = appendElems(out, raw, m["_"+k], t, k)
			}
		}
	}
	return out, nil
}

func (s *state) choice(m map[string]any, name string, types []string, out Collection) Collection {
	if len(m) <= len(types) {
		for k, raw := range m {
			if len(k) <= len(name) || !strings.HasPrefix(k, name) {
				continue
			}
			suffix := k[len(name):]
			for _, t := range types {
				if capitalise(typeName(t)) == suffix {
					out = appendElems(out, raw, m["_"+k], t, k)
					break
				}
			}
		}
		return out
	}
	for _, t := range types {
		k := name + capitalise(typeName(t))
		raw, ok := m[k]
		ext, ok2 := m["_"+k]
		if ok || ok2 {
			out = appendElems(out, raw, ext, t, k)
		}
	}
	return out
}

func (s *state) isChoiceAlias(parent, key string) bool {
	for i := len(key) - 1; i > 0; i-- {
		if key[i] < 'A' || key[i] > 'Z' {
			continue
		}
		if info, ok := s.types.Child(parent, key[:i]); ok && info.Choice {
			return true
		}
	}
	return false
}

// propertyType returns the type key of JSON property key of a node of type
// parent, resolving choice properties such as valueQuantity.
func (s *state) propertyType(parent, key string) string {
	if s.types == nil || parent == "" {
		if len(key) > 1 {
			for i := len(key) - 1; i > 0; i-- {
				if key[i] >= 'A' && key[i] <= 'Z' {
					if t := choiceType(key[i:]); t != "" {
						return t
					}
					break
				}
			}
		}
		return ""
	}
	if info, ok := s.types.Child(parent, key); ok && !info.Choice {
		if len(info.Types) > 0 {
			return info.Types[0]
		}
		return ""
	}
	for i := len(key) - 1; i > 0; i-- {
		if key[i] < 'A' || key[i] > 'Z' {
			continue
		}
		if info, ok := s.types.Child(parent, key[:i]); ok && info.Choice {
			for _, t := range info.Types {
				if capitalise(typeName(t)) == key[i:] {
					return t
				}
			}
		}
	}
	return ""
}

// appendElems wraps raw (a value or an array) and its "_name" companion.
func appendElems(out Collection, raw, ext any, typ, name string) Collection {
	if arr, ok := raw.([]any); ok {
		exts, _ := ext.([]any)
		for i, it := range arr {
			var em map[string]any
			if i < len(exts) {
				em, _ = exts[i].(map[string]any)
			}
			if it == nil && em == nil {
				continue
			}
			out = append(out, newChild(it, em, typ, name))
		}
		return out
	}
	if raw == nil {
		if exts, ok := ext.([]any); ok {
			for _, x := range exts {
				if em, ok := x.(map[string]any); ok {
					out = append(out, newChild(nil, em, typ, name))
				}
			}
			return out
		}
		em, _ := ext.(map[string]any)
		if em == nil {
			return out
		}
		return append(out, newChild(nil, em, typ, name))
	}
	em, _ := ext.(map[string]any)
	return append(out, newChild(raw, em, typ, name))
}

func newChild(data any, ext map[string]any, typ, name string) *Element {
	if m, ok := data.(map[string]any); ok {
		if rt, ok := m["resourceType"].(string); ok {
			typ = rt
		}
	}
	return &Element{data: data, ext: ext, typ: typ, name: name}
}

// childCount counts the child elements of e without wrapping them.
func (s *state) childCount(e *Element) int {
	m, ok := e.data.(map[string]any)
	if !ok {
		if e.ext == nil {
			return 0
		}
		n := 0
		if e.ext["id"] != nil {
			n++
		}
		if a, ok := e.ext["extension"].([]any); ok {
			n += len(a)
		} else if e.ext["extension"] != nil {
			n++
		}
		return n
	}
	n := 0
	for k, v := range m {
		if k == "resourceType" || k == "fhir_comments" {
			continue
		}
		if k[0] == '_' {
			if _, ok := m[k[1:]]; ok {
				continue // counted with its value (below)
			}
			n += countItems(v)
			continue
		}
		if a, ok := v.([]any); ok {
			exts, _ := m["_"+k].([]any)
			for i, it := range a {
				if it != nil || (i < len(exts) && exts[i] != nil) {
					n++
				}
			}
			continue
		}
		if v != nil || m["_"+k] != nil {
			n++
		}
	}
	return n
}

func countItems(v any) int {
	if a, ok := v.([]any); ok {
		n := 0
		for _, it := range a {
			if it != nil {
				n++
			}
		}
		return n
	}
	if v == nil {
		return 0
	}
	return 1
}

// children returns all child elements of e (in property-name order).
func (s *state) children(e *Element, out Collection) Collection {
	m, ok := e.data.(map[string]any)
	if !ok {
		if e.ext != nil {
			out = appendElems(out, e.ext["id"], nil, "string", "id")
			out = appendElems(out, e.ext["extension"], nil, "Extension", "extension")
		}
		return out
	}
	var buf [24]string
	keys := buf[:0]
	for k := range m {
		if k == "resourceType" || k == "fhir_comments" {
			continue
		}
		if k[0] == '_' {
			if _, ok := m[k[1:]]; ok {
				continue
			}
			k = k[1:]
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = appendElems(out, m[k], m["_"+k], s.propertyType(e.typ, k), k)
	}
	return out
}

func negate(in Collection, n *node) (Collection, error) {
	if len(in) == 0 {
		return Collection{}, nil
	}
	if len(in) > 1 {
		return nil, evalErr(n, "unary minus needs a single item")
	}
	v, _ := toSystem(in[0])
	switch x := v.(type) {
	case Integer:
		return Collection{-x}, nil
	case Decimal:
		return Collection{x.neg()}, nil
	case Quantity:
		return Collection{Quantity{Value: x.Value.neg(), Unit: x.Unit}}, nil
	}
	return nil, evalErr(n, "unary minus needs a number or quantity, got %s", typeLabel(in[0]))
}

func typeLabel(v Value) string {
	t := v.TypeInfo()
	if t.Name == "" {
		return "FHIR element"
	}
	return t.String()
}

// isType implements 'is'.
func (s *state) isType(v Value, ts typeSpec) bool {
	if e, ok := v.(*Element); ok {
		if ts.ns == "System" {
			return false
		}
		if e.typ == "" {
			if isResourceData(e.data) {
				return s.typeMatches(e.data.(map[string]any)["resourceType"].(string), ts.name)
			}
			return false
		}
		return s.typeMatches(e.typ, ts.name)
	}
	if ts.ns == "FHIR" {
		return false
	}
	return v.TypeInfo().Name == ts.name
}

// isExactly is the test of as() and ofType(): like is, except that a FHIR
// primitive type matches only itself (a code is no string for as(string)).
func (s *state) isExactly(v Value, ts typeSpec) bool {
	if e, ok := v.(*Element); ok && ts.ns != "System" {
		if _, prim := builtinPrimitives[ts.name]; prim && e.typ != "" {
			return typeName(e.typ) == ts.name
		}
	}
	return s.isType(v, ts)
}

// checkTypeName rejects type names that name no System type and no type the model knows.
func (s *state) checkTypeName(ts typeSpec, n *node) error {
	if ts.ns == "System" {
		if _, ok := systemTypes[ts.name]; ok {
			return nil
		}
		return nil // System.Patient simply matches nothing
	}
	if _, ok := systemTypes[ts.name]; ok && ts.ns == "" {
		return nil
	}
	if s.types == nil || s.isKnownType(ts.name) {
		return nil
	}
	if m, ok := s.types.(*Model); ok && m.Knows(ts.name) {
		return nil
	}
	if s.types.Base(ts.name) != "" {
		return nil
	}
	return evalErr(n, "unknown type %s", ts.name)
}

var systemTypes = map[string]bool{"Boolean": true, "Integer": true, "Decimal": true, "String": true,
	"Date": true, "DateTime": true, "Time": true, "Quantity": true, "Long": true}

func (s *state) asType(in Collection, ts typeSpec, n *node) (Collection, error) {
	if err := s.checkTypeName(ts, n); err != nil {
		return nil, err
	}
	out := Collection{}
	for _, v := range in {
		if s.isExactly(v, ts) {
			out = append(out, v)
		}
	}
	return out, nil
}

// staticTypes infers the type keys an expression can produce from the
// focus types, for Strict mode: a path that names an element no possible
// type has is an error before anything is evaluated. nil means unknown (the
// check stops there).
func (s *state) staticTypes(n *node, focus []string) ([]string, error) {
	switch n.kind {
	case nIdent, nMember:
		in := focus
		if n.kind == nMember {
			var err error
			if in, err = s.staticTypes(n.left, focus); err != nil || in == nil {
				return nil, err
			}
		} else if n.name != "" && n.name[0] >= 'A' && n.name[0] <= 'Z' {
			for _, t := range in {
				if s.typeMatches(t, n.name) {
					return []string{n.name}, nil
				}
			}
		}
		var out []string
		for _, t := range in {
			switch typeName(t) {
			case "Resource", "DomainResource", "Element", "BackboneElement", "Base":
				if !strings.Contains(t, "#") {
					return nil, nil // the concrete type is known only at run time
				}
			}
			if info, ok := s.types.Child(t, n.name); ok {
				out = append(out, info.Types...)
			}
		}
		if len(out) == 0 {
			names := make([]string, len(in))
			for i, t := range in {
				names[i] = typeName(t)
			}
			return nil, evalErr(n, "no element %s on %s", n.name, strings.Join(names, " or "))
		}
		return out, nil
	case nAs:
		if _, err := s.staticTypes(n.left, focus); err != nil {
			return nil, err
		}
		return []string{n.typ.name}, nil
	case nIndexer:
		if err := s.checkOrdered(n, n.left); err != nil {
			return nil, err
		}
		return s.staticTypes(n.left, focus)
	case nFunc:
		switch n.name {
		case "first", "last", "tail", "skip", "take", "single":
			if err := s.checkOrdered(n, n.left); err != nil {
				return nil, err
			}
		}
		if n.left != nil {
			if _, err := s.staticTypes(n.left, focus); err != nil {
				return nil, err
			}
		}
		if n.name == "as" || n.name == "ofType" {
			return []string{n.typ.name}, nil
		}
	}
	return nil, nil
}

// checkOrdered rejects an ordered function applied to the unordered result
// of children() or descendants() (Env.CheckOrdered).
func (s *state) checkOrdered(n, input *node) error {
	if !s.env.CheckOrdered || input == nil || input.kind != nFunc {
		return nil
	}
	if input.name == "children" || input.name == "descendants" {
		return evalErr(n, "%s() is unordered: an ordered function cannot follow it", input.name)
	}
	return nil
}
