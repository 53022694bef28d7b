package fhirpath

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Value is one item of a Collection. It is one of the System types Boolean,
// Integer, Decimal, String, Date, DateTime, Time and Quantity, or an *Element
// of the resource tree (a FHIR value with a FHIR type).
type Value interface {
	// TypeInfo names the value's type: System.X for System values, FHIR.x for
	// elements (the namespace is "FHIR" even when the model does not know the
	// element's type; the name is then empty).
	TypeInfo() TypeInfo
}

// Collection is the ordered result of an expression.
type Collection []Value

// TypeInfo is a qualified type name such as System.Integer or FHIR.Patient.
type TypeInfo struct {
	Namespace string
	Name      string
}

func (t TypeInfo) String() string { return t.Namespace + "." + t.Name }

// Boolean is the System.Boolean type.
type Boolean bool

// Integer is the System.Integer type (32-bit in the specification; kept in 64 bits).
type Integer int64

// String is the System.String type.
type String string

// Decimal is the System.Decimal type: an exact rational value with the number
// of decimal places it was written with (its precision).
type Decimal struct {
	r     *big.Rat
	scale int
}

// Quantity is the System.Quantity type: a decimal value and a UCUM unit or a
// calendar duration keyword (year, month, week, day, hour, minute, second,
// millisecond; plurals are normalised to the singular).
type Quantity struct {
	Value Decimal
	Unit  string
}

// TypeInfo implements Value.
func (Boolean) TypeInfo() TypeInfo { return TypeInfo{"System", "Boolean"} }

// TypeInfo implements Value.
func (Integer) TypeInfo() TypeInfo { return TypeInfo{"System", "Integer"} }

// TypeInfo implements Value.
func (String) TypeInfo() TypeInfo { return TypeInfo{"System", "String"} }

// TypeInfo implements Value.
func (Decimal) TypeInfo() TypeInfo { return TypeInfo{"System", "Decimal"} }

// TypeInfo implements Value.
func (Quantity) TypeInfo() TypeInfo { return TypeInfo{"System", "Quantity"} }

// ParseDecimal parses a decimal literal such as "-1.50" or "1e3".
func ParseDecimal(s string) (Decimal, bool) {
	if s == "" || len(s) > 400 {
		return Decimal{}, false
	}
	body := s
	if body[0] == '-' || body[0] == '+' {
		body = body[1:]
	}
	if body == "" || body[0] == '.' || body[len(body)-1] == '.' {
		return Decimal{}, false
	}
	mant, exp := body, 0
	if i := strings.IndexAny(body, "eE"); i >= 0 {
		mant = body[:i]
		e, err := strconv.Atoi(body[i+1:])
		if err != nil || e > 1000 || e < -1000 {
			return Decimal{}, false
		}
		exp = e
	}
	dot := false
	for i := 0; i < len(mant); i++ {
		c := mant[i]
		if c == '.' {
			if dot {
				return Decimal{}, false
			}
			dot = true
			continue
		}
		if c < '0' || c > '9' {
			return Decimal{}, false
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return Decimal{}, false
	}
	scale := 0
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		scale = len(mant) - i - 1
	}
	scale -= exp
	if scale < 0 {
		scale = 0
	}
	return Decimal{r: r, scale: scale}, true
}

// DecimalFromInt returns the decimal value of an integer.
func DecimalFromInt(i int64) Decimal {
	return Decimal{r: new(big.Rat).SetInt64(i)}
}

// Rat returns the exact value (a copy).
func (d Decimal) Rat() *big.Rat {
	if d.r == nil {
		return new(big.Rat)
	}
	return new(big.Rat).Set(d.r)
}

func (d Decimal) rat() *big.Rat {
	if d.r == nil {
		return new(big.Rat)
	}
	return d.r
}

// Float64 returns the nearest float64.
func (d Decimal) Float64() float64 {
	f, _ := d.rat().Float64()
	return f
}

// Scale is the number of decimal places the value carries.
func (d Decimal) Scale() int { return d.scale }

