// Package measure checks quality-measure resources against each other: a
// MeasureReport against the Measure it reports on (groups, populations,
// stratifiers, counts, subject lists, measure score by scoring), and a
// Measure's CQL criteria against the ELM of its Libraries. These are the
// rules the HL7 Java validator applies on top of structure validation; the
// structural checks (cardinality, types, bindings) stay with
// profiles/validator.
//
// Input is the JSON-shaped tree the validator works on (map[string]any,
// []any, string, json.Number, float64, bool). Resources the checks need
// (the Measure, its Libraries) come from a resolve function; Resolver builds
// one over a set of loaded resources.
package measure

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/bcbench/bcbench/profiles/outcome"
)

// Limits that keep a check bounded on hostile input.
const (
	// maxItems bounds the groups, populations, stratifiers and codings
	// looked at in one list.
	maxItems = 1000
	// maxIssues bounds the issues of one Check.
	maxIssues = 500
)

// System of the measure population codes.
const populationSystem = "http://terminology.hl7.org/CodeSystem/measure-population"

// Extension URLs read from a Measure.
const (
	extUnit       = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
	extCQMScoring = "http://hl7.org/fhir/uv/cqm/StructureDefinition/cqm-scoring"
	extDEQMScore  = "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/extension-alternateScoreType"
)

// Check validates res, a MeasureReport or a Measure, and returns its
// findings; other resource types give none. A MeasureReport is checked
// against the Measure named in MeasureReport.measure (a canonical, an STU3
// Reference, or "#id" for a contained Measure), found through resolve. A
// Measure's stratifier criteria in CQL are checked against the ELM of the
// Libraries in Measure.library, found through resolve. Locations start at
// the resource type (MeasureReport.group[0].population[1]). resolve may be
// nil. Check never panics and stops early when ctx is done.
func Check(ctx context.Context, res map[string]any, resolve func(canonical string) (map[string]any, bool)) []outcome.Issue {
	rt, _ := res["resourceType"].(string)
	return CheckAt(ctx, res, rt, resolve)
}

// CheckAt is Check for a resource found at path (such as
// Bundle.entry[2].resource); issue locations start with path.
func CheckAt(ctx context.Context, res map[string]any, path string, resolve func(canonical string) (map[string]any, bool)) (issues []outcome.Issue) {
	if ctx == nil {
		ctx = context.Background()
	}
	c := &checker{ctx: ctx, resolve: resolve}
	defer func() {
		// The checks only read the tree with checked type assertions; this
		// is a last guard so that a defect here never takes the validator
		// down.
		if p := recover(); p != nil {
			c.add(outcome.Error, outcome.CodeProcessing, path, "internal error while checking the %s: %v", str(res, "resourceType"), p)
		}
		issues = c.issues
	}()
	switch str(res, "resourceType") {
	case "MeasureReport":
		c.report(res, path)
	case "Measure":
		c.measure(res, path)
	}
	return c.issues
}

type checker struct {
	ctx     context.Context
	resolve func(string) (map[string]any, bool)
	issues  []outcome.Issue
}

func (c *checker) add(severity, code, path, format string, args ...any) {
	if len(c.issues) >= maxIssues {
		return
	}
	if len(c.issues) == maxIssues-1 {
		c.issues = append(c.issues, outcome.Issue{Severity: outcome.Warning, Code: outcome.CodeTooCostly,
			Diagnostics: fmt.Sprintf("more than %d measure findings; the rest are not reported", maxIssues-1), Expression: []string{path}})
		return
	}
	c.issues = append(c.issues, outcome.Issue{Severity: severity, Code: code, Diagnostics: fmt.Sprintf(format, args...), Expression: []string{path}})
}

func (c *checker) done() bool { return c.ctx.Err() != nil }

func (c *checker) lookup(canonical string) (map[string]any, bool) {
	if c.resolve == nil || canonical == "" {
		return nil, false
	}
	return c.resolve(canonical)
}

