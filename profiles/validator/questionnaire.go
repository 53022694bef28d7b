package validator

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/bcbench/bcbench/profiles/outcome"
	"github.com/bcbench/bcbench/profiles/terminology"
)

// answerTypes maps a Questionnaire item type to the answer value[x] types it
// accepts.
var answerTypes = map[string][]string{
	"boolean": {"Boolean"}, "decimal": {"Decimal"}, "integer": {"Integer"}, "date": {"Date"},
	"dateTime": {"DateTime"}, "time": {"Time"}, "string": {"String"}, "text": {"String"},
	"url": {"Uri"}, "choice": {"Coding", "String", "Integer", "Date", "Time"}, "open-choice": {"Coding", "String", "Integer", "Date", "Time"},
	"attachment": {"Attachment"}, "reference": {"Reference"}, "quantity": {"Quantity"},
}

// questionnaireResponse checks a QuestionnaireResponse against the
// Questionnaire it answers, when that Questionnaire is loaded.
func (r *run) questionnaireResponse(qr map[string]any, path string) {
	ref := str(qr, "questionnaire")
	if m, ok := qr["questionnaire"].(map[string]any); ok { // STU3: a Reference
		ref = str(m, "reference")
	}
	if ref == "" {
		return
	}
	q := r.findQuestionnaire(ref)
	if q == nil {
		r.issue(outcome.Warning, outcome.CodeNotFound, path+".questionnaire", "questionnaire %s is not loaded, so the answers were not checked against it", ref)
		return
	}
	all := map[string][]any{} // linkId → answers anywhere in the response, for enableWhen
	collectAnswers(asList(qr["item"]), all)
	completed := str(qr, "status") == "completed"
	r.qrItems(asList(qr["item"]), asList(q["item"]), path, all, completed)
}

func (r *run) findQuestionnaire(ref string) map[string]any {
	if t, ok := r.v.reg.Resource(ref); ok && str(t, "resourceType") == "Questionnaire" {
		return t
	}
	id := ref[strings.LastIndexByte(ref, '/')+1:]
	for _, e := range r.v.reg.Entries() {
		if e.ResourceType == "Questionnaire" && (e.ID == id || strings.HasSuffix(e.URL, "/"+id)) {
			if t, err := e.Tree(); err == nil {
				return t
			}
		}
	}
	return nil
}

func collectAnswers(items []any, into map[string][]any) {
	for _, it := range items {
		m, _ := it.(map[string]any)
		id := str(m, "linkId")
		for _, a := range asList(m["answer"]) {
			into[id] = append(into[id], a)
			am, _ := a.(map[string]any)
			collectAnswers(asList(am["item"]), into)
		}
		collectAnswers(asList(m["item"]), into)
	}
}

