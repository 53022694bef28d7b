package fhirpath

import (
	"encoding/json"
	"math"
	"strings"
	"unicode"
)

func (s *state) binary(n *node, fr *frame) (Collection, error) {
	switch n.name {
	case "and", "or", "xor", "implies":
		return s.logic(n, fr)
	}
	l, err := s.eval(n.left, fr)
	if err != nil {
		return nil, err
	}
	r, err := s.eval(n.right, fr)
	if err != nil {
		return nil, err
	}
	switch n.name {
	case "|":
		if err := s.charge(len(l) + len(r)); err != nil {
			return nil, err
		}
		return union(s, l, r), nil
	case "=":
		return equalOp(s, l, r, false), nil
	case "!=":
		return notOf(equalOp(s, l, r, false)), nil
	case "~":
		return equalOp(s, l, r, true), nil
	case "!~":
		return notOf(equalOp(s, l, r, true)), nil
	case "<", ">", "<=", ">=":
		return compareOp(l, r, n)
	case "in", "contains":
		if n.name == "contains" {
			l, r = r, l
		}
		if len(l) == 0 {
			return Collection{}, nil
		}
		if len(l) > 1 {
			return nil, evalErr(n, "%s needs a single item, got %d", n.name, len(l))
		}
		if err := s.charge(len(r)); err != nil {
			return nil, err
		}
		for _, v := range r {
			if eq, ok := equalItems(s, l[0], v, false); ok && eq {
				return trueC, nil
			}
		}
		return falseC, nil
	case "&":
		ls, err := concatOperand(l, n)
		if err != nil {
			return nil, err
		}
		rs, err := concatOperand(r, n)
		if err != nil {
			return nil, err
		}
		if len(ls)+len(rs) > MaxStringLength {
			return nil, evalErr(n, "string result longer than %d bytes", MaxStringLength)
		}
		return Collection{String(ls + rs)}, nil
	}
	return arithmetic(n, l, r)
}

func concatOperand(c Collection, n *node) (string, error) {
	if len(c) == 0 {
		return "", nil
	}
	if len(c) > 1 {
		return "", evalErr(n, "& needs single items")
	}
	v, _ := toSystem(c[0])
	if s, ok := v.(String); ok {
		return string(s), nil
	}
	return "", evalErr(n, "& needs strings, got %s", typeLabel(c[0]))
}

func notOf(c Collection) Collection {
	if len(c) == 1 {
		if b, ok := c[0].(Boolean); ok {
			return Collection{!b}
		}
	}
	return c
}

// logic implements three-valued and/or/xor/implies.
func (s *state) logic(n *node, fr *frame) (Collection, error) {
	l, err := s.eval(n.left, fr)
	if err != nil {
		return nil, err
	}
	lb, lok, err := singletonBool(l, n.left)
	if err != nil {
		return nil, err
	}
	// Short cuts that need no right operand.
	switch n.name {
	case "and":
		if lok && !lb {
			return falseC, nil
		}
	case "or":
		if lok && lb {
			return trueC, nil
		}
	case "implies":
		if lok && !lb {
			return trueC, nil
		}
	}
	r, err := s.eval(n.right, fr)
	if err != nil {
		return nil, err
	}
	rb, rok, err := singletonBool(r, n.right)
	if err != nil {
		return nil, err
	}
	switch n.name {
	case "and":
		if rok && !rb {
			return falseC, nil
		}
		if lok && rok {
			return trueC, nil
		}
	case "or":
		if rok && rb {
			return trueC, nil
		}
		if lok && rok {
			return falseC, nil
		}
	case "xor":
		if lok && rok {
			return boolC(lb != rb), nil
		}
	case "implies":
		if rok && rb {
			return trueC, nil
		}
		if lok && rok {
			return falseC, nil
		}
	}
	return Collection{}, nil
}

