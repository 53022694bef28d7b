package questionnaire

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strings"

	"github.com/bcbench/bcbench/profiles/fhirpath"
	"github.com/bcbench/bcbench/profiles/outcome"
)

// answer checks one answer against its questionnaire item.
func (c *checker) answer(a, q map[string]any, p string) {
	key, v := valueOf(a)
	if key == "" {
		return
	}
	suffix := key[len("value"):]
	id, typ := str(q, "linkId"), str(q, "type")
	if allowed, ok := answerTypes[typ]; ok && !contains(allowed, suffix) {
		c.add(outcome.Error, outcome.CodeStructure, p, "the answer to item %q (type %s) must be of type %s, not %s", id, typ, strings.Join(allowed, " or "), suffix)
		return
	}
	if s, ok := v.(string); ok && suffix != "Boolean" {
		if ml, ok := intOf(q["maxLength"]); ok && ml > 0 && len([]rune(s)) > ml {
			c.add(outcome.Error, outcome.CodeValue, p, "the answer to item %q is longer than its maxLength %d", id, ml)
		}
		if re, ok := extValue(q, extRegex).(string); ok {
			if rx, err := regexp.Compile("^(?:" + re + ")$"); err == nil && !rx.MatchString(s) {
				c.add(outcome.Error, outcome.CodeValue, p, "the answer %q to item %q does not match the pattern %s", s, id, re)
			}
		}
	}
	if lo := extValue(q, extMinValue); lo != nil {
		if r, ok := compare(v, lo); ok && r < 0 {
			c.add(outcome.Error, outcome.CodeValue, p, "the answer %s to item %q is less than the minimum %s", show(v), id, show(lo))
		}
	}
	if hi := extValue(q, extMaxValue); hi != nil {
		if r, ok := compare(v, hi); ok && r > 0 {
			c.add(outcome.Error, outcome.CodeValue, p, "the answer %s to item %q is greater than the maximum %s", show(v), id, show(hi))
		}
	}
	switch suffix {
	case "Decimal":
		if n, ok := intOf(extValue(q, extMaxDecimalPlaces)); ok && n >= 0 {
			if d := decimals(numText(v)); d > n {
				c.add(outcome.Error, outcome.CodeValue, p, "the answer %s to item %q has %d decimal places, more than the %d allowed", numText(v), id, d, n)
			}
		}
	case "Attachment":
		c.attachment(v, q, p)
	case "Reference":
		c.reference(v, q, p)
	case "Quantity":
		c.quantity(v, q, p)
	}
	options := list(q["answerOption"])
	if len(options) == 0 {
		options = list(q["option"]) // STU3
	}
	if len(options) > 0 && !(typ == "open-choice" && suffix == "String") {
		for _, o := range options {
			om, _ := o.(map[string]any)
			if ok, ov := valueOf(om); ok == key && same(v, ov) {
				c.display(v, p)
				return
			}
		}
		c.add(outcome.Error, outcome.CodeCodeInvalid, p, "the answer %s is not one of the answer options of item %q", show(v), id)
		return
	}
	vs := str(q, "answerValueSet")
	if m, ok := q["options"].(map[string]any); ok { // STU3
		vs = str(m, "reference")
	}
	if vs == "" || strings.HasPrefix(vs, "#") {
		return
	}
	switch {
	case suffix == "Coding":
		coding, _ := v.(map[string]any)
		if str(coding, "code") != "" {
			member, known := c.member(vs, str(coding, "system"), str(coding, "code"))
			switch {
			case !known:
				c.add(outcome.Warning, outcome.CodeNotSupported, p, "whether the code %s|%s is in the value set %s of item %q could not be checked offline", str(coding, "system"), str(coding, "code"), vs, id)
			case !member:
				c.add(outcome.Error, outcome.CodeCodeInvalid, p, "the code %s|%s is not in the value set %s of item %q", str(coding, "system"), str(coding, "code"), vs, id)
				return
			}
		}
		c.display(v, p)
	case suffix == "String" && (typ == "string" || typ == "text"):
		s, _ := v.(string)
		member, known := c.stringInValueSet(vs, s)
		switch {
		case !known:
			c.add(outcome.Warning, outcome.CodeNotSupported, p, "whether the value %q is a code of the value set %s of item %q could not be checked offline", s, vs, id)
		case !member:
			c.add(outcome.Error, outcome.CodeCodeInvalid, p, "the value %q is not in the list of allowed values of item %q (value set %s)", s, id, vs)
		}
	}
}