// report checks a MeasureReport.
func (c *checker) report(mr map[string]any, path string) {
	ref := measureRef(mr)
	if ref == "" {
		c.add(outcome.Information, outcome.CodeRequired, path, "the MeasureReport names no Measure, so it cannot be checked against one")
		return
	}
	var m map[string]any
	if id, ok := strings.CutPrefix(ref, "#"); ok {
		m = contained(mr, "Measure", id)
	} else if t, ok := c.lookup(ref); ok && str(t, "resourceType") == "Measure" {
		m = t
	}
	if m == nil {
		c.add(outcome.Warning, outcome.CodeNotFound, path+".measure", "the Measure %s could not be found, so the MeasureReport was not checked against it", ref)
		return
	}
	typ := str(mr, "type")
	if typ == "patient-list" { // STU3 name of subject-list
		typ = "subject-list"
	}
	r := &reportRun{checker: c, mr: mr, m: m, typ: typ}
	scoring := codeOf(m["scoring"])
	if !validScoring(scoring) {
		c.add(outcome.Information, outcome.CodeBusinessRule, path+".measure", "the scoring of the Measure %s is unknown, so the measureScore values cannot be checked", ref)
	}
	r.improvement(path)
	r.subject(path)
	r.groups(path)
}

func validScoring(s string) bool {
	switch s {
	case "proportion", "ratio", "continuous-variable", "cohort":
		return true
	}
	return false
}

type reportRun struct {
	*checker
	mr, m map[string]any
	typ   string // MeasureReport.type
}

// measureRef reads MeasureReport.measure: a canonical (R4) or a Reference (STU3).
func measureRef(mr map[string]any) string {
	switch v := mr["measure"].(type) {
	case string:
		return strings.TrimSpace(v)
	case map[string]any:
		return strings.TrimSpace(str(v, "reference"))
	}
	return ""
}

// improvement compares the improvement notation of report and Measure.
func (r *reportRun) improvement(path string) {
	got, want := r.mr["improvementNotation"], r.m["improvementNotation"]
	if got == nil || want == nil {
		return
	}
	g, w := codings(got), codings(want)
	if len(g) == 0 || len(w) == 0 {
		return
	}
	for _, a := range g {
		for _, b := range w {
			if a.system == b.system && a.code == b.code {
				return
			}
		}
	}
	r.add(outcome.Warning, outcome.CodeBusinessRule, path+".improvementNotation", "the improvement notation %s differs from the Measure's %s", display(got), display(want))
}

// subject checks the report type against the subject.
func (r *reportRun) subject(path string) {
	if r.typ == "individual" && r.mr["subject"] == nil && r.mr["patient"] == nil {
		r.add(outcome.Warning, outcome.CodeRequired, path, "an individual MeasureReport should name its subject")
	}
}

