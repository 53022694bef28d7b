// Package fhirpath evaluates FHIRPath (normative release 2.0, as used by FHIR
// R4, plus the FHIR-specific functions) over the JSON-shaped resource tree of
// profiles/: map[string]any objects, []any arrays, string, json.Number, bool,
// with FHIR JSON conventions (resourceType, primitive ids and extensions under
// "_name"). FHIR XML decoded by profiles/fhirxml has the same shape.
//
// # Compile once, evaluate many
//
//	expr, err := fhirpath.Compile(`hasValue() or (children().count() > id.count())`)
//	...
//	ok, known, err := expr.EvaluateBool(node, env) // invariants
//	coll, err := expr.Evaluate(node, env)           // general use
//
// Compile parses the expression and binds every function, so an unknown
// function, a wrong argument count or a malformed literal is reported once,
// when a profile is loaded. An *Expression is immutable and safe for
// concurrent use; Evaluate never modifies the tree and never re-marshals it:
// it navigates the maps directly and wraps only the nodes it visits.
//
// The focus passed to Evaluate may be a tree node (a map for a resource or a
// complex element, or a primitive value), an *Element (what a previous
// evaluation returned, carrying its type), a Value, or a Collection.
//
// # Env
//
// Env carries everything besides the focus; nil or the zero value works.
//
//   - Resource, RootResource, Context: %resource, %rootResource and
//     %context. Resource defaults to the focus when the focus is a resource;
//     RootResource defaults to Resource; Context to the focus. A validator
//     evaluating an invariant on an element sets Resource to the resource
//     that contains it (the contained resource itself for contained ones) and
//     RootResource to the outermost resource (the Bundle, or the container).
//   - FocusType: the type key of the focus when it is not a resource, for
//     instance "Period" for per-1 or "Observation.component#BackboneElement"
//     for an invariant on a backbone element. Without it a non-resource focus
//     is navigated untyped.
//   - Variables: user variables (%name): a Value, a Collection, a tree node,
//     or a Go string/int/bool. %ucum, %sct, %loinc, %`vs-name` and
//     %`ext-name` are built in.
//   - Types: the TypeResolver. Build one with NewModel from the
//     StructureDefinitions (with snapshots) of the FHIR version's base types
//     and resources, once, and share it. With it, primitives convert to their
//     System types by their FHIR type (an XML "true" becomes a Boolean, a
//     date string a Date), choice elements (value[x]) navigate by base name,
//     and is/as/ofType test FHIR types with their base types (Age is a
//     Quantity, code is a string, Patient a DomainResource). Without it,
//     types are inferred from JSON shape, resourceType and the type suffix of
//     choice properties.
//   - Resolve: the hook for resolve(). It receives the reference text and
//     %resource and returns the target tree. Without it resolve() finds
//     contained resources ("#id") and Bundle entries (by fullUrl, or by
//     type/id) within %rootResource.
//   - MemberOf and ConformsTo: hooks for memberOf() (wire it to
//     profiles/terminology) and conformsTo() (wire it to the validator).
//     Each may answer "unknown", which makes the function return empty.
//     Without a ConformsTo hook, conformsTo() answers only for the core type
//     profiles (http://hl7.org/fhir/StructureDefinition/Patient) and only by
//     type; any other URL is an evaluation error.
//   - Trace receives trace() output. Now fixes now()/today()/timeOfDay().
//   - Strict: navigating to an element the model does not define, or naming
//     a type at the start of a path that the focus is not, is an error
//     instead of an empty result (the official suite's mode="strict").
//     Polymorphic access by type suffix (Observation.valueQuantity) is an
//     error whenever the model knows the parent, as in R4. In Strict mode
//     paths are also checked against the model before evaluation, so
//     (Observation.value as Period).unit fails even when value is no Period.
//   - CheckOrdered: an ordered function (first(), skip(), an indexer, ...)
//     directly on children() or descendants() is an error.
//   - MaxSteps (default DefaultMaxSteps) and Ctx bound the evaluation: a
//     hostile expression or input ends with ErrStepLimit or the context's
//     error, never a hang. Compile bounds expression length
//     (MaxExpressionLength) and nesting (MaxNesting). Evaluate recovers from
//     any internal panic and reports it as an error.
//
// # Values
//
// A Collection holds Values: the System types Boolean, Integer, Decimal
// (exact, with its precision), String, Date, DateTime, Time (partial
// precision, optional offset) and Quantity, or *Element for nodes of the
// tree. Element.FHIRType names the element's FHIR type; Element.Data returns
// the node. Comparisons of dates and times of different precision give empty
// as the specification says; quantities compare through a small built-in
// UCUM table (mass, length, volume, time, amount, pressure, customary US
// units, metric prefixes, products, quotients, exponents, annotations) and
// the calendar duration keywords.
//
// # Errors
//
// Compile returns *SyntaxError. Evaluate returns *EvalError for type errors
// and singleton violations (1 < 'a', (1|2).not()), ErrStepLimit, or a
// cancellation error.
//
// # Conformance
//
// TestOfficialSuite runs the official FHIRPath R4 suite from the corpus and
// prints the score and every failure; see its comment for how tests are
// counted. Static checks run only in Strict mode (and for CheckOrdered),
// just before evaluation, because Compile has no model: they follow paths,
// as, ofType and indexers, and stop at anything else.
//
// FHIR functions: extension(), hasValue(), getValue(), resolve(),
// memberOf() and conformsTo() (through the hooks), htmlChecks() (txt-1,
// txt-2: an XHTML div of the allowed narrative elements and attributes, no
// scripts or event handlers, with some content). subsumes(), subsumedBy(),
// elementDefinition(), slice() and checkModifiers() are not implemented:
// calling them is an evaluation error, never a silent answer.
//
// Extensions beyond FHIRPath 2.0 that published profiles or the suite use:
// collection literals {a, b} (Nictiz MP9 invariants), sort(), lowBoundary(),
// highBoundary(), precision(), comparable(), matchesFull(), encode(),
// decode(), escape(), unescape(), split(), join(), trim() and long literals.
//
// Where the specification leaves room, the engine does what the official
// suite (and so the HL7 Java implementation) expects: as() and ofType() match
// FHIR primitive types exactly (a code is no string there, though
// is(string) is true); date arithmetic drops fractions of the unit (+ 0.1 's'
// adds nothing); comparing a date-time with an offset to one without, at
// hour precision or finer, is empty; a decimal's high boundary is rounded
// half up and its low boundary truncated at the requested precision.
//
// # Sharing
//
// Evaluate reads Env and never modifies it or the tree, so one Env (and one
// Model) may serve any number of concurrent evaluations.
package fhirpath