// member asks the terminology hook; without one nothing is known.
func (c *checker) member(vs, system, code string) (member, known bool) {
	if c.env.MemberOf == nil {
		return false, false
	}
	return c.env.MemberOf(vs, system, code)
}

// display checks a Coding answer's display against its code system.
func (c *checker) display(v any, p string) {
	coding, ok := v.(map[string]any)
	if !ok || c.env.DisplayOK == nil || str(coding, "display") == "" || str(coding, "system") == "" {
		return
	}
	if good, known := c.env.DisplayOK(str(coding, "system"), str(coding, "code"), str(coding, "display")); known && !good {
		c.add(outcome.Error, outcome.CodeCodeInvalid, p+".value.ofType(Coding).display", "wrong display %q for %s#%s", str(coding, "display"), str(coding, "system"), str(coding, "code"))
	}
}

// stringInValueSet asks whether a string answer is a code of one of the
// code systems the value set includes. known is true only when every
// included system gave an answer (or one said member).
func (c *checker) stringInValueSet(vs, s string) (member, known bool) {
	if c.env.MemberOf == nil || c.env.Resolve == nil || s == "" {
		return false, false
	}
	res, ok := c.env.Resolve(vs)
	if !ok {
		return false, false
	}
	compose, _ := res["compose"].(map[string]any)
	systems := map[string]bool{}
	for _, inc := range list(compose["include"]) {
		im, _ := inc.(map[string]any)
		if sys := str(im, "system"); sys != "" {
			systems[sys] = true
		} else {
			return false, false // imports of other value sets: not decided here
		}
	}
	if len(systems) == 0 {
		return false, false
	}
	allKnown := true
	for sys := range systems {
		m, k := c.env.MemberOf(vs, sys, s)
		if k && m {
			return true, true
		}
		allKnown = allKnown && k
	}
	return false, allKnown
}

// attachment checks an Attachment answer's mime type and size.
func (c *checker) attachment(v any, q map[string]any, p string) {
	a, _ := v.(map[string]any)
	id := str(q, "linkId")
	var types []string
	for _, x := range list(q["extension"]) {
		xm, _ := x.(map[string]any)
		if str(xm, "url") == extMimeType {
			types = append(types, str(xm, "valueCode"))
		}
	}
	if ct := str(a, "contentType"); ct != "" && len(types) > 0 && !contains(types, ct) {
		c.add(outcome.Error, outcome.CodeValue, p, "the attachment's content type %s is not allowed for item %q (allowed: %s)", ct, id, strings.Join(types, ", "))
	}
	if data := str(a, "data"); data != "" && a["size"] != nil {
		if raw, err := base64.StdEncoding.DecodeString(data); err == nil {
			if r, ok := compare(a["size"], json.Number(fmt.Sprint(len(raw)))); ok && r != 0 {
				c.add(outcome.Error, outcome.CodeValue, p, "the attachment's stated size %s does not match the size of its data, %d bytes", show(a["size"]), len(raw))
			}
		}
	}
	if limit := extValue(q, extMaxSize); limit != nil {
		if r, ok := compare(a["size"], limit); ok && r > 0 {
			c.add(outcome.Error, outcome.CodeValue, p, "the attachment's size %s is larger than the maximum %s of item %q", show(a["size"]), show(limit), id)
		}
	}
}

// reference checks a Reference answer's target type against the item's
// referenceResource (R4) or allowedResource (STU3) extensions.
func (c *checker) reference(v any, q map[string]any, p string) {
	r, _ := v.(map[string]any)
	var allowed []string
	for _, x := range list(q["extension"]) {
		xm, _ := x.(map[string]any)
		if u := str(xm, "url"); u == extReferenceRes || u == extAllowedResource {
			allowed = append(allowed, str(xm, "valueCode"))
		}
	}
	ref := str(r, "reference")
	if strings.ContainsAny(ref, " \t\n") {
		c.add(outcome.Error, outcome.CodeStructure, p+".value.ofType(Reference)", "the reference %q is not a valid reference", ref)
	}
	typ := str(r, "type")
	if typ == "" && ref != "" {
		typ = c.targetType(ref)
	}
	if typ != "" && c.env.IsResourceType != nil && !c.env.IsResourceType(typ) {
		c.add(outcome.Error, outcome.CodeStructure, p+".value.ofType(Reference)", "the resource type %s in the reference %s is not a resource type", typ, ref)
		return
	}
	if typ != "" && len(allowed) > 0 && !contains(allowed, typ) {
		c.add(outcome.Error, outcome.CodeStructure, p+".value.ofType(Reference)", "the resource type %s in the reference %s is not allowed for item %q (allowed: %s)", typ, ref, str(q, "linkId"), strings.Join(allowed, ", "))
	}
}

