package fhirpath

import (
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
)

// The UCUM support is deliberately small: the units common in clinical data
// (mass, length, volume, time, amount of substance, pressure, the customary
// US units) with the metric prefixes, products, quotients, exponents and
// annotations. Quantities whose units it cannot read compare only when their
// unit strings are identical.

type dims [7]int8 // m g s mol K [iU] eq

type unitDef struct {
	factor *big.Rat // size in base units
	dims   dims
}

type atom struct {
	factor string
	dims   dims
	metric bool
}

var ucumAtoms = map[string]atom{
	"1":        {"1", dims{}, false},
	"m":        {"1", dims{1}, true},
	"g":        {"1", dims{0, 1}, true},
	"s":        {"1", dims{0, 0, 1}, true},
	"mol":      {"1", dims{0, 0, 0, 1}, true},
	"K":        {"1", dims{0, 0, 0, 0, 1}, true},
	"m[Hg]":    {"133322000", dims{-1, 1, -2}, true}, // 133.322 kPa
	"[iU]":     {"1", dims{0, 0, 0, 0, 0, 1}, true},
	"[IU]":     {"1", dims{0, 0, 0, 0, 0, 1}, true},
	"eq":       {"1", dims{0, 0, 0, 0, 0, 0, 1}, true},
	"U":        {"1/60000000", dims{0, 0, -1, 1}, true},
	"L":        {"1/1000", dims{3}, true},
	"l":        {"1/1000", dims{3}, true},
	"min":      {"60", dims{0, 0, 1}, false},
	"h":        {"3600", dims{0, 0, 1}, false},
	"d":        {"86400", dims{0, 0, 1}, false},
	"wk":       {"604800", dims{0, 0, 1}, false},
	"mo":       {"2629800", dims{0, 0, 1}, false},
	"a":        {"31557600", dims{0, 0, 1}, false},
	"[in_i]":   {"0.0254", dims{1}, false},
	"[ft_i]":   {"0.3048", dims{1}, false},
	"[yd_i]":   {"0.9144", dims{1}, false},
	"[mi_i]":   {"1609.344", dims{1}, false},
	"[lb_av]":  {"453.59237", dims{0, 1}, false},
	"[oz_av]":  {"28.349523125", dims{0, 1}, false},
	"[gal_us]": {"0.003785411784", dims{3}, false},
	"Pa":       {"1000", dims{-1, 1, -2}, true},
	"bar":      {"100000000", dims{-1, 1, -2}, true},
	"%":        {"1/100", dims{}, false},
	"[ppm]":    {"1/1000000", dims{}, false},
	"Hz":       {"1", dims{0, 0, -1}, true},
	"N":        {"1000", dims{1, 1, -2}, true},
	"J":        {"1000", dims{2, 1, -2}, true},
	"cal":      {"4184", dims{2, 1, -2}, true},
	"[kcal]":   {"4184000", dims{2, 1, -2}, false},
}

var ucumPrefixes = map[string]string{
	"Y": "1e24", "Z": "1e21", "E": "1e18", "P": "1e15", "T": "1e12", "G": "1e9", "M": "1e6",
	"k": "1e3", "h": "1e2", "da": "1e1", "d": "1e-1", "c": "1e-2", "m": "1e-3", "u": "1e-6",
	"n": "1e-9", "p": "1e-12", "f": "1e-15",
}

// calendarToUCUM maps calendar duration keywords to UCUM units.
var calendarToUCUM = map[string]string{
	"year": "a", "month": "mo", "week": "wk", "day": "d", "hour": "h", "minute": "min",
	"second": "s", "millisecond": "ms",
}

func ratOf(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return new(big.Rat).SetInt64(1)
	}
	return r
}

// parseUnit reads a UCUM unit expression.
func parseUnit(u string) (unitDef, bool) {
	if c, ok := calendarToUCUM[strings.TrimSuffix(u, "s")]; ok && isCalendarKeyword(u) {
		u = c
	}
	if len(u) > 200 {
		return unitDef{}, false
	}
	p := &unitParser{s: u}
	def, ok := p.term(0)
	if !ok || p.i != len(p.s) {
		return unitDef{}, false
	}
	return def, true
}

type unitParser struct {
	s string
	i int
}

func (p *unitParser) term(depth int) (unitDef, bool) {
	if depth > 10 {
		return unitDef{}, false
	}
	res := unitDef{factor: big.NewRat(1, 1)}
	op := byte('.')
	if p.i < len(p.s) && p.s[p.i] == '/' {
		op = '/'
		p.i++
	}
	for {
		c, ok := p.component(depth)
		if !ok {
			return unitDef{}, false
		}
		res = combine(res, c, op == '/')
		if p.i >= len(p.s) || p.s[p.i] == ')' {
			return res, true
		}
		op = p.s[p.i]
		if op != '.' && op != '/' {
			return unitDef{}, false
		}
		p.i++
	}
}