// String renders the decimal with its scale; values that have no finite
// decimal expansion are rounded to 8 places.
func (d Decimal) String() string {
	r := d.rat()
	if r.IsInt() && d.scale == 0 {
		return r.Num().String()
	}
	scale := d.scale
	if !terminates(r) {
		if scale < 8 {
			scale = 8
		}
		s := r.FloatString(scale)
		return trimZeros(s)
	}
	// The exact expansion may need more places than the scale says.
	for scale < 60 {
		s := r.FloatString(scale)
		back, _ := new(big.Rat).SetString(s)
		if back.Cmp(r) == 0 {
			return s
		}
		scale++
	}
	return r.FloatString(scale)
}

func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// terminates reports whether r has a finite decimal expansion.
func terminates(r *big.Rat) bool {
	d := new(big.Int).Set(r.Denom())
	two, five := big.NewInt(2), big.NewInt(5)
	m := new(big.Int)
	for {
		if m.Mod(d, two).Sign() == 0 {
			d.Quo(d, two)
			continue
		}
		break
	}
	for {
		if m.Mod(d, five).Sign() == 0 {
			d.Quo(d, five)
			continue
		}
		break
	}
	return d.Cmp(big.NewInt(1)) == 0
}

// Cmp compares two decimals.
func (d Decimal) Cmp(o Decimal) int { return d.rat().Cmp(o.rat()) }

func (d Decimal) add(o Decimal) Decimal {
	return Decimal{r: new(big.Rat).Add(d.rat(), o.rat()), scale: max(d.scale, o.scale)}
}

func (d Decimal) sub(o Decimal) Decimal {
	return Decimal{r: new(big.Rat).Sub(d.rat(), o.rat()), scale: max(d.scale, o.scale)}
}

func (d Decimal) mul(o Decimal) Decimal {
	return Decimal{r: new(big.Rat).Mul(d.rat(), o.rat()), scale: d.scale + o.scale}
}

func (d Decimal) div(o Decimal) (Decimal, bool) {
	if o.rat().Sign() == 0 {
		return Decimal{}, false
	}
	r := new(big.Rat).Quo(d.rat(), o.rat())
	return Decimal{r: r, scale: 8}, true
}

func (d Decimal) neg() Decimal { return Decimal{r: new(big.Rat).Neg(d.rat()), scale: d.scale} }

// round rounds half away from zero to n places.
func (d Decimal) round(n int) Decimal {
	r := d.rat()
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil))
	x := new(big.Rat).Mul(r, scale)
	neg := x.Sign() < 0
	if neg {
		x.Neg(x)
	}
	x.Add(x, big.NewRat(1, 2))
	q := new(big.Int).Quo(x.Num(), x.Denom())
	if neg {
		q.Neg(q)
	}
	out := new(big.Rat).SetFrac(q, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil))
	return Decimal{r: out, scale: n}
}

// floorN truncates towards minus infinity at n places.
func (d Decimal) floorN(n int) Decimal {
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	x := new(big.Rat).Mul(d.rat(), new(big.Rat).SetInt(p))
	q := floorRat(x)
	return Decimal{r: new(big.Rat).SetFrac(q, p), scale: n}
}

func (d Decimal) ceilN(n int) Decimal {
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	x := new(big.Rat).Mul(d.rat(), new(big.Rat).SetInt(p))
	q := floorRat(x)
	if !x.IsInt() {
		q.Add(q, big.NewInt(1))
	}
	return Decimal{r: new(big.Rat).SetFrac(q, p), scale: n}
}

func floorRat(x *big.Rat) *big.Int {
	q, m := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	if m.Sign() < 0 {
		q.Sub(q, big.NewInt(1))
	}
	return q
}

// tooBig reports a value whose exact representation has grown beyond any
// clinical use (repeated multiplication), which would cost unbounded memory.
func (d Decimal) tooBig() bool {
	r := d.rat()
	return r.Num().BitLen() > 4096 || r.Denom().BitLen() > 4096 || d.scale > 1000
}

