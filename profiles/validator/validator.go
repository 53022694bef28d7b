// Package validator checks FHIR resources (JSON or XML, R4 or STU3) against
// the base specification and profiles loaded from FHIR packages, and reports
// the findings as a FHIR OperationOutcome.
//
// # Constructing a validator
//
// Give the package folders (or .tgz files, or name#version from the package
// cache, or any folder of conformance resources) and the FHIR version:
//
//	v, err := validator.New(validator.Options{
//		FHIRVersion: "4.0.1",
//		Packages: []string{
//			"../shared/corpus/hl7-fhir-core/4.0.1",        // the core package: required
//			"../shared/corpus/nictiz-r4-zib2020/resources", // zib2020 + nl-core
//			"../shared/corpus/nictiz-r4-mp9",               // MP9
//		},
//	})
//	out := v.Validate(ctx, data, validator.Request{Profiles: []string{url}})
//	if out.HasErrors() { fmt.Print(out.Text()) }
//
// The core package of the FHIR version must be among the packages (it
// provides the base definitions and snapshots everything is built on). A
// registry loaded elsewhere can be shared with Options.Registry. A Validator
// is safe for concurrent use; compiled profiles are cached.
//
// # What is checked
//
// For the resource (and every contained or Bundle-entry resource): unknown
// elements; JSON array or single shape; types and primitive formats;
// cardinality; fixed and pattern values; bindings through the terminology
// service (required: error, extensible: warning, preferred/example: not
// checked; an undecidable code is a warning that says what could not be
// checked); slicing (value, pattern, exists, type and profile
// discriminators; open, closed, ordered); extensions by URL against their
// definitions; references (target types and profiles; resolution inside
// Bundles and contained resources); FHIRPath invariants (error severity:
// error, warning severity: warning) through profiles/fhirpath; Bundle rules
// (fullUrl, duplicates, references in documents); QuestionnaireResponse
// answers against their Questionnaire. docs/validation.md has the details.
// The profiles checked are those of Request.Profiles, else those the resource
// claims in meta.profile; the base definition of the resource type always
// (through the profiles, whose snapshots contain it, or on its own).
package validator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/bcbench/bcbench/profiles/fhirxml"
	"github.com/bcbench/bcbench/profiles/outcome"
	"github.com/bcbench/bcbench/profiles/registry"
	"github.com/bcbench/bcbench/profiles/snapshot"
	"github.com/bcbench/bcbench/profiles/terminology"
)

// Limits on input.
const (
	// MaxInput is the largest resource (in bytes) Validate accepts.
	MaxInput = 64 << 20
	// MaxDepth is the deepest JSON nesting Validate accepts.
	MaxDepth = 500
	// maxIssues bounds the issues of one outcome.
	maxIssues = 1000
	// maxPooledItems bounds the item and property stacks kept for later runs.
	maxPooledItems = 1 << 14
)

// Options configure New.
type Options struct {
	// FHIRVersion is "4.0.1" (R4, the default) or "3.0.1"/"3.0.2" (STU3).
	FHIRVersion string
	// Packages are the sources to load (see profiles/registry.Load).
	Packages []string
	// Registry, when set, is used instead of loading Packages.
	Registry *registry.Registry
	// CacheDir is the FHIR package cache for name#version sources.
	CacheDir string
	// Terminology checks bindings; nil uses terminology.New(registry).
	Terminology Terminology
}

// Terminology checks codes against ValueSets; *terminology.Service satisfies it.
type Terminology interface {
	ValidateCode(valueSet string, c terminology.Coding) terminology.Result
}