// groups matches the report's groups to the Measure's.
func (r *reportRun) groups(path string) {
	mgroups := list(r.m["group"])
	if len(mgroups) == 0 {
		return // nothing to match against
	}
	rgroups := list(r.mr["group"])
	if len(rgroups) == 1 && len(mgroups) == 1 {
		// A single group is usually anonymous; when both have a code they must agree.
		rg, _ := rgroups[0].(map[string]any)
		mg, _ := mgroups[0].(map[string]any)
		gp := path + ".group[0]"
		if rg == nil || mg == nil {
			return
		}
		if rg["code"] != nil && mg["code"] != nil {
			if !usable(rg["code"]) {
				r.add(outcome.Error, outcome.CodeBusinessRule, gp, "the group code has no coding with both a system and a code, so it cannot be matched to the Measure's group")
			} else if !matchCoding(rg["code"], mg["code"]) {
				r.add(outcome.Error, outcome.CodeBusinessRule, gp, "the group code %s does not match the code %s of the Measure's group", display(rg["code"]), display(mg["code"]))
			}
		}
		r.group(rg, mg, gp)
		return
	}
	used := map[int]bool{}
	for i, g := range rgroups {
		if i >= maxItems || r.done() {
			break
		}
		gp := fmt.Sprintf("%s.group[%d]", path, i)
		rg, _ := g.(map[string]any)
		if rg == nil {
			continue
		}
		k := -1
		if rg["code"] != nil || rg["identifier"] != nil {
			k = find(mgroups, func(mg map[string]any) bool {
				return (mg["code"] != nil && matchCoding(rg["code"], mg["code"])) || sameIdentifier(rg["identifier"], mg["identifier"])
			})
		}
		switch {
		case k < 0:
			r.add(outcome.Error, outcome.CodeBusinessRule, gp, "the group should have a code that matches a group definition of the Measure (code %s; the Measure has %d groups)", display(rg["code"]), len(mgroups))
		case used[k]:
			r.add(outcome.Error, outcome.CodeBusinessRule, gp, "the group code %s matches the same Measure group as an earlier group of this report", display(rg["code"]))
		default:
			used[k] = true
			mg, _ := mgroups[k].(map[string]any)
			r.group(rg, mg, gp)
		}
	}
	if r.typ == "data-collection" {
		return // a data collection need not report every group
	}
	for k, g := range mgroups {
		if k >= maxItems {
			break
		}
		if used[k] {
			continue
		}
		mg, _ := g.(map[string]any)
		r.add(outcome.Error, outcome.CodeBusinessRule, path, "the MeasureReport does not include a group for the group with code '%s'%s", display(get(mg, "code")), idNote(mg))
	}
}

// group checks one report group against its Measure group.
func (r *reportRun) group(rg, mg map[string]any, path string) {
	if mg == nil {
		return
	}
	r.populations(rg, mg, path)
	r.score(rg, mg, path)
	r.stratifiers(rg, mg, path)
}

// populations matches the group's populations to the Measure group's.
func (r *reportRun) populations(rg, mg map[string]any, path string) {
	mpops := list(mg["population"])
	used := map[int]bool{}
	for i, p := range list(rg["population"]) {
		if i >= maxItems || r.done() {
			break
		}
		pp := fmt.Sprintf("%s.population[%d]", path, i)
		rp, _ := p.(map[string]any)
		if rp == nil {
			continue
		}
		if rp["code"] == nil {
			r.add(outcome.Error, outcome.CodeBusinessRule, pp, "the group population has no code, so it cannot be matched to a population of the Measure")
			continue
		}
		k := find(mpops, func(mp map[string]any) bool { return mp["code"] != nil && matchCoding(rp["code"], mp["code"]) })
		switch {
		case k < 0:
			r.add(outcome.Error, outcome.CodeBusinessRule, pp, "the code %s for this group population has no match in the measure definition", display(rp["code"]))
			continue
		case used[k]:
			r.add(outcome.Error, outcome.CodeBusinessRule, pp, "the population code %s appears more than once in this group", display(rp["code"]))
			continue
		}
		used[k] = true
		r.population(rp, pp)
	}
	for k, p := range mpops {
		if k >= maxItems {
			break
		}
		mp, _ := p.(map[string]any)
		if used[k] || mp == nil || hasCoding(mp["code"], populationSystem, "measure-observation") {
			continue
		}
		r.add(outcome.Error, outcome.CodeBusinessRule, path, "the group does not include a population for the Measure's population with code '%s'%s", display(mp["code"]), idNote(mp))
	}
}

// population checks count against subject results for the report type.
func (r *reportRun) population(rp map[string]any, path string) {
	subjects := len(list(rp["subjectResults"])) + len(list(rp["patients"])) // R4, STU3
	if r.typ == "subject-list" {
		if n, ok := integer(rp["count"]); ok && n != int64(subjects) {
			r.add(outcome.Error, outcome.CodeBusinessRule, path, "mismatch between count %d and number of subjects %d", n, subjects)
		}
		return
	}
	if subjects > 0 {
		r.add(outcome.Error, outcome.CodeBusinessRule, path, "reports where type is not 'subject-list' (here %q) don't have subjects listed", r.typ)
	}
	if rp["count"] == nil {
		r.add(outcome.Warning, outcome.CodeBusinessRule, path, "count should be present for reports where type is not 'subject-list'")
	}
}

