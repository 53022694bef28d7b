// Package questionnaire checks a QuestionnaireResponse against the
// Questionnaire it answers, and a Questionnaire against the rules on its own
// structure that the HL7 validator enforces (enableWhen targets, que-12).
//
// Resources are the JSON-shaped trees of profiles/ (map[string]any, []any,
// string, json.Number, bool), as decoded by profiles/fhirxml or the
// validator, R4 or STU3. Findings are profiles/outcome issues, so a
// validator appends them to its OperationOutcome as they are.
//
// The package does not load definitions or know terminology: the caller's
// Env resolves canonical URLs and answers value-set membership and display
// questions. Where a hook is missing or cannot decide, no error is raised
// (a value-set question that cannot be decided is a warning).
//
// A validator calls Validate for every QuestionnaireResponse it meets (it
// finds the Questionnaire: contained "#id" or Env.Resolve of the canonical)
// and CheckQuestionnaire for every Questionnaire, and appends the issues.
package questionnaire

import (
	"context"
	"fmt"
	"strings"

	"github.com/bcbench/bcbench/profiles/fhirpath"
	"github.com/bcbench/bcbench/profiles/outcome"
)

// Issue is one finding; it is the OperationOutcome issue of profiles/outcome.
type Issue = outcome.Issue

// Limits that keep hostile input bounded.
const (
	// MaxDepth is the deepest item nesting walked; deeper items get one error.
	MaxDepth = 64
	// MaxIssues bounds the issues of one call.
	MaxIssues = 500
)

// Env is what a check needs from its caller. Every field is optional.
type Env struct {
	// Path is the FHIRPath location of the resource checked
	// (e.g. "Bundle.entry[0].resource"); empty means its resourceType.
	Path string
	// Resolve returns the resource with a canonical URL ("url" or
	// "url|version"): the Questionnaire a response answers and ValueSets.
	Resolve func(canonical string) (map[string]any, bool)
	// MemberOf says whether system|code is in a ValueSet. known=false means
	// it could not be decided. An empty system asks about the code alone.
	MemberOf func(valueSet, system, code string) (member, known bool)
	// DisplayOK says whether display is a valid display of system|code.
	// known=false means the code system is not available.
	DisplayOK func(system, code, display string) (ok, known bool)
	// FHIRVersion is the FHIR version of the resources ("3.0.1" for STU3);
	// empty means R4.
	FHIRVersion string
	// IsResourceType says whether a name is a resource type of the FHIR
	// version; nil leaves the type in a reference answer unchecked unless
	// the item restricts it.
	IsResourceType func(name string) bool
}

// Extension URLs used by the checks.
const (
	extMinOccurs        = "http://hl7.org/fhir/StructureDefinition/questionnaire-minOccurs"
	extMaxOccurs        = "http://hl7.org/fhir/StructureDefinition/questionnaire-maxOccurs"
	extRegex            = "http://hl7.org/fhir/StructureDefinition/regex"
	extMinValue         = "http://hl7.org/fhir/StructureDefinition/minValue"
	extMaxValue         = "http://hl7.org/fhir/StructureDefinition/maxValue"
	extMaxDecimalPlaces = "http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces"
	extMimeType         = "http://hl7.org/fhir/StructureDefinition/mimeType"
	extMaxSize          = "http://hl7.org/fhir/StructureDefinition/maxSize"
	extReferenceRes     = "http://hl7.org/fhir/StructureDefinition/questionnaire-referenceResource"
	extAllowedResource  = "http://hl7.org/fhir/StructureDefinition/questionnaire-allowedResource"
	extOptionExclusive  = "http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive"
	extUnitOption       = "http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption"
	extUnitValueSet     = "http://hl7.org/fhir/StructureDefinition/questionnaire-unitValueSet"
	extMinQuantity      = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-minQuantity"
	extMaxQuantity      = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-maxQuantity"
	extEnableWhenExpr   = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression"
	extEnableWhenKanta  = "http://phr.kanta.fi/StructureDefinition/fiphr-ext-questionnaire-enablewhen"
)

// answerTypes maps an item type to the answer value[x] suffixes it accepts.
var answerTypes = map[string][]string{
	"boolean": {"Boolean"}, "decimal": {"Decimal"}, "integer": {"Integer"}, "date": {"Date"},
	"dateTime": {"DateTime"}, "time": {"Time"}, "string": {"String"}, "text": {"String"},
	"url": {"Uri"}, "attachment": {"Attachment"}, "reference": {"Reference"}, "quantity": {"Quantity"},
	"choice":      {"Coding", "String", "Integer", "Date", "Time"},
	"open-choice": {"Coding", "String", "Integer", "Date", "Time"},
}

// checker carries one call's state.
type checker struct {
	ctx    context.Context
	env    Env
	qr     map[string]any
	out    []Issue
	all    map[string][]map[string]any // linkId → every answer in the response
	done   bool
	stu3   bool
	byLink map[string]map[string]any // linkId → questionnaire item, anywhere
	exprs  map[string]*fhirpath.Expression
}