// Request says how to validate one resource.
type Request struct {
	// Format is "json", "xml" or "" (sniffed from the first byte).
	Format string
	// Profiles are canonical URLs to validate against; empty means the
	// profiles the resource claims in meta.profile.
	Profiles []string
	// FillPlaceholders replaces Touchstone/Nictiz placeholders such as
	// ${DATE, T, D, -146} and ${UUID} with concrete values before decoding.
	FillPlaceholders bool
	// AllowComments accepts // and /* */ comments in JSON input (JSON5
	// style), as some authoring tools write them; they are reported as a
	// warning and ignored.
	AllowComments bool
	// SecurityChecks makes text that looks like embedded HTML in string
	// values an error (the HL7 validator's security checks), for systems
	// whose strings may end up in a web page unescaped.
	SecurityChecks bool
	// NoHTMLInMarkdown makes HTML tags in markdown an error (by default a
	// warning: the presentation layer should escape them).
	NoHTMLInMarkdown bool
	// BundleRules validate chosen entries of a Bundle against a profile, as
	// the HL7 validator's -bundle option does: Rule selects entries
	// ("Type", "Type:N" or "Type:id", see profiles/bundle.Select).
	BundleRules []BundleRule
	// Resolve, when set, finds the resource a reference points to when it
	// is neither contained nor in the Bundle validated (the resources a
	// candidate publishes beside this one: its Practitioner, Organization,
	// Medication). The target is then checked against the target profiles
	// the referring element demands; a reference that does not resolve is
	// undecided where a target profile asks more than the base type.
	Resolve func(reference string) (map[string]any, bool)
	// NoExampleURLs makes URLs on example.org (the domain FHIR's examples
	// use) errors: in uri, url and canonical values, and as the url of an
	// extension no loaded package defines (by default undecided). The HL7
	// validator's "examples not allowed" mode; the suites do not set it.
	NoExampleURLs bool
	// WrongDisplayIsError makes a display that is not one of the code's
	// known displays an error, as the HL7 validator reports it by default;
	// bcbench's default is a warning (the Nictiz examples carry Dutch and
	// abbreviated displays), as the HL7 validator's
	// display-issues-are-warnings mode has it.
	WrongDisplayIsError bool
	// HL7Policy reports three things the way the HL7 Java validator does,
	// not bcbench's way: a profile claimed in meta.profile that cannot be
	// loaded is an undecided warning (bcbench: an error, the claim cannot
	// be checked); an unknown modifier extension under hl7.org or
	// example.org is an undecided warning like any extension there
	// (bcbench: always an error); a type profile or target profile an
	// element's definition names that cannot be loaded is an error
	// (bcbench: undecided, the packages lack it, the resource may be
	// right). The suites never set it; the comparison with the HL7
	// validator's test cases prints its figures both ways.
	HL7Policy bool
	// ReferencesMustResolve makes a relative reference (Type/id) that
	// resolves nowhere — not contained, not in the Bundle or Parameters
	// being validated, not through Resolve — an error, as the HL7
	// validator's reference policy CHECK_EXISTS does. By default such a
	// reference is judged by the type its text names. The suites do not
	// set it (a candidate's references point to its own server).
	ReferencesMustResolve bool
	// UncheckedRESTReferences leaves the type a reference's text names
	// (Group in Group/1) unchecked against the allowed target types when
	// the reference does not resolve, as the HL7 validator does unless
	// assumeValidRestReferences is set. bcbench checks it by default: a
	// RESTful reference names the type of its target. The suites never
	// set it; the comparison mirrors the HL7 runner's option.
	UncheckedRESTReferences bool
}

// BundleRule asks for the Bundle entries a rule selects to be validated
// against a profile.
type BundleRule struct {
	Rule    string
	Profile string
}

// Validator validates resources. It is safe for concurrent use.
type Validator struct {
	// globals are the profiles loaded ImplementationGuides declare for
	// every resource of a type (ImplementationGuide.global), by type.
	globals map[string][]string
	reg     *registry.Registry
	comp    *compiler
	term    Terminology
	version string
	stu3    bool
	inv     invariantEngine
	rtypes  map[string]bool   // resource type names of the FHIR version
	bases   map[string]string // type name → the type it specialises (Age → Quantity)

	expansions memo[string, *cachedExpansion] // by ValueSet canonical
	typeNames  memo[string, string]           // profile canonical → the type it constrains (run.typeOf)
	// codes remembers the answers of the validator's own offline
	// terminology service (nil when Options.Terminology gives another).
	codes *codeMemo
	// inSystem checks a code against its code system alone.
	inSystem func(terminology.Coding) terminology.Result
	// displayIn checks a display against the code system, offline only.
	displayIn func(terminology.Coding) terminology.Result
}

// baseType returns the type a type specialises or constrains ("" at the top).
func (v *Validator) baseType(t string) string { return v.bases[t] }

// isResourceType reports whether code names a resource type.
func (v *Validator) isResourceType(code string) bool { return v.rtypes[code] }