func (r *run) qrItems(ritems, qitems []any, path string, all map[string][]any, completed bool) {
	byID := map[string]map[string]any{}
	for _, q := range qitems {
		qm, _ := q.(map[string]any)
		byID[str(qm, "linkId")] = qm
	}
	count := map[string]int{}    // response items per linkId
	answered := map[string]int{} // answers (or, for groups, sub-items) per linkId
	for i, it := range ritems {
		m, _ := it.(map[string]any)
		p := fmt.Sprintf("%s.item[%d]", path, i)
		id := str(m, "linkId")
		q := byID[id]
		if q == nil {
			r.issue(outcome.Error, outcome.CodeStructure, p, "linkId %q is not an item of the questionnaire at this level", id)
			continue
		}
		if count[id]++; count[id] == 2 && !isTrue(q["repeats"]) {
			r.issue(outcome.Error, outcome.CodeStructure, p, "only one response item with linkId %q is allowed (the question does not repeat)", id)
		}
		enabled, known := r.enabled(q, all)
		answers := asList(m["answer"])
		answered[id] += len(answers) + len(asList(m["item"]))
		if n := toInt(ext(q, "http://hl7.org/fhir/StructureDefinition/questionnaire-maxOccurs"), 0); n > 0 && len(answers) > n {
			r.issue(outcome.Error, outcome.CodeStructure, p, "item %q allows at most %d answers, but has %d", id, n, len(answers))
		}
		if n := toInt(ext(q, "http://hl7.org/fhir/StructureDefinition/questionnaire-minOccurs"), 0); n > 0 && len(answers) < n {
			r.issue(outcome.Error, outcome.CodeStructure, p, "item %q needs at least %d answers, but has %d", id, n, len(answers))
		}
		if known && !enabled && (len(answers) > 0 || len(asList(m["item"])) > 0) {
			r.issue(outcome.Error, outcome.CodeStructure, p, "item %q is answered although its enableWhen conditions disable it", id)
		}
		typ := str(q, "type")
		switch typ {
		case "question":
			if len(answers) > 0 {
				r.issue(outcome.Error, outcome.CodeStructure, p, "item %q is of the abstract type question and cannot have answers", id)
			}
		case "group":
			if len(answers) > 0 {
				r.issue(outcome.Error, outcome.CodeStructure, p, "group item %q cannot have answers", id)
			}
			r.qrItems(asList(m["item"]), asList(q["item"]), p, all, completed)
			continue
		case "display":
			if len(answers) > 0 {
				r.issue(outcome.Error, outcome.CodeStructure, p, "display item %q cannot have answers", id)
			}
			continue
		}
		if len(answers) > 1 && !isTrue(q["repeats"]) {
			r.issue(outcome.Error, outcome.CodeStructure, p, "item %q has %d answers, but the question does not repeat", id, len(answers))
		}
		if len(answers) > 1 {
			r.exclusiveOptions(answers, q, p)
		}
		for j, a := range answers {
			am, _ := a.(map[string]any)
			r.qrAnswer(am, q, fmt.Sprintf("%s.answer[%d]", p, j))
			r.qrItems(asList(am["item"]), asList(q["item"]), fmt.Sprintf("%s.answer[%d]", p, j), all, completed)
		}
		if len(asList(m["item"])) > 0 {
			r.qrItems(asList(m["item"]), asList(q["item"]), p, all, completed)
		}
	}
	if !completed {
		return
	}
	for _, q := range qitems {
		qm, _ := q.(map[string]any)
		if !isTrue(qm["required"]) || answered[str(qm, "linkId")] > 0 || str(qm, "type") == "display" {
			continue
		}
		if enabled, known := r.enabled(qm, all); known && !enabled || !known {
			continue
		}
		r.issue(outcome.Error, outcome.CodeRequired, path, "no answer for the required item %q", str(qm, "linkId"))
	}
}

func isTrue(v any) bool { b, _ := v.(bool); return b }

