package fhirpath

import (
	"strconv"
)

// valueSet holds distinct values under FHIRPath equality. Strings, numbers
// and booleans (System values or primitive elements) are hashed; other values
// (dates, quantities, complex elements) are compared one by one, each
// comparison charged to the evaluation's step budget.
type valueSet struct {
	s       *state
	keyed   map[string]struct{}
	unkeyed []Value
}

// hashKey returns a key under which equal values collide, for the types
// whose equality is plain value equality.
func hashKey(v Value) (string, bool) {
	sv := v
	if e, ok := v.(*Element); ok {
		if !e.isPrimitiveData() {
			return "", false
		}
		x, ok := e.system()
		if !ok {
			return "", false
		}
		sv = x
	}
	switch x := sv.(type) {
	case String:
		return "s" + string(x), true
	case Boolean:
		if x {
			return "bt", true
		}
		return "bf", true
	case Integer:
		return "n" + strconv.FormatInt(int64(x), 10), true
	case Decimal:
		return "n" + x.rat().RatString(), true
	}
	return "", false
}

// add inserts v and reports whether it was new.
func (vs *valueSet) add(v Value) bool {
	if k, ok := hashKey(v); ok {
		if vs.keyed == nil {
			vs.keyed = map[string]struct{}{}
		}
		if _, dup := vs.keyed[k]; dup {
			return false
		}
		vs.keyed[k] = struct{}{}
		return true
	}
	if vs.has(v) {
		return false
	}
	vs.unkeyed = append(vs.unkeyed, v)
	return true
}

func (vs *valueSet) has(v Value) bool {
	if k, ok := hashKey(v); ok {
		_, found := vs.keyed[k]
		return found
	}
	if vs.s != nil {
		vs.s.steps += len(vs.unkeyed)
	}
	for _, o := range vs.unkeyed {
		if eq, ok := equalItems(vs.s, o, v, false); ok && eq {
			return true
		}
	}
	return false
}

func newValueSet(s *state, c Collection) *valueSet {
	vs := &valueSet{s: s}
	for _, v := range c {
		vs.add(v)
	}
	return vs
}