// New loads the packages and returns a Validator.
func New(opts Options) (*Validator, error) {
	if opts.FHIRVersion == "" {
		opts.FHIRVersion = "4.0.1"
	}
	switch {
	case strings.HasPrefix(opts.FHIRVersion, "4.0"), strings.HasPrefix(opts.FHIRVersion, "3.0"):
	default:
		return nil, fmt.Errorf("new validator: FHIR version %q not supported (4.0.1 or 3.0.1)", opts.FHIRVersion)
	}
	reg := opts.Registry
	if reg == nil {
		var err error
		if reg, err = registry.Load(registry.Options{CacheDir: opts.CacheDir, FHIRVersion: opts.FHIRVersion}, opts.Packages...); err != nil {
			return nil, fmt.Errorf("new validator: %w", err)
		}
	}
	v := &Validator{reg: reg, version: opts.FHIRVersion, stu3: strings.HasPrefix(opts.FHIRVersion, "3.")}
	base := "http://hl7.org/fhir/StructureDefinition/Resource"
	e, ok := reg.Lookup(base)
	if !ok {
		return nil, fmt.Errorf("new validator: the FHIR core package (%s) is not among the packages: %s not found", opts.FHIRVersion, base)
	}
	if fv := e.FHIRVersion; fv != "" && fv[:3] != opts.FHIRVersion[:3] {
		return nil, fmt.Errorf("new validator: the core package loaded is FHIR %s, not %s", fv, opts.FHIRVersion)
	}
	v.rtypes = map[string]bool{}
	v.bases = map[string]string{}
	for _, en := range reg.Entries() {
		if en.ResourceType == "StructureDefinition" && en.Derivation != "" && en.BaseDefinition != "" && strings.HasPrefix(en.URL, "http://hl7.org/fhir/StructureDefinition/") {
			name := en.URL[strings.LastIndexByte(en.URL, '/')+1:]
			if _, done := v.bases[name]; !done && name != "" {
				v.bases[name] = en.BaseDefinition[strings.LastIndexByte(en.BaseDefinition, '/')+1:]
			}
		}
		if en.ResourceType == "StructureDefinition" && en.Kind == "resource" && en.Derivation != "constraint" && en.Type != "" {
			v.rtypes[en.Type] = true
		}
	}
	v.globals = globalProfiles(reg)
	v.comp = &compiler{gen: snapshot.New(reg), src: reg, cache: map[string]*compiled{}}
	v.term = opts.Terminology
	if v.term == nil {
		v.term = terminology.New(reg) // the packages and the shipped table: the same answer every time
		v.codes = &codeMemo{answers: memo[codeQuestion, terminology.Result]{limit: maxCodeMemo}}
	}
	v.inv = newInvariantEngine(v)
	cs, ok1 := v.term.(codeSystemChecker)
	ds, ok2 := v.term.(interface {
		DisplayInSystem(terminology.Coding) terminology.Result
	})
	if !ok1 || !ok2 {
		offline := terminology.New(reg)
		if !ok1 {
			cs = offline
		}
		if !ok2 {
			ds = offline
		}
	}
	v.inSystem, v.displayIn = cs.ValidateCodeInSystem, ds.DisplayInSystem
	if _, offline := ds.(*terminology.Service); offline {
		// The offline service answers the same way every time.
		displays := &memo[terminology.Coding, terminology.Result]{limit: maxCodeMemo}
		v.displayIn = func(c terminology.Coding) terminology.Result {
			if res, ok := displays.get(c); ok {
				return res
			}
			res := ds.DisplayInSystem(c)
			displays.put(c, res)
			return res
		}
	}
	return v, nil
}

// codeSystemChecker is the optional part of Terminology that checks a code
// against its code system alone (UCUM's grammar, a loaded CodeSystem).
type codeSystemChecker interface {
	ValidateCodeInSystem(terminology.Coding) terminology.Result
}

// Registry returns the loaded definitions.
func (v *Validator) Registry() *registry.Registry { return v.reg }

// FHIRVersion returns the FHIR version the validator was made for.
func (v *Validator) FHIRVersion() string { return v.version }