// qrAnswer checks one answer's type, options, length and bounds.
func (r *run) qrAnswer(a map[string]any, q map[string]any, path string) {
	typ := str(q, "type")
	var key, suffix string
	for k := range a {
		if strings.HasPrefix(k, "value") && len(k) > 5 {
			key, suffix = k, k[5:]
		}
	}
	if key == "" {
		return
	}
	v := a[key]
	if allowed, ok := answerTypes[typ]; ok {
		match := false
		for _, t := range allowed {
			match = match || t == suffix
		}
		if !match {
			r.issue(outcome.Error, outcome.CodeStructure, path, "the answer must be of type %s for item %q (type %s), not %s", strings.Join(allowed, " or "), str(q, "linkId"), typ, suffix)
			return
		}
	}
	if s, ok := v.(string); ok {
		if re, ok := ext(q, "http://hl7.org/fhir/StructureDefinition/regex").(string); ok {
			if rx, err := regexp.Compile("^(?:" + re + ")$"); err == nil && !rx.MatchString(s) {
				r.issue(outcome.Error, outcome.CodeValue, path, "the answer %q does not match the pattern %s of item %q", s, re, str(q, "linkId"))
			}
		}
		if ml := toInt(q["maxLength"], 0); ml > 0 && len([]rune(s)) > ml {
			r.issue(outcome.Error, outcome.CodeValue, path, "the answer is longer than maxLength %d of item %q", ml, str(q, "linkId"))
		}
	}
	for _, x := range asList(q["extension"]) {
		xm, _ := x.(map[string]any)
		var bound any
		for k, bv := range xm {
			if strings.HasPrefix(k, "value") {
				bound = bv
			}
		}
		switch str(xm, "url") {
		case "http://hl7.org/fhir/StructureDefinition/minValue":
			if c, ok := compareBound(v, bound); ok && c < 0 {
				r.issue(outcome.Error, outcome.CodeValue, path, "the answer %s is less than the minimum %s of item %q", show(v), show(bound), str(q, "linkId"))
			}
		case "http://hl7.org/fhir/StructureDefinition/maxValue":
			if c, ok := compareBound(v, bound); ok && c > 0 {
				r.issue(outcome.Error, outcome.CodeValue, path, "the answer %s is greater than the maximum %s of item %q", show(v), show(bound), str(q, "linkId"))
			}
		}
	}
	if suffix == "Quantity" {
		r.qrQuantity(v, q, path)
	}
	if suffix == "Attachment" {
		r.qrAttachment(v, q, path)
	}
	if suffix == "Decimal" {
		if n := toInt(ext(q, "http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces"), -1); n >= 0 {
			txt := numText(v)
			if dot := strings.IndexByte(txt, '.'); dot >= 0 && len(strings.TrimRight(txt[dot+1:], "eE0123456789+-")) == 0 && len(txt)-dot-1 > n {
				r.issue(outcome.Error, outcome.CodeValue, path, "the answer %s has more than %d decimal places (item %q)", txt, n, str(q, "linkId"))
			}
		}
	}
	options := asList(q["answerOption"])
	if len(options) == 0 {
		options = asList(q["option"]) // STU3
	}
	if len(options) > 0 && (typ == "choice" || typ == "open-choice" && suffix == "Coding" || typ != "choice" && typ != "open-choice") {
		for _, o := range options {
			om, _ := o.(map[string]any)
			for k, ov := range om {
				if !strings.HasPrefix(k, "value") {
					continue
				}
				if k != key {
					continue
				}
				if c, ok := ov.(map[string]any); ok {
					if vm, ok := v.(map[string]any); ok && str(vm, "code") == str(c, "code") && (str(c, "system") == "" || str(vm, "system") == str(c, "system")) {
						return
					}
				} else if equal(v, ov) {
					return
				}
			}
		}
		r.issue(outcome.Error, outcome.CodeCodeInvalid, path, "the answer %s is not one of the options of item %q", show(v), str(q, "linkId"))
		return
	}
	vs := str(q, "answerValueSet")
	if m, ok := q["options"].(map[string]any); ok { // STU3
		vs = str(m, "reference")
	}
	if vs != "" && suffix == "Coding" && !strings.HasPrefix(vs, "#") {
		vm, _ := v.(map[string]any)
		res := r.validateCode(vs, coding(vm))
		switch res.Outcome {
		case terminology.NotMember:
			r.issue(outcome.Error, outcome.CodeCodeInvalid, path, "the answer is not in the value set %s of item %q: %s", vs, str(q, "linkId"), res.Message)
		case terminology.Unknown:
			r.issue(outcome.Warning, outcome.CodeNotSupported, path, "whether the answer is in the value set %s could not be checked: %s", vs, res.Message)
		}
	}
}