// singletonBool applies singleton evaluation for a boolean context: empty →
// no value; one Boolean → its value; one other item → true; more → error.
func singletonBool(c Collection, n *node) (bool, bool, error) {
	switch len(c) {
	case 0:
		return false, false, nil
	case 1:
		v, ok := toSystem(c[0])
		if ok {
			if b, isB := v.(Boolean); isB {
				return bool(b), true, nil
			}
		}
		return true, true, nil
	}
	return false, false, evalErr(n, "expected a single boolean, got %d items", len(c))
}

func asInteger(v Value) (int64, bool) {
	sv, ok := toSystem(v)
	if !ok {
		return 0, false
	}
	if i, ok := sv.(Integer); ok {
		return int64(i), true
	}
	return 0, false
}

func union(s *state, l, r Collection) Collection {
	out := make(Collection, 0, len(l)+len(r))
	vs := &valueSet{s: s}
	for _, v := range l {
		if vs.add(v) {
			out = append(out, v)
		}
	}
	for _, v := range r {
		if vs.add(v) {
			out = append(out, v)
		}
	}
	return out
}

// equalOp implements = (equiv false) and ~ (equiv true) on collections.
func equalOp(s *state, l, r Collection, equiv bool) Collection {
	if !equiv {
		if len(l) == 0 || len(r) == 0 {
			return Collection{}
		}
		if len(l) != len(r) {
			return Collection{Boolean(false)}
		}
		for i := range l {
			eq, ok := equalItems(s, l[i], r[i], false)
			if !ok {
				return Collection{}
			}
			if !eq {
				return Collection{Boolean(false)}
			}
		}
		return Collection{Boolean(true)}
	}
	if len(l) == 0 && len(r) == 0 {
		return Collection{Boolean(true)}
	}
	if len(l) != len(r) {
		return Collection{Boolean(false)}
	}
	used := make([]bool, len(r))
	for _, a := range l {
		found := false
		for j, b := range r {
			if used[j] {
				continue
			}
			if eq, ok := equalItems(s, a, b, true); ok && eq {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return Collection{Boolean(false)}
		}
	}
	return Collection{Boolean(true)}
}

// equalItems compares two items; ok is false when equality is unknown
// (dates of different precision, incomparable quantities).
func equalItems(s *state, a, b Value, equiv bool) (eq bool, ok bool) {
	ea, aIsElem := a.(*Element)
	eb, bIsElem := b.(*Element)
	if aIsElem && bIsElem && sameNode(ea, eb) {
		return true, true
	}
	if aIsElem && bIsElem && (!ea.isPrimitiveData() || !eb.isPrimitiveData()) {
		if ea.isPrimitiveData() != eb.isPrimitiveData() {
			return false, true
		}
		return deepEqual(s, ea.data, eb.data, equiv), true
	}
	if aIsElem && !ea.isPrimitiveData() {
		if q, isQ := b.(Quantity); isQ {
			if qa, ok := quantityOf(ea); ok {
				return equalItems(s, qa, q, equiv)
			}
		}
		return false, true
	}
	if bIsElem && !eb.isPrimitiveData() {
		return equalItems(s, b, a, equiv)
	}
	av, aok := toSystem(a)
	bv, bok := toSystem(b)
	if !aok || !bok {
		return false, true
	}
	av, bv = coerceStringTemporal(av, bv, aIsElem, bIsElem)
	switch x := av.(type) {
	case Boolean:
		y, isB := bv.(Boolean)
		return isB && x == y, true
	case String:
		y, isS := bv.(String)
		if !isS {
			return false, true
		}
		if equiv {
			return normaliseSpace(string(x)) == normaliseSpace(string(y)), true
		}
		return x == y, true
	case Integer:
		switch y := bv.(type) {
		case Integer:
			return x == y, true
		case Decimal:
			return decimalsEqual(DecimalFromInt(int64(x)), y, equiv), true
		case Quantity:
			return equalItems(s, Quantity{Value: DecimalFromInt(int64(x)), Unit: "1"}, y, equiv)
		}
		return false, true
	case Decimal:
		switch y := bv.(type) {
		case Integer:
			return decimalsEqual(x, DecimalFromInt(int64(y)), equiv), true
		case Decimal:
			return decimalsEqual(x, y, equiv), true
		case Quantity:
			return equalItems(s, Quantity{Value: x, Unit: "1"}, y, equiv)
		}
		return false, true
	case Quantity:
		switch y := bv.(type) {
		case Quantity:
			c, ok := compareQuantities(x, y, equiv)
			if !ok {
				if equiv {
					return false, true
				}
				return false, false
			}
			if equiv {
				return c == 0, true
			}
			return c == 0, true
		case Integer, Decimal:
			return equalItems(s, b, a, equiv)
		}
		return false, true
	case Date, DateTime, Time:
		ta, ka := temporalOf(av)
		tb, kb := temporalOf(bv)
		if ka != kb && !(ka != "Time" && kb != "Time") {
			return false, true
		}
		from := precYear
		if ka == "Time" {
			from = precHour
		}
		c, known := compareTemporal(ta, tb, from)
		if !known {
			if equiv {
				return false, true
			}
			return false, false
		}
		return c == 0, true
	}
	return false, true
}

// coerceStringTemporal converts a string that came from an untyped element
// to a date/time when compared with a date/time (used without a model).
func coerceStringTemporal(a, b Value, aElem, bElem bool) (Value, Value) {
	if s, ok := a.(String); ok && aElem {
		if v := stringAsTemporalLike(string(s), b); v != nil {
			a = v
		}
	}
	if s, ok := b.(String); ok && bElem {
		if v := stringAsTemporalLike(string(s), a); v != nil {
			b = v
		}
	}
	return a, b
}

func stringAsTemporalLike(s string, like Value) Value {
	switch like.(type) {
	case Date, DateTime:
		if d, ok := parseDateTime(s); ok {
			if d.t.prec <= precDay {
				return Date(d)
			}
			return d
		}
	case Time:
		if t, ok := parseTime(s); ok {
			return t
		}
	}
	return nil
}

func temporalOf(v Value) (temporal, string) {
	switch x := v.(type) {
	case Date:
		return x.t, "Date"
	case DateTime:
		return x.t, "DateTime"
	case Time:
		return x.t, "Time"
	}
	return temporal{}, ""
}

func decimalsEqual(a, b Decimal, equiv bool) bool {
	if !equiv {
		return a.Cmp(b) == 0
	}
	p := min(a.scale, b.scale)
	return a.round(p).Cmp(b.round(p)) == 0
}

func normaliseSpace(s string) string {
	return strings.ToLower(strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " "))
}