func combine(a, b unitDef, divide bool) unitDef {
	out := unitDef{factor: new(big.Rat)}
	if divide {
		out.factor.Quo(a.factor, b.factor)
	} else {
		out.factor.Mul(a.factor, b.factor)
	}
	for k := range out.dims {
		if divide {
			out.dims[k] = a.dims[k] - b.dims[k]
		} else {
			out.dims[k] = a.dims[k] + b.dims[k]
		}
	}
	return out
}

func (p *unitParser) component(depth int) (unitDef, bool) {
	if p.i >= len(p.s) {
		return unitDef{}, false
	}
	var def unitDef
	switch {
	case p.s[p.i] == '(':
		p.i++
		d, ok := p.term(depth + 1)
		if !ok || p.i >= len(p.s) || p.s[p.i] != ')' {
			return unitDef{}, false
		}
		p.i++
		def = d
	case p.s[p.i] == '{':
		end := strings.IndexByte(p.s[p.i:], '}')
		if end < 0 {
			return unitDef{}, false
		}
		p.i += end + 1
		return unitDef{factor: big.NewRat(1, 1)}, true
	default:
		start := p.i
		for p.i < len(p.s) {
			c := p.s[p.i]
			if c == '[' {
				end := strings.IndexByte(p.s[p.i:], ']')
				if end < 0 {
					return unitDef{}, false
				}
				p.i += end + 1
				continue
			}
			if c == '.' || c == '/' || c == '(' || c == ')' || c == '{' {
				break
			}
			p.i++
		}
		text := p.s[start:p.i]
		d, ok := simpleUnit(text)
		if !ok {
			return unitDef{}, false
		}
		def = d
	}
	// trailing annotation
	if p.i < len(p.s) && p.s[p.i] == '{' {
		end := strings.IndexByte(p.s[p.i:], '}')
		if end < 0 {
			return unitDef{}, false
		}
		p.i += end + 1
	}
	return def, true
}