// Validate decodes data (JSON or XML) and validates it.
func (v *Validator) Validate(ctx context.Context, data []byte, req Request) *outcome.OperationOutcome {
	out := outcome.New()
	commented := false
	if req.AllowComments {
		data, commented = StripComments(data)
	}
	res, isXML, err := decode(data, req.Format, req.FillPlaceholders, v.version)
	if err != nil {
		out.Add(outcome.Fatal, outcome.CodeStructure, "", "%v", err)
		return out
	}
	if commented {
		out.Add(outcome.Warning, outcome.CodeStructure, "", "the JSON holds comments; they were ignored (FHIR JSON has no comments)")
	}
	return v.validateTree(ctx, res, isXML, req, out)
}

// StripComments removes // line and /* block */ comments outside JSON
// strings, and says whether there were any. Offsets of the remaining
// text change; content does not.
func StripComments(data []byte) ([]byte, bool) {
	if !bytes.Contains(data, []byte("/")) {
		return data, false
	}
	out := make([]byte, 0, len(data))
	inStr, esc, found := false, false, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inStr:
			out = append(out, c)
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
			out = append(out, c)
		case c == '/' && i+1 < len(data) && data[i+1] == '/':
			found = true
			for i < len(data) && data[i] != '\n' {
				i++
			}
			if i < len(data) {
				out = append(out, '\n')
			}
		case c == '/' && i+1 < len(data) && data[i+1] == '*':
			found = true
			end := bytes.Index(data[i+2:], []byte("*/"))
			if end < 0 {
				return out, true // an unclosed comment swallows the rest; decoding then says what is missing
			}
			i += 2 + end + 1
			out = append(out, ' ')
		default:
			out = append(out, c)
		}
	}
	return out, found
}

// ValidateResource validates an already decoded resource tree (the
// JSON-shaped tree of profiles/; it is not modified). fromXML relaxes the
// JSON array rules, which XML input cannot carry.
func (v *Validator) ValidateResource(ctx context.Context, res map[string]any, fromXML bool, req Request) *outcome.OperationOutcome {
	return v.validateTree(ctx, res, fromXML, req, outcome.New())
}

// Decode reads a resource in JSON or XML (format "" sniffs it) into the
// JSON-shaped tree, bounded by MaxInput and MaxDepth. XML is read with the
// element tables of both FHIR versions (see fhirxml.Decode); the validator
// itself reads XML with the table of its own version.
func Decode(data []byte, format string, fill bool) (map[string]any, bool, error) {
	return decode(data, format, fill, "")
}

// DecodeVersion is Decode with XML read by the element table of one FHIR
// version ("3.0.2", "4.0.1"; "" both), for callers that know the version
// of what they read (TestScripts and their fixtures, a server's store).
func DecodeVersion(data []byte, version string) (map[string]any, error) {
	m, _, err := decode(data, "", false, version)
	return m, err
}

func decode(data []byte, format string, fill bool, version string) (map[string]any, bool, error) {
	if len(data) > MaxInput {
		return nil, false, fmt.Errorf("input is %d bytes, larger than the limit of %d", len(data), MaxInput)
	}
	if fill {
		data = FillPlaceholders(data)
	}
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	if format == "" {
		switch {
		case len(trimmed) == 0:
			return nil, false, errors.New("input is empty")
		case trimmed[0] == '<':
			format = "xml"
		default:
			format = "json"
		}
	}
	switch format {
	case "xml":
		m, err := fhirxml.DecodeVersion(trimmed, version)
		if err != nil {
			return nil, true, err
		}
		return m, true, nil
	case "json":
		m, err := decodeJSON(trimmed)
		return m, false, err
	}
	return nil, false, fmt.Errorf("unknown format %q (json or xml)", format)
}

func decodeJSON(data []byte) (map[string]any, error) {
	if m, ok := parseTree(data); ok {
		return m, nil // the plain case, read the way encoding/json reads it
	}
	return decodeStdJSON(data)
}

// decodeStdJSON decodes with encoding/json: the reference for parseTree, and
// the reader of everything parseTree leaves (errors included).
func decodeStdJSON(data []byte) (map[string]any, error) {
	if err := checkDepth(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode fhir json: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode fhir json: data after the resource")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decode fhir json: a resource must be a JSON object, not %s", jsonKind(v))
	}
	return m, nil
}