// deepEqual compares two tree nodes; with equiv, strings compare case- and
// space-insensitively.
func deepEqual(s *state, a, b any, equiv bool) bool {
	if s != nil {
		// Comparing large subtrees costs steps like anything else.
		s.steps++
		if s.steps > s.max {
			return false
		}
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return false
		}
		cnt := 0
		for k, v := range x {
			if k == "id" && equiv {
				continue
			}
			w, ok := y[k]
			if !ok || !deepEqual(s, v, w, equiv) {
				return false
			}
			cnt++
		}
		other := len(y)
		if equiv {
			if _, ok := y["id"]; ok {
				other--
			}
		}
		return cnt == other
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !deepEqual(s, x[i], y[i], equiv) {
				return false
			}
		}
		return true
	case string:
		y, ok := b.(string)
		if !ok {
			return false
		}
		if equiv {
			return normaliseSpace(x) == normaliseSpace(y)
		}
		return x == y
	case json.Number:
		da, ok1 := ParseDecimal(string(x))
		var yb string
		switch y := b.(type) {
		case json.Number:
			yb = string(y)
		case string:
			yb = y
		default:
			return false
		}
		db, ok2 := ParseDecimal(yb)
		return ok1 && ok2 && da.Cmp(db) == 0
	default:
		return a == b
	}
}