// enabled evaluates an item's enableWhen (R4 operators =, !=, exists;
// STU3 hasAnswer and answer[x]). known is false when a condition uses an
// operator this check does not evaluate.
func (r *run) enabled(q map[string]any, all map[string][]any) (enabled, known bool) {
	conds := asList(q["enableWhen"])
	if len(conds) == 0 {
		return true, true
	}
	anyOf := str(q, "enableBehavior") != "all"
	results := make([]bool, 0, len(conds))
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		answers := all[str(cm, "question")]
		op := str(cm, "operator")
		if h, ok := cm["hasAnswer"].(bool); ok { // STU3
			results = append(results, (len(answers) > 0) == h)
			continue
		}
		var want any
		var wantKey string
		for k, v := range cm {
			if strings.HasPrefix(k, "answer") {
				want, wantKey = v, "value"+k[6:]
			}
		}
		switch op {
		case "exists":
			b, _ := want.(bool)
			results = append(results, (len(answers) > 0) == b)
		case "=", "!=", "":
			hit := false
			for _, a := range answers {
				am, _ := a.(map[string]any)
				got := am[wantKey]
				if gm, ok := got.(map[string]any); ok {
					if wm, ok := want.(map[string]any); ok {
						hit = hit || str(gm, "code") == str(wm, "code") && str(gm, "system") == str(wm, "system")
					}
				} else if got != nil {
					hit = hit || equal(got, want)
				}
			}
			results = append(results, hit == (op != "!="))
		default:
			return true, false
		}
	}
	for _, b := range results {
		if anyOf && b {
			return true, true
		}
		if !anyOf && !b {
			return false, true
		}
	}
	return !anyOf, true
}

// ext returns the value[x] of the first extension with the url, or nil.
func ext(m map[string]any, url string) any {
	for _, x := range asList(m["extension"]) {
		xm, _ := x.(map[string]any)
		if str(xm, "url") != url {
			continue
		}
		for k, v := range xm {
			if strings.HasPrefix(k, "value") {
				return v
			}
		}
	}
	return nil
}

// ucumScale gives simple UCUM units as a dimension and a factor to its base
// unit, enough to compare metric Quantities (m and km, g and kg, L and mL).
var ucumScale = map[string]struct {
	dim    string
	factor float64
}{
	"m": {"length", 1}, "km": {"length", 1000}, "cm": {"length", 0.01}, "mm": {"length", 0.001}, "[mi_i]": {"length", 1609.344},
	"g": {"mass", 1}, "kg": {"mass", 1000}, "mg": {"mass", 0.001}, "ug": {"mass", 1e-6},
	"L": {"volume", 1}, "mL": {"volume", 0.001}, "dL": {"volume", 0.1},
	"s": {"time", 1}, "min": {"time", 60}, "h": {"time", 3600}, "d": {"time", 86400},
}

// qrQuantity checks a Quantity answer against the item's unit options, unit
// value set and minimum/maximum Quantities.
func (r *run) qrQuantity(v any, q map[string]any, path string) {
	a, _ := v.(map[string]any)
	id := str(q, "linkId")
	var units []map[string]any
	for _, x := range asList(q["extension"]) {
		xm, _ := x.(map[string]any)
		switch str(xm, "url") {
		case "http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption":
			if c, ok := xm["valueCoding"].(map[string]any); ok {
				units = append(units, c)
			}
		case "http://hl7.org/fhir/StructureDefinition/questionnaire-unitValueSet":
			vs := str(xm, "valueCanonical")
			res := r.validateCode(vs, terminology.Coding{System: str(a, "system"), Code: str(a, "code")})
			if res.Outcome != terminology.Member {
				r.issue(outcome.Error, outcome.CodeCodeInvalid, path, "the unit of the answer is not in the unit value set %s of item %q", vs, id)
			}
		case "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-minQuantity",
			"http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-maxQuantity":
			b, _ := xm["valueQuantity"].(map[string]any)
			isMin := strings.HasSuffix(str(xm, "url"), "minQuantity")
			c, ok := compareQuantity(a, b)
			switch {
			case !ok:
				r.issue(outcome.Error, outcome.CodeValue, path, "the answer %s cannot be compared to the bound %s of item %q (no formal or compatible UCUM units)", show(a), show(b), id)
			case isMin && c < 0:
				r.issue(outcome.Error, outcome.CodeValue, path, "the answer %s is less than the minimum %s of item %q", show(a), show(b), id)
			case !isMin && c > 0:
				r.issue(outcome.Error, outcome.CodeValue, path, "the answer %s is greater than the maximum %s of item %q", show(a), show(b), id)
			}
		}
	}
	if len(units) > 0 {
		for _, u := range units {
			if str(u, "code") == str(a, "code") && str(u, "system") == str(a, "system") {
				return
			}
		}
		r.issue(outcome.Error, outcome.CodeCodeInvalid, path, "the unit of the answer %s is not one of the unit options of item %q", show(a), id)
	}
}