// score checks measureScore against the report type and the scoring.
func (r *reportRun) score(rg, mg map[string]any, path string) {
	ms, isQuantity := rg["measureScore"].(map[string]any)
	present := rg["measureScore"] != nil
	sp := path + ".measureScore"
	scoring := groupScoring(r.m, mg)
	switch {
	case r.typ == "data-collection":
		if present {
			r.add(outcome.Error, outcome.CodeBusinessRule, sp, "no measureScore when the report type is 'data-collection'")
		}
		return
	case scoring == "cohort":
		if present {
			r.add(outcome.Error, outcome.CodeBusinessRule, sp, "no measureScore when the scoring of the measure is 'cohort'")
		}
		return
	case scoring != "proportion" && scoring != "ratio" && scoring != "continuous-variable":
		return // unknown scoring: reported once on MeasureReport.measure
	}
	if !present {
		r.add(outcome.Error, outcome.CodeRequired, path, "a measureScore is required when the scoring of the measure is '%s'", scoring)
		return
	}
	var value any
	var hasValue bool
	switch {
	case isQuantity:
		value, hasValue = ms["value"]
	case scoring == "proportion":
		// STU3: measureScore is a decimal
		if d, ok := decimal(rg["measureScore"]); ok && (d.Sign() < 0 || d.Cmp(big.NewRat(1, 1)) > 0) {
			r.add(outcome.Error, outcome.CodeValue, sp, "a proportion's measureScore must be between 0 and 1, not %s", d.FloatString(4))
		}
		return
	default:
		return
	}
	if !hasValue {
		if ext := extension(ms, extDEQMScore); ext != nil {
			value, hasValue = valueX(ext)
		}
	}
	if !hasValue {
		r.add(outcome.Error, outcome.CodeRequired, sp, "the measureScore needs a value when the scoring of the measure is '%s'", scoring)
		return
	}
	switch scoring {
	case "proportion":
		for _, k := range []string{"unit", "system", "code"} {
			if ms[k] != nil {
				r.add(outcome.Error, outcome.CodeBusinessRule, sp+"."+k, "a measureScore has no %s when the scoring of the measure is 'proportion'", k)
			}
		}
		if d, ok := decimal(value); ok && (d.Sign() < 0 || d.Cmp(big.NewRat(1, 1)) > 0) {
			r.add(outcome.Error, outcome.CodeValue, sp+".value", "a proportion's measureScore must be between 0 and 1, not %s", d.FloatString(4))
		}
	case "ratio", "continuous-variable":
		want := unitCoding(r.m)
		code := str(ms, "code")
		switch {
		case want != nil && code == "":
			r.add(outcome.Error, outcome.CodeNotFound, sp, "the measureScore needs the unit %s the Measure fixes", want.String())
		case want != nil:
			if code != want.code {
				r.add(outcome.Error, outcome.CodeCodeInvalid, sp+".code", "the measureScore unit must be %s, not %s", want.code, code)
			}
			if sys := str(ms, "system"); sys != want.system {
				r.add(outcome.Error, outcome.CodeCodeInvalid, sp+".system", "the measureScore unit system must be %s, not %q", want.system, sys)
			}
		case scoring == "ratio" && code == "":
			r.add(outcome.Warning, outcome.CodeNotFound, sp, "a ratio's measureScore should have a unit")
		}
	}
}

// groupScoring is the scoring of a Measure group: group.scoring (R5), the
// CQM group scoring extension, else Measure.scoring.
func groupScoring(m, mg map[string]any) string {
	if s := codeOf(mg["scoring"]); s != "" {
		return s
	}
	if ext := extension(mg, extCQMScoring); ext != nil {
		if v, ok := ext["valueCodeableConcept"]; ok {
			if s := codeOf(v); s != "" {
				return s
			}
		}
	}
	return codeOf(m["scoring"])
}