func (c *checker) add(sev, code, path, format string, args ...any) {
	if len(c.out) >= MaxIssues {
		c.done = true
		return
	}
	is := Issue{Severity: sev, Code: code, Diagnostics: fmt.Sprintf(format, args...)}
	if path != "" {
		is.Expression = []string{path}
	}
	c.out = append(c.out, is)
}

func (c *checker) stop() bool {
	if c.done {
		return true
	}
	if c.ctx != nil && c.ctx.Err() != nil {
		c.done = true
	}
	return c.done
}

// Validate finds the Questionnaire a QuestionnaireResponse answers (a
// contained "#id" or env.Resolve of its canonical) and checks the response
// against it. A questionnaire reference to a resource of another type is an
// error; one that cannot be resolved is a warning.
func Validate(ctx context.Context, qr map[string]any, env Env) []Issue {
	path := env.Path
	if path == "" {
		path = "QuestionnaireResponse"
	}
	ref := str(qr, "questionnaire")
	if m, ok := qr["questionnaire"].(map[string]any); ok { // STU3: a Reference
		ref = str(m, "reference")
	}
	if ref == "" {
		return nil
	}
	var q map[string]any
	if strings.HasPrefix(ref, "#") {
		for _, r := range list(qr["contained"]) {
			if rm, ok := r.(map[string]any); ok && str(rm, "id") == ref[1:] {
				q = rm
			}
		}
	} else if env.Resolve != nil {
		if r, ok := env.Resolve(ref); ok {
			q = r
		}
	}
	if q == nil {
		c := &checker{}
		c.add(outcome.Warning, outcome.CodeNotFound, path+".questionnaire", "the questionnaire %s could not be found, so the answers were not checked against it", ref)
		return c.out
	}
	if rt := str(q, "resourceType"); rt != "Questionnaire" {
		c := &checker{}
		c.add(outcome.Error, outcome.CodeStructure, path+".questionnaire", "the questionnaire reference %s refers to a %s, not a Questionnaire", ref, rt)
		return c.out
	}
	return Check(ctx, qr, q, env)
}

// Check validates the QuestionnaireResponse qr against the Questionnaire q:
// linkIds and nesting, item order, repeats, required items (for completed
// responses), enableWhen / enableBehavior / enableWhenExpression, answer
// types, answer options and exclusive options, answer value sets and
// displays, maxLength, regex, minValue/maxValue, maxDecimalPlaces,
// minOccurs/maxOccurs, attachment mime types and sizes, reference target
// types and Quantity unit options; display and group items must not be
// answered, nor abstract "question" items.
func Check(ctx context.Context, qr map[string]any, q map[string]any, env Env) []Issue {
	c := &checker{ctx: ctx, env: env, qr: qr, all: map[string][]map[string]any{}, byLink: map[string]map[string]any{}}
	path := env.Path
	if path == "" {
		path = "QuestionnaireResponse"
	}
	c.stu3 = strings.HasPrefix(env.FHIRVersion, "3.")
	indexItems(list(q["item"]), c.byLink, 0)
	collect(list(qr["item"]), c.all, 0)
	completed := str(qr, "status") == "completed"
	c.items(list(qr["item"]), list(q["item"]), path, completed, 0)
	return c.out
}

func indexItems(items []any, into map[string]map[string]any, depth int) {
	if depth > MaxDepth {
		return
	}
	for _, it := range items {
		m, _ := it.(map[string]any)
		if id := str(m, "linkId"); id != "" {
			into[id] = m
		}
		indexItems(list(m["item"]), into, depth+1)
	}
}

func collect(items []any, into map[string][]map[string]any, depth int) {
	if depth > MaxDepth {
		return
	}
	for _, it := range items {
		m, _ := it.(map[string]any)
		id := str(m, "linkId")
		for _, a := range list(m["answer"]) {
			am, _ := a.(map[string]any)
			if am == nil {
				continue
			}
			into[id] = append(into[id], am)
			collect(list(am["item"]), into, depth+1)
		}
		collect(list(m["item"]), into, depth+1)
	}
}