// compareQuantity compares two Quantities with UCUM codes, converting
// between the simple metric units of ucumScale.
func compareQuantity(a, b map[string]any) (int, bool) {
	const ucum = "http://unitsofmeasure.org"
	if str(a, "system") != ucum || str(b, "system") != ucum || str(a, "code") == "" || str(b, "code") == "" {
		return 0, false
	}
	x, err1 := strconv.ParseFloat(numText(a["value"]), 64)
	y, err2 := strconv.ParseFloat(numText(b["value"]), 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	if ca, cb := str(a, "code"), str(b, "code"); ca != cb {
		ua, oka := ucumScale[ca]
		ub, okb := ucumScale[cb]
		if !oka || !okb || ua.dim != ub.dim {
			return 0, false
		}
		x, y = x*ua.factor, y*ub.factor
	}
	switch {
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	}
	return 0, true
}

// qrAttachment checks an attachment answer's mime type and size.
func (r *run) qrAttachment(v any, q map[string]any, path string) {
	a, _ := v.(map[string]any)
	var types []string
	for _, x := range asList(q["extension"]) {
		xm, _ := x.(map[string]any)
		if str(xm, "url") == "http://hl7.org/fhir/StructureDefinition/mimeType" {
			types = append(types, str(xm, "valueCode"))
		}
	}
	if ct := str(a, "contentType"); len(types) > 0 && ct != "" {
		ok := false
		for _, t := range types {
			ok = ok || t == ct
		}
		if !ok {
			r.issue(outcome.Error, outcome.CodeValue, path, "the attachment's mime type %s is not allowed for item %q (allowed: %s)", ct, str(q, "linkId"), strings.Join(types, ", "))
		}
	}
	if maxSize := numText(ext(q, "http://hl7.org/fhir/StructureDefinition/maxSize")); maxSize != "" {
		if c, ok := compareBound(a["size"], json.Number(maxSize)); ok && c > 0 {
			r.issue(outcome.Error, outcome.CodeValue, path, "the attachment is larger than the maximum size %s of item %q", maxSize, str(q, "linkId"))
		}
	}
}

// exclusiveOptions reports an exclusive answer option chosen together with
// other answers.
func (r *run) exclusiveOptions(answers []any, q map[string]any, path string) {
	for _, o := range asList(q["answerOption"]) {
		om, _ := o.(map[string]any)
		if ex, _ := ext(om, "http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive").(bool); !ex {
			continue
		}
		oc, _ := om["valueCoding"].(map[string]any)
		for _, a := range answers {
			am, _ := a.(map[string]any)
			if vc, ok := am["valueCoding"].(map[string]any); ok && oc != nil && str(vc, "code") == str(oc, "code") && str(vc, "system") == str(oc, "system") {
				r.issue(outcome.Error, outcome.CodeStructure, path, "answer %s|%s is an exclusive option: nothing else may be selected with it", str(oc, "system"), str(oc, "code"))
				return
			}
		}
	}
}