// stratifiers matches the group's stratifiers to the Measure group's.
func (r *reportRun) stratifiers(rg, mg map[string]any, path string) {
	mstrats := list(mg["stratifier"])
	used := map[int]bool{}
	for i, s := range list(rg["stratifier"]) {
		if i >= maxItems || r.done() {
			break
		}
		sp := fmt.Sprintf("%s.stratifier[%d]", path, i)
		rs, _ := s.(map[string]any)
		if rs == nil {
			continue
		}
		k := find(mstrats, func(ms map[string]any) bool {
			return matchStratifier(rs["code"], ms["code"]) || sameIdentifier(rs["identifier"], ms["identifier"])
		})
		switch {
		case k < 0:
			r.add(outcome.Error, outcome.CodeBusinessRule, sp, "the stratifier should have a code that matches a stratifier definition of the Measure's group (code %s)", display(rs["code"]))
		case used[k]:
			r.add(outcome.Error, outcome.CodeBusinessRule, sp, "the stratifier code %s matches the same Measure stratifier as an earlier stratifier", display(rs["code"]))
		default:
			used[k] = true
		}
	}
	for k, s := range mstrats {
		if k >= maxItems {
			break
		}
		ms, _ := s.(map[string]any)
		if used[k] || ms == nil {
			continue
		}
		r.add(outcome.Error, outcome.CodeBusinessRule, path, "the MeasureReport does not include a stratifier for the stratifier with code '%s'%s", display(ms["code"]), idNote(ms))
	}
}

// matchStratifier matches a report stratifier's code (0..* CodeableConcept)
// to a Measure stratifier's code: by a shared system and code, or by text
// when neither has codings.
func matchStratifier(report, def any) bool {
	if def == nil {
		return false
	}
	reports := list(report)
	if len(reports) > maxItems {
		reports = reports[:maxItems]
	}
	for _, rc := range reports {
		if rm, ok := rc.(map[string]any); ok && def != nil {
			if matchCoding(rm, def) {
				return true
			}
			dm, _ := def.(map[string]any)
			if dm == nil || len(codings(rm)) > 0 || len(codings(dm)) > 0 {
				continue
			}
			if t := str(rm, "text"); t != "" && t == str(dm, "text") {
				return true
			}
		}
	}
	return false
}

// sameIdentifier matches two Identifiers by value and system (STU3 names
// groups and stratifiers by identifier instead of code).
func sameIdentifier(a, b any) bool {
	am, _ := a.(map[string]any)
	bm, _ := b.(map[string]any)
	return am != nil && bm != nil && str(am, "value") != "" && str(am, "value") == str(bm, "value") && str(am, "system") == str(bm, "system")
}

// ---- small tree helpers ----

func str(m map[string]any, k string) string {
	if m == nil {
		return ""
	}
	s, _ := m[k].(string)
	return s
}

func get(m map[string]any, k string) any {
	if m == nil {
		return nil
	}
	return m[k]
}

// list returns v as a list: a JSON array as is, a single value as one item.
func list(v any) []any {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		return t
	default:
		return []any{t}
	}
}

// find returns the index of the first map item of l that matches.
func find(l []any, match func(map[string]any) bool) int {
	for i, v := range l {
		if i >= maxItems {
			break
		}
		if m, ok := v.(map[string]any); ok && match(m) {
			return i
		}
	}
	return -1
}

type coding struct{ system, code string }

func (c *coding) String() string { return c.system + "#" + c.code }

// codings reads the codings of a CodeableConcept (or a single Coding).
func codings(v any) []coding {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	var out []coding
	items := list(m["coding"])
	if m["coding"] == nil && (m["code"] != nil || m["system"] != nil) {
		items = []any{m}
	}
	for i, it := range items {
		if i >= maxItems {
			break
		}
		if cm, ok := it.(map[string]any); ok {
			out = append(out, coding{str(cm, "system"), str(cm, "code")})
		}
	}
	return out
}