// items checks the response items ritems against the questionnaire items
// qitems at the same level.
func (c *checker) items(ritems, qitems []any, path string, completed bool, depth int) {
	if c.stop() {
		return
	}
	if depth > MaxDepth {
		c.add(outcome.Error, outcome.CodeTooCostly, path, "items nested deeper than %d", MaxDepth)
		return
	}
	pos := map[string]int{}
	for i, q := range qitems {
		qm, _ := q.(map[string]any)
		if id := str(qm, "linkId"); id != "" {
			if _, dup := pos[id]; !dup {
				pos[id] = i
			}
		}
	}
	count := map[string]int{}
	answered := map[string]bool{}
	last := -1
	for i, it := range ritems {
		if c.stop() {
			return
		}
		m, _ := it.(map[string]any)
		p := fmt.Sprintf("%s.item[%d]", path, i)
		id := str(m, "linkId")
		at, ok := pos[id]
		if !ok {
			if _, elsewhere := c.byLink[id]; elsewhere {
				c.add(outcome.Error, outcome.CodeStructure, p, "the item %q is in the questionnaire, but not at this level (wrong nesting)", id)
			} else {
				c.add(outcome.Error, outcome.CodeNotFound, p, "linkId %q is not in the questionnaire", id)
			}
			continue
		}
		qm, _ := qitems[at].(map[string]any)
		if at < last {
			c.add(outcome.Error, outcome.CodeStructure, p, "the item %q is out of order: the questionnaire puts it before the previous answered item", id)
		}
		last = at
		count[id]++
		if count[id] == 2 && !truth(qm["repeats"]) {
			c.add(outcome.Error, outcome.CodeStructure, p, "the item %q appears more than once, but the questionnaire item does not repeat", id)
		}
		answers := list(m["answer"])
		if len(answers) > 0 || hasAnswers(list(m["item"]), 0) {
			answered[id] = true
		}
		c.item(m, qm, p, completed, depth)
	}
	if !completed {
		return
	}
	for _, q := range qitems {
		qm, _ := q.(map[string]any)
		id := str(qm, "linkId")
		if !truth(qm["required"]) || answered[id] || str(qm, "type") == "display" {
			continue
		}
		if en, known := c.enabled(qm); !known || !en {
			continue
		}
		c.add(outcome.Error, outcome.CodeRequired, path, "no answer for the required item %q", id)
	}
}

func hasAnswers(items []any, depth int) bool {
	if depth > MaxDepth {
		return false
	}
	for _, it := range items {
		m, _ := it.(map[string]any)
		if len(list(m["answer"])) > 0 || hasAnswers(list(m["item"]), depth+1) {
			return true
		}
	}
	return false
}

// item checks one response item against its questionnaire item.
func (c *checker) item(m, q map[string]any, p string, completed bool, depth int) {
	id := str(q, "linkId")
	typ := str(q, "type")
	answers := list(m["answer"])
	if en, known := c.enabled(q); known && !en && (len(answers) > 0 || hasAnswers(list(m["item"]), 0)) {
		c.add(outcome.Error, outcome.CodeStructure, p, "the item %q has an answer, although it is not enabled", id)
	}
	switch typ {
	case "group":
		if len(answers) > 0 {
			c.add(outcome.Error, outcome.CodeStructure, p, "the group item %q cannot have answers", id)
		}
		c.items(list(m["item"]), list(q["item"]), p, completed, depth+1)
		return
	case "display":
		if len(answers) > 0 || len(list(m["item"])) > 0 {
			c.add(outcome.Error, outcome.CodeStructure, p, "the display item %q cannot have answers", id)
		}
		return
	case "question":
		if len(answers) > 0 {
			c.add(outcome.Error, outcome.CodeStructure, p, "the item %q is of the abstract type question and cannot have answers", id)
		}
	}
	if len(answers) > 1 && !truth(q["repeats"]) {
		c.add(outcome.Error, outcome.CodeStructure, p, "the item %q has %d answers, but it does not repeat", id, len(answers))
	}
	if n, ok := intOf(extValue(q, extMaxOccurs)); ok && len(answers) > n {
		c.add(outcome.Error, outcome.CodeStructure, p, "the item %q allows at most %d answers, but has %d", id, n, len(answers))
	}
	if n, ok := intOf(extValue(q, extMinOccurs)); ok && n > 0 && len(answers) < n {
		c.add(outcome.Error, outcome.CodeStructure, p, "the item %q needs at least %d answers, but has %d", id, n, len(answers))
	}
	c.exclusive(answers, q, p)
	children := list(q["item"])
	for j, a := range answers {
		am, _ := a.(map[string]any)
		ap := fmt.Sprintf("%s.answer[%d]", p, j)
		c.answer(am, q, ap)
		if sub := list(am["item"]); len(sub) > 0 || len(children) > 0 {
			// Each answer carries the item's child questions; required
			// ones must be answered under every answer.
			c.items(sub, children, ap, completed, depth+1)
		}
	}
	if sub := list(m["item"]); len(sub) > 0 {
		if !c.stu3 {
			c.add(outcome.Error, outcome.CodeStructure, p, "the item %q is not a group, so its child items belong under answer.item, not item", id)
		}
		c.items(sub, children, p, completed && len(answers) == 0, depth+1)
	}
}

// exclusive reports an exclusive answer option chosen together with others.
func (c *checker) exclusive(answers []any, q map[string]any, p string) {
	if len(answers) < 2 {
		return
	}
	for _, o := range list(q["answerOption"]) {
		om, _ := o.(map[string]any)
		if ex, _ := extValue(om, extOptionExclusive).(bool); !ex {
			continue
		}
		ok, ov := valueOf(om)
		for _, a := range answers {
			am, _ := a.(map[string]any)
			if ak, av := valueOf(am); ak == ok && same(av, ov) {
				c.add(outcome.Error, outcome.CodeStructure, p, "the answer %s is an exclusive option of item %q: no other answer may be given with it", show(ov), str(q, "linkId"))
				return
			}
		}
	}
}