func (q Quantity) String() string {
	if isCalendarUnit(q.Unit) {
		return q.Value.String() + " " + q.Unit
	}
	return q.Value.String() + " '" + q.Unit + "'"
}

// Element is a node of the resource tree together with its FHIR type.
type Element struct {
	data any            // map[string]any, []any never, string, json.Number, bool, float64, or nil
	ext  map[string]any // the "_name" companion of a primitive (id, extension)
	typ  string         // type key: FHIR type name, or an element path for backbone elements
	name string         // the JSON property name it was reached by
}

// NewElement wraps a node of the tree (a map[string]any for a resource or
// complex type, or a primitive JSON value) with its FHIR type (may be "" when
// unknown; a map with resourceType needs none).
func NewElement(data any, fhirType string) *Element {
	if fhirType == "" {
		if m, ok := data.(map[string]any); ok {
			if rt, ok := m["resourceType"].(string); ok {
				fhirType = rt
			}
		}
	}
	return &Element{data: data, typ: fhirType}
}

// Data returns the wrapped tree node.
func (e *Element) Data() any { return e.data }

// FHIRType returns the element's FHIR type name ("" when unknown). Backbone
// elements report BackboneElement (or Element).
func (e *Element) FHIRType() string { return typeName(e.typ) }

// Name returns the JSON property name the element was reached by, "" for the root.
func (e *Element) Name() string { return e.name }

// SystemValue returns the System value of a primitive element (a FHIR date
// as a Date, a code as a String, ...); ok is false for complex elements and
// for primitives that carry only extensions.
func (e *Element) SystemValue() (v Value, ok bool) { return e.system() }

// TypeInfo implements Value.
func (e *Element) TypeInfo() TypeInfo { return TypeInfo{"FHIR", typeName(e.typ)} }

// typeName maps a type key to a FHIR type name.
func typeName(key string) string {
	if i := strings.IndexByte(key, '#'); i >= 0 {
		return key[i+1:]
	}
	return key
}

// isPrimitiveData reports whether the element holds a primitive (not an object).
func (e *Element) isPrimitiveData() bool {
	_, obj := e.data.(map[string]any)
	return !obj
}

// system converts a primitive element to its System value; ok is false for
// complex elements and primitives without a value.
func (e *Element) system() (Value, bool) {
	switch v := e.data.(type) {
	case nil, map[string]any:
		return nil, false
	case bool:
		return Boolean(v), true
	case json.Number:
		return numberValue(string(v), typeName(e.typ))
	case float64:
		return numberValue(strconv.FormatFloat(v, 'f', -1, 64), typeName(e.typ))
	case int:
		return Integer(v), true
	case int64:
		return Integer(v), true
	case string:
		return stringValue(v, typeName(e.typ))
	default:
		return String(fmt.Sprint(v)), true
	}
}

func numberValue(s, typ string) (Value, bool) {
	switch typ {
	case "decimal":
		if d, ok := ParseDecimal(s); ok {
			return d, true
		}
		return nil, false
	case "integer", "positiveInt", "unsignedInt", "integer64":
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return Integer(i), true
		}
	}
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return Integer(i), true
		}
	}
	if d, ok := ParseDecimal(s); ok {
		return d, true
	}
	return String(s), true
}

func stringValue(s, typ string) (Value, bool) {
	switch typ {
	case "boolean":
		switch s {
		case "true":
			return Boolean(true), true
		case "false":
			return Boolean(false), true
		}
	case "integer", "positiveInt", "unsignedInt", "integer64", "decimal":
		return numberValue(s, typ)
	case "date":
		if d, ok := parseDate(s); ok {
			return d, true
		}
	case "dateTime", "instant":
		if d, ok := parseDateTime(s); ok {
			return d, true
		}
	case "time":
		if t, ok := parseTime(s); ok {
			return t, true
		}
	}
	return String(s), true
}

// singletonSystem returns the System value of v (converting primitive elements).
func toSystem(v Value) (Value, bool) {
	if e, ok := v.(*Element); ok {
		return e.system()
	}
	return v, true
}