// codeOf is the code of the first coding of a CodeableConcept.
func codeOf(v any) string {
	if cs := codings(v); len(cs) > 0 {
		return cs[0].code
	}
	return ""
}

// usable reports whether a CodeableConcept has a coding with system and code.
func usable(v any) bool {
	for _, c := range codings(v) {
		if c.system != "" && c.code != "" {
			return true
		}
	}
	return false
}

// matchCoding reports whether a report code holds one of the definition's
// codings (same system and code).
func matchCoding(report, def any) bool {
	rc := codings(report)
	for _, d := range codings(def) {
		if d.code == "" {
			continue
		}
		for _, c := range rc {
			if c == d {
				return true
			}
		}
	}
	return false
}

func hasCoding(v any, system, code string) bool {
	for _, c := range codings(v) {
		if c.system == system && c.code == code {
			return true
		}
	}
	return false
}

// display renders a code for a message.
func display(v any) string {
	var parts []string
	for _, c := range codings(v) {
		switch {
		case c.system != "":
			parts = append(parts, c.system+"#"+c.code)
		default:
			parts = append(parts, c.code)
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, ", ")
	}
	if m, ok := v.(map[string]any); ok {
		return str(m, "text")
	}
	return ""
}

// idNote names a definition by its id or (STU3) identifier for a message.
func idNote(m map[string]any) string {
	if id := str(m, "id"); id != "" {
		return fmt.Sprintf(" (id = '%s')", id)
	}
	if im, ok := get(m, "identifier").(map[string]any); ok && str(im, "value") != "" {
		return fmt.Sprintf(" (identifier = '%s')", str(im, "value"))
	}
	return ""
}

func extension(m map[string]any, url string) map[string]any {
	for i, e := range list(get(m, "extension")) {
		if i >= maxItems {
			break
		}
		if em, ok := e.(map[string]any); ok && str(em, "url") == url {
			return em
		}
	}
	return nil
}

// valueX returns the value[x] of an extension.
func valueX(ext map[string]any) (any, bool) {
	for k, v := range ext {
		if strings.HasPrefix(k, "value") {
			if q, ok := v.(map[string]any); ok {
				v, ok = q["value"]
				return v, ok
			}
			return v, true
		}
	}
	return nil, false
}

// unitCoding reads the unit a Measure fixes for its score.
func unitCoding(m map[string]any) *coding {
	ext := extension(m, extUnit)
	if ext == nil {
		return nil
	}
	c, ok := ext["valueCoding"].(map[string]any)
	if !ok {
		return nil
	}
	return &coding{str(c, "system"), str(c, "code")}
}

// contained finds a contained resource by type and id.
func contained(res map[string]any, typ, id string) map[string]any {
	for i, c := range list(res["contained"]) {
		if i >= maxItems {
			break
		}
		if cm, ok := c.(map[string]any); ok && str(cm, "resourceType") == typ && str(cm, "id") == id {
			return cm
		}
	}
	return nil
}

// decimal reads a JSON number (json.Number, float64 or a numeric string).
func decimal(v any) (*big.Rat, bool) {
	var s string
	switch t := v.(type) {
	case json.Number:
		s = t.String()
	case string:
		s = t
	case float64:
		s = strconv.FormatFloat(t, 'g', -1, 64)
	case int:
		s = strconv.Itoa(t)
	case int64:
		s = strconv.FormatInt(t, 10)
	default:
		return nil, false
	}
	if len(s) > 64 || strings.ContainsAny(s, "eE/") { // bounded: no huge exponents
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// integer reads a whole JSON number.
func integer(v any) (int64, bool) {
	d, ok := decimal(v)
	if !ok || !d.IsInt() || !d.Num().IsInt64() {
		return 0, false
	}
	return d.Num().Int64(), true
}