// typedRef matches the Type/id tail of a literal reference.
var typedRef = regexp.MustCompile(`(?:^|/)([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[A-Za-z0-9\-.]{1,64})?$`)

// targetType returns the resource type a reference points to, or "".
func (c *checker) targetType(ref string) string {
	if strings.HasPrefix(ref, "#") {
		for _, r := range list(c.qr["contained"]) {
			if rm, ok := r.(map[string]any); ok && str(rm, "id") == ref[1:] {
				return str(rm, "resourceType")
			}
		}
		return ""
	}
	if m := typedRef.FindStringSubmatch(ref); m != nil {
		return m[1]
	}
	return ""
}

// quantity checks a Quantity answer's unit against the item's unit options.
func (c *checker) quantity(v any, q map[string]any, p string) {
	a, _ := v.(map[string]any)
	id := str(q, "linkId")
	var units []map[string]any
	for _, x := range list(q["extension"]) {
		xm, _ := x.(map[string]any)
		switch str(xm, "url") {
		case extUnitOption:
			if u, ok := xm["valueCoding"].(map[string]any); ok {
				units = append(units, u)
			}
		case extUnitValueSet:
			vs := str(xm, "valueCanonical")
			if vs == "" {
				vs = str(xm, "valueUri")
			}
			if str(a, "code") == "" {
				c.add(outcome.Error, outcome.CodeCodeInvalid, p, "the answer %s has no unit code, so its unit is not in the unit value set %s of item %q", show(a), vs, id)
			} else if member, known := c.member(vs, str(a, "system"), str(a, "code")); !known {
				c.add(outcome.Warning, outcome.CodeNotSupported, p, "whether the unit %s|%s is in the unit value set %s of item %q could not be checked offline", str(a, "system"), str(a, "code"), vs, id)
			} else if !member {
				c.add(outcome.Error, outcome.CodeCodeInvalid, p, "the unit %s|%s of the answer is not in the unit value set %s of item %q", str(a, "system"), str(a, "code"), vs, id)
			}
		case extMinQuantity, extMaxQuantity:
			b, _ := xm["valueQuantity"].(map[string]any)
			isMin := str(xm, "url") == extMinQuantity
			r, ok := compareQuantity(a, b)
			switch {
			case !ok:
				c.add(outcome.Error, outcome.CodeValue, p, "the answer %s cannot be compared with the bound %s of item %q (both need a UCUM code of the same dimension)", showQuantity(a), showQuantity(b), id)
			case isMin && r < 0:
				c.add(outcome.Error, outcome.CodeValue, p, "the answer %s is less than the minimum %s of item %q", showQuantity(a), showQuantity(b), id)
			case !isMin && r > 0:
				c.add(outcome.Error, outcome.CodeValue, p, "the answer %s is greater than the maximum %s of item %q", showQuantity(a), showQuantity(b), id)
			}
		}
	}
	if len(units) == 0 {
		return
	}
	for _, u := range units {
		if str(u, "code") == str(a, "code") && str(u, "system") == str(a, "system") {
			return
		}
	}
	c.add(outcome.Error, outcome.CodeCodeInvalid, p, "the unit of the answer %s is not one of the unit options of item %q", show(a), str(q, "linkId"))
}

const ucum = "http://unitsofmeasure.org"

// compareQuantity compares two Quantities with UCUM codes, converting
// between units of the same dimension.
func compareQuantity(a, b map[string]any) (int, bool) {
	if str(a, "system") != ucum || str(b, "system") != ucum || str(a, "code") == "" || str(b, "code") == "" {
		return 0, false
	}
	return fhirpath.CompareUCUM(numText(a["value"]), str(a, "code"), numText(b["value"]), str(b, "code"))
}