// checkDepth refuses JSON nested deeper than MaxDepth before decoding it.
func checkDepth(data []byte) error {
	depth, inStr, esc := 0, false, false
	for _, c := range data {
		switch {
		case inStr:
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			if depth++; depth > MaxDepth {
				return fmt.Errorf("decode fhir json: nested deeper than %d", MaxDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "an object"
}

func (v *Validator) validateTree(ctx context.Context, res map[string]any, isXML bool, req Request, out *outcome.OperationOutcome) *outcome.OperationOutcome {
	r := &run{v: v, ctx: ctx, out: out, xml: isXML, seen: map[string]bool{}, security: req.SecurityChecks, noHTMLInMarkdown: req.NoHTMLInMarkdown, resolver: req.Resolve, hl7Policy: req.HL7Policy, mustResolve: req.ReferencesMustResolve, uncheckedREST: req.UncheckedRESTReferences, noExamples: req.NoExampleURLs, displayErrors: req.WrongDisplayIsError}
	stacks := walkStackPool.Get().(*walkStacks)
	r.items, r.props = stacks.items[:0], stacks.props[:0]
	defer func() {
		if cap(r.items) > maxPooledItems || cap(r.props) > maxPooledItems {
			return
		}
		clear(r.items[:cap(r.items)]) // let go of the resource's values
		clear(r.props[:cap(r.props)])
		stacks.items, stacks.props = r.items[:0], r.props[:0]
		walkStackPool.Put(stacks)
	}()
	rt, _ := res["resourceType"].(string)
	if rt == "" {
		out.Add(outcome.Error, outcome.CodeStructure, "", "the resource has no resourceType")
		return out
	}
	base, err := v.comp.typeStructure(rt)
	if err != nil || base.kind != "resource" {
		out.Add(outcome.Error, outcome.CodeStructure, rt, "unknown resource type %q in FHIR %s", rt, v.version)
		return out
	}
	r.root = res
	profiles := req.Profiles
	claimed := len(profiles) == 0
	if claimed {
		profiles = append(metaProfiles(res), v.globals[rt]...)
	}
	r.resource(res, rt, base, profiles, claimed, res)
	r.rules(res, rt)
	if rt == "Bundle" {
		r.bundleRules(res, req.BundleRules)
	}
	if r.notEvaluated > 0 {
		out.AddUndecided(outcome.Information, outcome.CodeNotSupported, rt,
			"%d FHIRPath invariant evaluation(s) were not performed: %s", r.notEvaluated, r.notEvaluatedWhy)
	}
	if r.truncated {
		out.Add(outcome.Warning, outcome.CodeTooCostly, rt, "more than %d issues: the rest were not reported", maxIssues)
	}
	if len(out.Issue) == 0 {
		out.Add(outcome.Information, outcome.CodeInformational, "", "no issues found")
	}
	out.Sort()
	return out
}

// walkStacks are the item and property stacks of a run (run.items,
// run.props), kept in walkStackPool for the next. Stacks grown beyond
// maxPooledItems (a very large resource) are let go.
type walkStacks struct {
	items []item
	props []member
}

var walkStackPool = sync.Pool{New: func() any {
	return &walkStacks{items: make([]item, 0, 256), props: make([]member, 0, 256)}
}}

func metaProfiles(res map[string]any) []string {
	meta, _ := res["meta"].(map[string]any)
	return strList(meta["profile"])
}

// isPrimitive reports whether a type code is a FHIR primitive.
func isPrimitive(code string) bool { return code != "" && unicode.IsLower(rune(code[0])) }

// globalProfiles reads ImplementationGuide.global of every loaded guide: the
// profiles every resource of a type must conform to where the guide applies.
func globalProfiles(reg *registry.Registry) map[string][]string {
	out := map[string][]string{}
	for _, en := range reg.Entries() {
		if en.ResourceType != "ImplementationGuide" {
			continue
		}
		ig, err := en.Tree()
		if err != nil {
			continue
		}
		for _, g := range asList(ig["global"]) {
			gm, _ := g.(map[string]any)
			if t, p := str(gm, "type"), str(gm, "profile"); t != "" && p != "" && !slices.Contains(out[t], p) {
				out[t] = append(out[t], p)
			}
		}
	}
	return out
}