// compareOp implements < > <= >=.
func compareOp(l, r Collection, n *node) (Collection, error) {
	if len(l) == 0 || len(r) == 0 {
		return Collection{}, nil
	}
	if len(l) > 1 || len(r) > 1 {
		return nil, evalErr(n, "%s needs single items", n.name)
	}
	c, ok, err := compareItems(l[0], r[0], n)
	if err != nil || !ok {
		return Collection{}, err
	}
	var res bool
	switch n.name {
	case "<":
		res = c < 0
	case ">":
		res = c > 0
	case "<=":
		res = c <= 0
	case ">=":
		res = c >= 0
	}
	return boolC(res), nil
}

func compareItems(a, b Value, n *node) (int, bool, error) {
	_, aElem := a.(*Element)
	_, bElem := b.(*Element)
	if e, ok := a.(*Element); ok && !e.isPrimitiveData() {
		if q, ok := quantityOf(e); ok {
			a, aElem = q, false
		}
	}
	if e, ok := b.(*Element); ok && !e.isPrimitiveData() {
		if q, ok := quantityOf(e); ok {
			b, bElem = q, false
		}
	}
	av, aok := toSystem(a)
	bv, bok := toSystem(b)
	if !aok || !bok {
		return 0, false, evalErr(n, "cannot compare %s with %s", typeLabel(a), typeLabel(b))
	}
	av, bv = coerceStringTemporal(av, bv, aElem, bElem)
	switch x := av.(type) {
	case Integer:
		switch y := bv.(type) {
		case Integer:
			return cmpInt(int64(x), int64(y)), true, nil
		case Decimal:
			return DecimalFromInt(int64(x)).Cmp(y), true, nil
		}
	case Decimal:
		switch y := bv.(type) {
		case Integer:
			return x.Cmp(DecimalFromInt(int64(y))), true, nil
		case Decimal:
			return x.Cmp(y), true, nil
		}
	case String:
		if y, ok := bv.(String); ok {
			return strings.Compare(string(x), string(y)), true, nil
		}
	case Quantity:
		if y, ok := bv.(Quantity); ok {
			c, ok := compareQuantities(x, y, false)
			if !ok {
				return 0, false, evalErr(n, "cannot compare %s with %s", x, y)
			}
			return c, true, nil
		}
	case Date, DateTime, Time:
		ta, ka := temporalOf(av)
		tb, kb := temporalOf(bv)
		if kb == "" || (ka == "Time") != (kb == "Time") {
			break
		}
		from := precYear
		if ka == "Time" {
			from = precHour
		}
		c, known := compareTemporal(ta, tb, from)
		return c, known, nil
	}
	return 0, false, evalErr(n, "cannot compare %s with %s", typeLabel(a), typeLabel(b))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// arithmetic implements + - * / div mod.
func arithmetic(n *node, l, r Collection) (Collection, error) {
	if len(l) == 0 || len(r) == 0 {
		return Collection{}, nil
	}
	if len(l) > 1 || len(r) > 1 {
		return nil, evalErr(n, "%s needs single items", n.name)
	}
	a, _ := toSystem(l[0])
	b, _ := toSystem(r[0])
	if e, ok := l[0].(*Element); ok && !e.isPrimitiveData() {
		if q, ok := quantityOf(e); ok {
			a = q
		}
	}
	if e, ok := r[0].(*Element); ok && !e.isPrimitiveData() {
		if q, ok := quantityOf(e); ok {
			b = q
		}
	}
	if a == nil || b == nil {
		return nil, evalErr(n, "%s needs values", n.name)
	}
	switch x := a.(type) {
	case String:
		if y, ok := b.(String); ok && n.name == "+" {
			if len(x)+len(y) > MaxStringLength {
				return nil, evalErr(n, "string result longer than %d bytes", MaxStringLength)
			}
			return Collection{x + y}, nil
		}
	case Integer:
		switch y := b.(type) {
		case Integer:
			return intArith(n, int64(x), int64(y))
		case Decimal:
			return decArith(n, DecimalFromInt(int64(x)), y)
		case Quantity:
			if n.name == "*" {
				return Collection{Quantity{Value: DecimalFromInt(int64(x)).mul(y.Value), Unit: y.Unit}}, nil
			}
		}
	case Decimal:
		switch y := b.(type) {
		case Integer:
			return decArith(n, x, DecimalFromInt(int64(y)))
		case Decimal:
			return decArith(n, x, y)
		case Quantity:
			if n.name == "*" {
				return Collection{Quantity{Value: x.mul(y.Value), Unit: y.Unit}}, nil
			}
		}
	case Quantity:
		switch y := b.(type) {
		case Quantity:
			return quantityArith(n, x, y)
		case Integer:
			return quantityArith(n, x, Quantity{Value: DecimalFromInt(int64(y)), Unit: "1"})
		case Decimal:
			return quantityArith(n, x, Quantity{Value: y, Unit: "1"})
		}
	case Date, DateTime, Time:
		if q, ok := b.(Quantity); ok && (n.name == "+" || n.name == "-") {
			amount := q.Value
			if n.name == "-" {
				amount = amount.neg()
			}
			t, kind := temporalOf(a)
			if calendarUnit(q.Unit) == "" {
				return nil, evalErr(n, "cannot add %s to a %s", q, kind)
			}
			if !isCalendarUnit(q.Unit) && (q.Unit == "a" || q.Unit == "mo") {
				return nil, evalErr(n, "UCUM %q is not a calendar duration; use year/month", q.Unit)
			}
			res, ok := t.add(amount, q.Unit, kind == "Time")
			if !ok {
				return nil, evalErr(n, "cannot add %s to a %s", q, kind)
			}
			switch kind {
			case "Date":
				return Collection{Date{res}}, nil
			case "Time":
				return Collection{Time{res}}, nil
			}
			return Collection{DateTime{res}}, nil
		}
	}
	return nil, evalErr(n, "cannot apply %s to %s and %s", n.name, typeLabel(l[0]), typeLabel(r[0]))
}

func intArith(n *node, a, b int64) (Collection, error) {
	var r int64
	switch n.name {
	case "+":
		r = a + b
	case "-":
		r = a - b
	case "*":
		r = a * b
		if a != 0 && r/a != b {
			return Collection{}, nil
		}
	case "/":
		d, ok := DecimalFromInt(a).div(DecimalFromInt(b))
		if !ok {
			return Collection{}, nil
		}
		return Collection{d}, nil
	case "div":
		if b == 0 {
			return Collection{}, nil
		}
		r = a / b
	case "mod":
		if b == 0 {
			return Collection{}, nil
		}
		r = a % b
	}
	if r > math.MaxInt32 || r < math.MinInt32 {
		return Collection{}, nil
	}
	return Collection{Integer(r)}, nil
}

func decArith(n *node, a, b Decimal) (Collection, error) {
	c, err := decArith1(n, a, b)
	if err == nil && len(c) == 1 {
		if d, ok := c[0].(Decimal); ok && d.tooBig() {
			return nil, evalErr(n, "decimal result too large")
		}
	}
	return c, err
}

func decArith1(n *node, a, b Decimal) (Collection, error) {
	switch n.name {
	case "+":
		return Collection{a.add(b)}, nil
	case "-":
		return Collection{a.sub(b)}, nil
	case "*":
		return Collection{a.mul(b)}, nil
	case "/":
		d, ok := a.div(b)
		if !ok {
			return Collection{}, nil
		}
		return Collection{d}, nil
	case "div":
		if b.rat().Sign() == 0 {
			return Collection{}, nil
		}
		q, _ := a.div(b)
		return Collection{Integer(truncRat(q.r))}, nil
	case "mod":
		if b.rat().Sign() == 0 {
			return Collection{}, nil
		}
		q, _ := a.div(b)
		t := DecimalFromInt(truncRat(q.r))
		return Collection{a.sub(t.mul(b))}, nil
	}
	return nil, evalErr(n, "bad operator %s", n.name)
}