func showQuantity(q map[string]any) string {
	u := str(q, "code")
	if u == "" {
		u = str(q, "unit")
	}
	return strings.TrimSpace(numText(q["value"]) + " " + u)
}

// --- tree helpers ---

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func list(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case nil:
		return nil
	default:
		return []any{x}
	}
}

func truth(v any) bool { b, _ := v.(bool); return b }

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// valueOf returns the value[x] key and value of an answer or option.
func valueOf(m map[string]any) (string, any) {
	for k, v := range m {
		if strings.HasPrefix(k, "value") && len(k) > 5 && k[5] >= 'A' && k[5] <= 'Z' {
			return k, v
		}
	}
	return "", nil
}

// extValue returns the value[x] of the first extension with url, or nil.
func extValue(m map[string]any, url string) any {
	for _, x := range list(m["extension"]) {
		xm, _ := x.(map[string]any)
		if str(xm, "url") == url {
			_, v := valueOf(xm)
			return v
		}
	}
	return nil
}

func numText(v any) string {
	switch x := v.(type) {
	case json.Number:
		return string(x)
	case string:
		return x
	case float64:
		return fmt.Sprint(x)
	case int:
		return fmt.Sprint(x)
	}
	return ""
}

func intOf(v any) (int, bool) {
	s := numText(v)
	if s == "" {
		return 0, false
	}
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil || fmt.Sprint(n) != s {
		return 0, false
	}
	return n, true
}

// decimals counts the digits after the point of a decimal's text.
func decimals(s string) int {
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		return 0 // exponent form: not counted
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

// compare orders two values of the same kind: numbers numerically, dates,
// dateTimes and times as text when they have the same precision, Quantities
// with the same unit by value. ok is false when they cannot be compared.
func compare(a, b any) (int, bool) {
	switch x := a.(type) {
	case json.Number, float64, int:
		return compareNum(numText(x), numText(b))
	case string:
		y, ok := b.(string)
		if !ok || len(x) != len(y) || x == "" {
			return 0, false
		}
		return strings.Compare(x, y), true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || str(x, "code") != str(y, "code") || str(x, "system") != str(y, "system") {
			return 0, false
		}
		return compareNum(numText(x["value"]), numText(y["value"]))
	}
	return 0, false
}

func compareNum(a, b string) (int, bool) {
	x, ok1 := number(a)
	y, ok2 := number(b)
	if !ok1 || !ok2 {
		return 0, false
	}
	return x.Cmp(y), true
}

// number parses a decimal's text, refusing long texts and large exponents
// (which would make big.Rat allocate without bound).
func number(s string) (*big.Rat, bool) {
	if s == "" || len(s) > 64 {
		return nil, false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		var exp int
		if _, err := fmt.Sscan(s[i+1:], &exp); err != nil || exp > 400 || exp < -400 {
			return nil, false
		}
	}
	return new(big.Rat).SetString(s)
}

// same reports whether an answer equals an option or enableWhen value:
// Codings by system and code (an option without system matches any),
// Quantities by value and unit, references by reference, primitives by value.
func same(a, b any) bool {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok != bok {
		return false
	}
	if aok {
		if _, ok := bm["reference"]; ok {
			return str(am, "reference") == str(bm, "reference")
		}
		if _, ok := bm["value"]; ok {
			r, ok := compare(am, bm)
			return ok && r == 0
		}
		return str(am, "code") == str(bm, "code") && (str(bm, "system") == "" || str(am, "system") == str(bm, "system"))
	}
	if _, ok := a.(string); !ok {
		if r, ok := compareNum(numText(a), numText(b)); ok && numText(a) != "" {
			return r == 0
		}
	}
	return a == b
}

func show(v any) string {
	switch x := v.(type) {
	case map[string]any:
		if c := str(x, "code"); c != "" {
			if n := numText(x["value"]); n != "" {
				return n + " " + c
			}
			return str(x, "system") + "|" + c
		}
		if r := str(x, "reference"); r != "" {
			return r
		}
		b, _ := json.Marshal(x)
		if len(b) > 80 {
			b = append(b[:77], "..."...)
		}
		return string(b)
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprint(v)
}