// simpleUnit reads prefix+atom+exponent, or 10*n / 10^n.
func simpleUnit(text string) (unitDef, bool) {
	if text == "" {
		return unitDef{}, false
	}
	if rest, ok := strings.CutPrefix(text, "10*"); ok {
		return powerOfTen(rest)
	}
	if rest, ok := strings.CutPrefix(text, "10^"); ok {
		return powerOfTen(rest)
	}
	if text == "1" {
		return unitDef{factor: big.NewRat(1, 1)}, true
	}
	// exponent
	j := len(text)
	for j > 0 && text[j-1] >= '0' && text[j-1] <= '9' {
		j--
	}
	if j > 0 && (text[j-1] == '-' || text[j-1] == '+') && j < len(text) {
		j--
	}
	exp := 1
	if j < len(text) && j > 0 {
		e, err := strconv.Atoi(text[j:])
		if err != nil || e > 10 || e < -10 {
			return unitDef{}, false
		}
		exp = e
		text = text[:j]
	}
	base, ok := atomDef(text)
	if !ok {
		return unitDef{}, false
	}
	out := unitDef{factor: big.NewRat(1, 1)}
	for k := 0; k < abs(exp); k++ {
		out = combine(out, base, exp < 0)
	}
	return out, true
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

func powerOfTen(rest string) (unitDef, bool) {
	n, err := strconv.Atoi(rest)
	if err != nil || n > 30 || n < -30 {
		return unitDef{}, false
	}
	return unitDef{factor: ratOf("1e" + strconv.Itoa(n))}, true
}

func atomDef(text string) (unitDef, bool) {
	if a, ok := ucumAtoms[text]; ok {
		return unitDef{factor: ratOf(a.factor), dims: a.dims}, true
	}
	for _, plen := range []int{2, 1} {
		if len(text) <= plen {
			continue
		}
		pf, ok := ucumPrefixes[text[:plen]]
		if !ok {
			continue
		}
		if a, ok := ucumAtoms[text[plen:]]; ok && a.metric {
			f := new(big.Rat).Mul(ratOf(pf), ratOf(a.factor))
			return unitDef{factor: f, dims: a.dims}, true
		}
	}
	return unitDef{}, false
}

// convertQuantity expresses q in unit; ok is false when the units are not commensurable.
func convertQuantity(q Quantity, unit string) (Decimal, bool) {
	if q.Unit == unit {
		return q.Value, true
	}
	from, ok1 := parseUnit(q.Unit)
	to, ok2 := parseUnit(unit)
	if !ok1 || !ok2 || from.dims != to.dims {
		return Decimal{}, false
	}
	r := new(big.Rat).Mul(q.Value.rat(), from.factor)
	r.Quo(r, to.factor)
	return Decimal{r: r, scale: q.Value.scale}, true
}

// compareQuantities compares a and b after converting b to a's unit. With
// equiv, values are compared at the precision of the less precise operand.
func compareQuantities(a, b Quantity, equiv bool) (int, bool) {
	// Calendar years and months are not the same as UCUM a and mo.
	ca, cb := isCalendarKeyword(a.Unit), isCalendarKeyword(b.Unit)
	if ca != cb {
		cu := a.Unit
		if cb {
			cu = b.Unit
		}
		if k := strings.TrimSuffix(cu, "s"); (k == "year" || k == "month") && !equiv {
			return 0, false
		}
	}
	bv, ok := convertQuantity(b, a.Unit)
	if !ok {
		return 0, false
	}
	if equiv {
		p := min(a.Value.scale, b.Value.scale)
		return a.Value.round(p).Cmp(bv.round(p)), true
	}
	return a.Value.Cmp(bv), true
}

func quantityArith(n *node, a, b Quantity) (Collection, error) {
	switch n.name {
	case "+", "-":
		bv, ok := convertQuantity(b, a.Unit)
		if !ok {
			return nil, evalErr(n, "cannot %s %s and %s", n.name, a, b)
		}
		if n.name == "+" {
			return Collection{Quantity{Value: a.Value.add(bv), Unit: a.Unit}}, nil
		}
		return Collection{Quantity{Value: a.Value.sub(bv), Unit: a.Unit}}, nil
	case "*":
		v := a.Value.mul(b.Value)
		u := productUnit(a.Unit, b.Unit, '.')
		if v.tooBig() || len(u) > 200 {
			return nil, evalErr(n, "quantity result too large")
		}
		return Collection{Quantity{Value: v, Unit: u}}, nil
	case "/":
		v, ok := a.Value.div(b.Value)
		if !ok {
			return Collection{}, nil
		}
		u := productUnit(a.Unit, b.Unit, '/')
		if v.tooBig() || len(u) > 200 {
			return nil, evalErr(n, "quantity result too large")
		}
		return Collection{Quantity{Value: v, Unit: u}}, nil
	}
	return nil, evalErr(n, "cannot apply %s to quantities", n.name)
}

func productUnit(a, b string, op byte) string {
	a, b = ucumOf(a), ucumOf(b)
	if b == "1" {
		return a
	}
	if a == "1" && op == '.' {
		return b
	}
	if strings.ContainsAny(b, "./") {
		b = "(" + b + ")"
	}
	return a + string(op) + b
}

func ucumOf(u string) string {
	if isCalendarKeyword(u) {
		return calendarToUCUM[strings.TrimSuffix(u, "s")]
	}
	return u
}

// quantityOf reads a FHIR Quantity element (value + code/unit) as a System Quantity.
func quantityOf(e *Element) (Quantity, bool) {
	m, ok := e.data.(map[string]any)
	if !ok {
		return Quantity{}, false
	}
	t := typeName(e.typ)
	if t != "" && t != "Quantity" && t != "Age" && t != "Duration" && t != "Distance" && t != "Count" &&
		t != "SimpleQuantity" && t != "MoneyQuantity" {
		return Quantity{}, false
	}
	var d Decimal
	switch v := m["value"].(type) {
	case json.Number:
		d, ok = ParseDecimal(string(v))
	case string:
		d, ok = ParseDecimal(v)
	case float64:
		d, ok = ParseDecimal(strconv.FormatFloat(v, 'f', -1, 64))
	default:
		ok = false
	}
	if !ok {
		return Quantity{}, false
	}
	unit := ""
	if code, ok := m["code"].(string); ok {
		sys, _ := m["system"].(string)
		if sys == "" || sys == "http://unitsofmeasure.org" {
			unit = code
		}
	}
	if unit == "" {
		if u, ok := m["unit"].(string); ok {
			unit = u
		}
	}
	if unit == "" {
		unit = "1"
	}
	return Quantity{Value: d, Unit: unit}, true
}

// parseQuantityString reads "1.5 'mg'", "3 days" or "4".
func parseQuantityString(s string) (Quantity, bool) {
	s = strings.TrimSpace(s)
	num, rest, _ := strings.Cut(s, " ")
	d, ok := ParseDecimal(num)
	if !ok {
		return Quantity{}, false
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return Quantity{Value: d, Unit: "1"}, true
	}
	if len(rest) >= 2 && rest[0] == '\'' && rest[len(rest)-1] == '\'' {
		return Quantity{Value: d, Unit: rest[1 : len(rest)-1]}, true
	}
	if isCalendarKeyword(rest) {
		return Quantity{Value: d, Unit: strings.TrimSuffix(rest, "s")}, true
	}
	return Quantity{}, false
}

// CompareUCUM compares two quantities written in UCUM units (value as
// decimal text): -1, 0 or 1 when both units are understood and of the same
// dimension, ok false otherwise.
func CompareUCUM(value1, unit1, value2, unit2 string) (int, bool) {
	d1, ok1 := parseUnit(unit1)
	d2, ok2 := parseUnit(unit2)
	v1, okv1 := new(big.Rat).SetString(value1)
	v2, okv2 := new(big.Rat).SetString(value2)
	if !ok1 || !ok2 || !okv1 || !okv2 || d1.dims != d2.dims {
		return 0, false
	}
	return new(big.Rat).Mul(v1, d1.factor).Cmp(new(big.Rat).Mul(v2, d2.factor)), true
}
