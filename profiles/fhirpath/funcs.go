package fhirpath

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// function is a bound FHIRPath function.
type function struct {
	minArgs, maxArgs int
	typeArg          bool // the first argument is a type specifier
	call             func(s *state, n *node, in Collection, fr *frame) (Collection, error)
}

var functions map[string]*function

// fixed registers a function whose arguments are evaluated once, against the
// caller's frame, before the call.
func fixed(minA, maxA int, f func(s *state, n *node, in Collection, args []Collection) (Collection, error)) *function {
	return &function{minArgs: minA, maxArgs: maxA, call: func(s *state, n *node, in Collection, fr *frame) (Collection, error) {
		args := make([]Collection, len(n.args))
		for i, a := range n.args {
			v, err := s.eval(a, fr)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
		return f(s, n, in, args)
	}}
}

// lazy registers a function that evaluates its arguments itself (per item).
func lazy(minA, maxA int, f func(s *state, n *node, in Collection, fr *frame) (Collection, error)) *function {
	return &function{minArgs: minA, maxArgs: maxA, call: f}
}

// itemFrame is the frame for evaluating a criterion on one item.
func itemFrame(fr *frame, v Value, i int) *frame {
	return &frame{focus: Collection{v}, this: v, index: i, hasIx: true, total: fr.total, hasT: fr.hasT}
}

func single(in Collection, n *node) (Value, error) {
	if len(in) > 1 {
		return nil, evalErr(n, "%s() needs a single input item, got %d", n.name, len(in))
	}
	if len(in) == 0 {
		return nil, nil
	}
	return in[0], nil
}

func singleString(c Collection, n *node, what string) (string, bool, error) {
	if len(c) == 0 {
		return "", false, nil
	}
	if len(c) > 1 {
		return "", false, evalErr(n, "%s() %s must be a single string", n.name, what)
	}
	v, _ := toSystem(c[0])
	s, ok := v.(String)
	if !ok {
		return "", false, evalErr(n, "%s() %s must be a string, got %s", n.name, what, typeLabel(c[0]))
	}
	return string(s), true, nil
}

func singleInt(c Collection, n *node, what string) (int64, bool, error) {
	if len(c) == 0 {
		return 0, false, nil
	}
	if len(c) > 1 {
		return 0, false, evalErr(n, "%s() %s must be a single integer", n.name, what)
	}
	i, ok := asInteger(c[0])
	if !ok {
		return 0, false, evalErr(n, "%s() %s must be an integer", n.name, what)
	}
	return i, true, nil
}

// inputString returns the single string input (empty input: ok=false).
func inputString(in Collection, n *node) (string, bool, error) {
	return singleString(in, n, "input")
}

// Shared one-item boolean results; collections are never modified in place.
var (
	trueC  = Collection{Boolean(true)}
	falseC = Collection{Boolean(false)}
)

// smallInts holds shared one-item collections for counts.
var smallInts = func() (c [256]Collection) {
	for i := range c {
		c[i] = Collection{Integer(i)}
	}
	return c
}()

func intC(i int) Collection {
	if i >= 0 && i < len(smallInts) {
		return smallInts[i]
	}
	return Collection{Integer(i)}
}

func boolC(b bool) Collection {
	if b {
		return trueC
	}
	return falseC
}

var empty = Collection{}

func init() {
	functions = map[string]*function{
		// existence
		"empty": fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
			return boolC(len(in) == 0), nil
		}),
		"exists": lazy(0, 1, func(s *state, n *node, in Collection, fr *frame) (Collection, error) {
			if len(n.args) == 0 {
				return boolC(len(in) > 0), nil
			}
			out, err := filter(s, n, in, fr)
			if err != nil {
				return nil, err
			}
			return boolC(len(out) > 0), nil
		}),
		"all": lazy(1, 1, func(s *state, n *node, in Collection, fr *frame) (Collection, error) {
			for i, v := range in {
				r, err := s.eval(n.args[0], itemFrame(fr, v, i))
				if err != nil {
					return nil, err
				}
				b, ok, err := singletonBool(r, n)
				if err != nil {
					return nil, err
				}
				if !ok || !b {
					return boolC(false), nil
				}
			}
			return boolC(true), nil
		}),
		"allTrue":  fixed(0, 0, boolAgg(func(bs []bool) bool { return all(bs, true) })),
		"anyTrue":  fixed(0, 0, boolAgg(func(bs []bool) bool { return anyOf(bs, true) })),
		"allFalse": fixed(0, 0, boolAgg(func(bs []bool) bool { return all(bs, false) })),
		"anyFalse": fixed(0, 0, boolAgg(func(bs []bool) bool { return anyOf(bs, false) })),
		"subsetOf": fixed(1, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			return boolC(subset(s, in, a[0])), nil
		}),
		"supersetOf": fixed(1, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			return boolC(subset(s, a[0], in)), nil
		}),
		"count": {minArgs: 0, maxArgs: 0, call: countFn},
		"distinct": fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
			if err := s.charge(len(in)); err != nil {
				return nil, err
			}
			return union(s, in, nil), nil
		}),
		"isDistinct": fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
			if err := s.charge(len(in)); err != nil {
				return nil, err
			}
			return boolC(len(union(s, in, nil)) == len(in)), nil
		}),
		// filtering and projection
		"where": lazy(1, 1, filter),
		"select": lazy(1, 1, func(s *state, n *node, in Collection, fr *frame) (Collection, error) {
			out := Collection{}
			for i, v := range in {
				r, err := s.eval(n.args[0], itemFrame(fr, v, i))
				if err != nil {
					return nil, err
				}
				out = append(out, r...)
			}
			return out, nil
		}),
		"repeat": lazy(1, 1, func(s *state, n *node, in Collection, fr *frame) (Collection, error) {
			out := Collection{}
			seen := &valueSet{s: s}
			queue := in
			for len(queue) > 0 {
				var next Collection
				for i, v := range queue {
					r, err := s.eval(n.args[0], itemFrame(fr, v, i))
					if err != nil {
						return nil, err
					}
					if err := s.charge(len(r)); err != nil {
						return nil, err
					}
					for _, x := range r {
						if !seen.add(x) {
							continue
						}
						out = append(out, x)
						next = append(next, x)
					}
				}
				queue = next
			}
			return out, nil
		}),
		"ofType": {minArgs: 1, maxArgs: 1, typeArg: true, call: func(s *state, n *node, in Collection, fr *frame) (Collection, error) {
			if err := s.checkTypeName(n.typ, n); err != nil {
				return nil, err
			}
			return s.ofType(in, n.typ), nil
		}},
		"is": {minArgs: 1, maxArgs: 1, typeArg: true, call: func(s *state, n *node, in Collection, fr *frame) (Collection, error) {
			v, err := single(in, n)
			if err != nil || v == nil {
				return empty, err
			}
			if err := s.checkTypeName(n.typ, n); err != nil {
				return nil, err
			}
			return boolC(s.isType(v, n.typ)), nil
		}},
		"as": {minArgs: 1, maxArgs: 1, typeArg: true, call: func(s *state, n *node, in Collection, fr *frame) (Collection, error) {
			if len(in) > 1 {
				return nil, evalErr(n, "as() needs a single item, got %d", len(in))
			}
			return s.asType(in, n.typ, n)
		}},
		// subsetting
		"single": fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
			if len(in) > 1 {
				return nil, evalErr(n, "single() found %d items", len(in))
			}
			return in, nil
		}),
		"first": fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
			if len(in) == 0 {
				return empty, nil
			}
			return in[:1], nil
		}),
		"last": fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
			if len(in) == 0 {
				return empty, nil
			}
			return in[len(in)-1:], nil
		}),
		"tail": fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
			if len(in) <= 1 {
				return empty, nil
			}
			return in[1:], nil
		}),
		"skip": fixed(1, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			k, ok, err := singleInt(a[0], n, "count")
			if err != nil || !ok {
				return empty, err
			}
			if k <= 0 {
				return in, nil
			}
			if int(k) >= len(in) {
				return empty, nil
			}
			return in[k:], nil
		}),
		"take": fixed(1, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			k, ok, err := singleInt(a[0], n, "count")
			if err != nil || !ok {
				return empty, err
			}
			if k <= 0 {
				return empty, nil
			}
			if int(k) >= len(in) {
				return in, nil
			}
			return in[:k], nil
		}),
		"intersect": fixed(1, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			if err := s.charge(len(in) + len(a[0])); err != nil {
				return nil, err
			}
			other, done := newValueSet(s, a[0]), &valueSet{s: s}
			out := Collection{}
			for _, v := range in {
				if other.has(v) && done.add(v) {
					out = append(out, v)
				}
			}
			return out, nil
		}),
		"exclude": fixed(1, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			if err := s.charge(len(in) + len(a[0])); err != nil {
				return nil, err
			}
			other := newValueSet(s, a[0])
			out := Collection{}
			for _, v := range in {
				if !other.has(v) {
					out = append(out, v)
				}
			}
			return out, nil
		}),
		"union": fixed(1, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			if err := s.charge(len(in) + len(a[0])); err != nil {
				return nil, err
			}
			return union(s, in, a[0]), nil
		}),
		"combine": fixed(1, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			out := make(Collection, 0, len(in)+len(a[0]))
			return append(append(out, in...), a[0]...), nil
		}),
		"iif": lazy(2, 3, func(s *state, n *node, in Collection, fr *frame) (Collection, error) {
			if len(in) > 1 {
				return nil, evalErr(n, "iif() needs at most one input item")
			}
			cfr := fr
			if len(in) == 1 {
				cfr = &frame{focus: in, this: in[0], index: fr.index, hasIx: fr.hasIx, total: fr.total, hasT: fr.hasT}
			}
			c, err := s.eval(n.args[0], cfr)
			if err != nil {
				return nil, err
			}
			if len(c) > 1 {
				return nil, evalErr(n, "iif() criterion must be a single boolean")
			}
			b, ok := false, false
			if len(c) == 1 {
				v, _ := toSystem(c[0])
				bb, isB := v.(Boolean)
				if !isB {
					return nil, evalErr(n, "iif() criterion must be a boolean, got %s", typeLabel(c[0]))
				}
				b, ok = bool(bb), true
			}
			if ok && b {
				return s.eval(n.args[1], cfr)
			}
			if len(n.args) == 3 {
				return s.eval(n.args[2], cfr)
			}
			return empty, nil
		}),
		// conversion
		"toBoolean":          conv(toBoolean),
		"convertsToBoolean":  convertsTo(toBoolean),
		"toInteger":          conv(toInteger),
		"convertsToInteger":  convertsTo(toInteger),
		"toDecimal":          conv(toDecimal),
		"convertsToDecimal":  convertsTo(toDecimal),
		"toString":           conv(toStringValue),
		"convertsToString":   convertsTo(toStringValue),
		"toDate":             conv(toDate),
		"convertsToDate":     convertsTo(toDate),
		"toDateTime":         conv(toDateTime),
		"convertsToDateTime": convertsTo(toDateTime),
		"toTime":             conv(toTime),
		"convertsToTime":     convertsTo(toTime),
		"toQuantity": fixed(0, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			q, ok, err := quantityConv(in, a, n)
			if err != nil || !ok {
				return empty, err
			}
			return Collection{q}, nil
		}),
		"convertsToQuantity": fixed(0, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			if len(in) == 0 {
				return empty, nil
			}
			_, ok, err := quantityConv(in, a, n)
			if err != nil {
				return nil, err
			}
			return boolC(ok), nil
		}),
		// strings
		"indexOf": strFn(1, 1, func(str string, a []Collection, n *node) (Collection, error) {
			sub, ok, err := singleString(a[0], n, "argument")
			if err != nil || !ok {
				return empty, err
			}
			i := strings.Index(str, sub)
			if i > 0 {
				i = utf8.RuneCountInString(str[:i])
			}
			return Collection{Integer(i)}, nil
		}),
		"substring": strFn(1, 2, func(str string, a []Collection, n *node) (Collection, error) {
			start, ok, err := singleInt(a[0], n, "start")
			if err != nil || !ok {
				return empty, err
			}
			r := []rune(str)
			if start < 0 || int(start) >= len(r) {
				return empty, nil
			}
			end := int64(len(r))
			if len(a) > 1 {
				l, ok, err := singleInt(a[1], n, "length")
				if err != nil {
					return nil, err
				}
				if ok {
					if l < 0 {
						l = 0
					}
					end = min(end, start+l)
				}
			}
			return Collection{String(string(r[start:end]))}, nil
		}),
		"startsWith": strArgFn(func(str, arg string) Value { return Boolean(strings.HasPrefix(str, arg)) }),
		"endsWith":   strArgFn(func(str, arg string) Value { return Boolean(strings.HasSuffix(str, arg)) }),
		"contains":   strArgFn(func(str, arg string) Value { return Boolean(strings.Contains(str, arg)) }),
		"upper": strFn(0, 0, func(str string, _ []Collection, _ *node) (Collection, error) {
			return Collection{String(strings.ToUpper(str))}, nil
		}),
		"lower": strFn(0, 0, func(str string, _ []Collection, _ *node) (Collection, error) {
			return Collection{String(strings.ToLower(str))}, nil
		}),
		"trim": strFn(0, 0, func(str string, _ []Collection, _ *node) (Collection, error) {
			return Collection{String(strings.TrimSpace(str))}, nil
		}),
		"length": strFn(0, 0, func(str string, _ []Collection, _ *node) (Collection, error) {
			return Collection{Integer(utf8.RuneCountInString(str))}, nil
		}),
		"toChars": strFn(0, 0, func(str string, _ []Collection, _ *node) (Collection, error) {
			out := Collection{}
			for _, r := range str {
				out = append(out, String(string(r)))
			}
			return out, nil
		}),
		"replace": strFn(2, 2, func(str string, a []Collection, n *node) (Collection, error) {
			pat, ok1, err := singleString(a[0], n, "pattern")
			if err != nil {
				return nil, err
			}
			rep, ok2, err := singleString(a[1], n, "substitution")
			if err != nil || !ok1 || !ok2 {
				return empty, err
			}
			if k := strings.Count(str, pat); len(str)+k*len(rep) > MaxStringLength {
				return nil, evalErr(n, "replace() result longer than %d bytes", MaxStringLength)
			}
			return Collection{String(strings.ReplaceAll(str, pat, rep))}, nil
		}),
		"matches":     regexFn(false),
		"matchesFull": regexFn(true),
		"replaceMatches": strFn(2, 2, func(str string, a []Collection, n *node) (Collection, error) {
			pat, ok1, err := singleString(a[0], n, "regex")
			if err != nil {
				return nil, err
			}
			rep, ok2, err := singleString(a[1], n, "substitution")
			if err != nil || !ok1 || !ok2 {
				return empty, err
			}
			if pat == "" {
				return Collection{String(str)}, nil
			}
			re, err := compileRegex(pat, false)
			if err != nil {
				return nil, evalErr(n, "bad regex: %v", err)
			}
			if k := len(re.FindAllStringIndex(str, -1)); len(str)+k*len(rep) > MaxStringLength {
				return nil, evalErr(n, "replaceMatches() result longer than %d bytes", MaxStringLength)
			}
			return Collection{String(re.ReplaceAllString(str, rep))}, nil
		}),
		"split": strFn(1, 1, func(str string, a []Collection, n *node) (Collection, error) {
			sep, ok, err := singleString(a[0], n, "separator")
			if err != nil || !ok {
				return empty, err
			}
			out := Collection{}
			for _, p := range strings.Split(str, sep) {
				out = append(out, String(p))
			}
			return out, nil
		}),
		"join": fixed(0, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			sep := ""
			if len(a) > 0 {
				v, _, err := singleString(a[0], n, "separator")
				if err != nil {
					return nil, err
				}
				sep = v
			}
			parts := make([]string, 0, len(in))
			for _, v := range in {
				sv, _ := toSystem(v)
				str, ok := sv.(String)
				if !ok {
					return nil, evalErr(n, "join() needs strings")
				}
				parts = append(parts, string(str))
			}
			size := len(sep) * len(parts)
			for _, p := range parts {
				size += len(p)
			}
			if size > MaxStringLength {
				return nil, evalErr(n, "join() result longer than %d bytes", MaxStringLength)
			}
			return Collection{String(strings.Join(parts, sep))}, nil
		}),
		"encode": strFn(1, 1, func(str string, a []Collection, n *node) (Collection, error) {
			f, ok, err := singleString(a[0], n, "format")
			if err != nil || !ok {
				return empty, err
			}
			switch f {
			case "hex":
				return Collection{String(hex.EncodeToString([]byte(str)))}, nil
			case "base64":
				return Collection{String(base64.StdEncoding.EncodeToString([]byte(str)))}, nil
			case "urlbase64":
				return Collection{String(base64.URLEncoding.EncodeToString([]byte(str)))}, nil
			}
			return empty, nil
		}),
		"decode": strFn(1, 1, func(str string, a []Collection, n *node) (Collection, error) {
			f, ok, err := singleString(a[0], n, "format")
			if err != nil || !ok {
				return empty, err
			}
			var b []byte
			switch f {
			case "hex":
				b, err = hex.DecodeString(str)
			case "base64":
				b, err = base64.StdEncoding.DecodeString(str)
			case "urlbase64":
				b, err = base64.URLEncoding.DecodeString(str)
			default:
				return empty, nil
			}
			if err != nil {
				return empty, nil
			}
			return Collection{String(b)}, nil
		}),
		"escape": strFn(1, 1, func(str string, a []Collection, n *node) (Collection, error) {
			f, ok, err := singleString(a[0], n, "target")
			if err != nil || !ok {
				return empty, err
			}
			switch f {
			case "html":
				return Collection{String(htmlEscaper.Replace(str))}, nil
			case "json":
				q := strconv.Quote(str)
				return Collection{String(q[1 : len(q)-1])}, nil
			}
			return empty, nil
		}),
		"unescape": strFn(1, 1, func(str string, a []Collection, n *node) (Collection, error) {
			f, ok, err := singleString(a[0], n, "target")
			if err != nil || !ok {
				return empty, err
			}
			switch f {
			case "html":
				return Collection{String(html.UnescapeString(str))}, nil
			case "json":
				u, ok := unescapeJSON(str)
				if !ok {
					return empty, nil
				}
				return Collection{String(u)}, nil
			}
			return empty, nil
		}),
		// math
		"abs": numFn(func(v Value) (Value, bool) {
			switch x := v.(type) {
			case Integer:
				if x < 0 {
					return -x, true
				}
				return x, true
			case Decimal:
				if x.rat().Sign() < 0 {
					return x.neg(), true
				}
				return x, true
			case Quantity:
				if x.Value.rat().Sign() < 0 {
					return Quantity{Value: x.Value.neg(), Unit: x.Unit}, true
				}
				return x, true
			}
			return nil, false
		}),
		"ceiling":  rounding(func(x Decimal) *big.Rat { return x.ceilN(0).rat() }),
		"floor":    rounding(func(x Decimal) *big.Rat { return x.floorN(0).rat() }),
		"truncate": rounding(func(x Decimal) *big.Rat { return x.rat() }),
		"exp":      floatFn(math.Exp),
		"ln":       floatFn(math.Log),
		"sqrt":     floatFn(math.Sqrt),
		"log": fixed(1, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			x, ok, err := numberArg(in, n)
			if err != nil || !ok {
				return empty, err
			}
			b, ok, err := numberArg(a[0], n)
			if err != nil || !ok {
				return empty, err
			}
			return floatResult(math.Log(x) / math.Log(b)), nil
		}),
		"power": fixed(1, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			if len(in) == 0 || len(a[0]) == 0 {
				return empty, nil
			}
			bv, _ := toSystem(in[0])
			ev, _ := toSystem(a[0][0])
			if bi, ok := bv.(Integer); ok {
				if ei, ok := ev.(Integer); ok && ei >= 0 {
					r := math.Pow(float64(bi), float64(ei))
					if r > math.MaxInt32 || r < math.MinInt32 {
						return empty, nil
					}
					return Collection{Integer(int64(r))}, nil
				}
			}
			x, ok, err := numberArg(in, n)
			if err != nil || !ok {
				return empty, err
			}
			y, ok, err := numberArg(a[0], n)
			if err != nil || !ok {
				return empty, err
			}
			return floatResult(math.Pow(x, y)), nil
		}),
		"round": fixed(0, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			v, err := single(in, n)
			if err != nil || v == nil {
				return empty, err
			}
			prec := int64(0)
			if len(a) > 0 {
				p, ok, err := singleInt(a[0], n, "precision")
				if err != nil {
					return nil, err
				}
				if ok {
					prec = p
				}
			}
			if prec < 0 || prec > 30 {
				return nil, evalErr(n, "round() precision out of range")
			}
			sv, _ := toSystem(v)
			switch x := sv.(type) {
			case Integer:
				return Collection{DecimalFromInt(int64(x)).round(int(prec))}, nil
			case Decimal:
				return Collection{x.round(int(prec))}, nil
			}
			return nil, evalErr(n, "round() needs a number")
		}),
		// tree navigation
		"children": fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
			out := Collection{}
			for _, v := range in {
				if e, ok := v.(*Element); ok {
					out = s.children(e, out)
				}
			}
			return out, s.charge(len(out))
		}),
		"descendants": fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
			out := Collection{}
			queue := in
			for depth := 0; len(queue) > 0; depth++ {
				if depth > 1000 {
					return nil, evalErr(n, "descendants() nesting too deep")
				}
				var next Collection
				for _, v := range queue {
					if e, ok := v.(*Element); ok {
						next = s.children(e, next)
					}
				}
				if err := s.charge(len(next)); err != nil {
					return nil, err
				}
				out = append(out, next...)
				queue = next
			}
			return out, nil
		}),
		// utility
		"trace": lazy(1, 2, func(s *state, n *node, in Collection, fr *frame) (Collection, error) {
			name, err := s.eval(n.args[0], fr)
			if err != nil {
				return nil, err
			}
			label := ""
			if len(name) == 1 {
				if v, ok := toSystem(name[0]); ok {
					label = fmt.Sprint(v)
				}
			}
			shown := in
			if len(n.args) == 2 {
				shown = Collection{}
				for i, v := range in {
					r, err := s.eval(n.args[1], itemFrame(fr, v, i))
					if err != nil {
						return nil, err
					}
					shown = append(shown, r...)
				}
			}
			if s.env.Trace != nil {
				s.env.Trace(label, shown)
			}
			return in, nil
		}),
		"now": fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
			t := s.clock()
			_, off := t.Zone()
			return Collection{DateTime{fromGoTime(t, precMilli, true, off/60, 3)}}, nil
		}),
		"today": fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
			return Collection{Date{fromGoTime(s.clock(), precDay, false, 0, 0)}}, nil
		}),
		"timeOfDay": fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
			t := fromGoTime(s.clock(), precMilli, false, 0, 3)
			t.year, t.month, t.day = 0, 0, 0
			return Collection{Time{t}}, nil
		}),
		"not": fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
			b, ok, err := singletonBool(in, n)
			if err != nil || !ok {
				return empty, err
			}
			return boolC(!b), nil
		}),
		"aggregate": lazy(1, 2, func(s *state, n *node, in Collection, fr *frame) (Collection, error) {
			total := empty
			if len(n.args) == 2 {
				var err error
				total, err = s.eval(n.args[1], fr)
				if err != nil {
					return nil, err
				}
			}
			for i, v := range in {
				f := &frame{focus: Collection{v}, this: v, index: i, hasIx: true, total: total, hasT: true}
				r, err := s.eval(n.args[0], f)
				if err != nil {
					return nil, err
				}
				total = r
			}
			return total, nil
		}),
		"sort": lazy(0, 8, sortFn),
		"type": fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
			out := Collection{}
			for _, v := range in {
				t := v.TypeInfo()
				out = append(out, &Element{data: map[string]any{"namespace": t.Namespace, "name": t.Name}})
			}
			return out, nil
		}),
		// precision and boundaries
		"precision":    fixed(0, 0, precisionFn),
		"lowBoundary":  fixed(0, 1, boundaryFn(false)),
		"highBoundary": fixed(0, 1, boundaryFn(true)),
		"comparable": fixed(1, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			if len(in) == 0 || len(a[0]) == 0 {
				return empty, nil
			}
			x, _ := toSystem(in[0])
			y, _ := toSystem(a[0][0])
			qa, ok1 := x.(Quantity)
			qb, ok2 := y.(Quantity)
			if !ok1 || !ok2 {
				return nil, evalErr(n, "comparable() needs quantities")
			}
			_, ok := convertQuantity(qb, qa.Unit)
			return boolC(ok), nil
		}),
		// FHIR additions
		"extension": fixed(1, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			url, ok, err := singleString(a[0], n, "url")
			if err != nil || !ok {
				return empty, err
			}
			exts, err := s.navigate(in, "extension", n)
			if err != nil {
				return nil, err
			}
			out := Collection{}
			for _, x := range exts {
				if e, ok := x.(*Element); ok {
					if m, ok := e.data.(map[string]any); ok && m["url"] == url {
						out = append(out, x)
					}
				}
			}
			return out, nil
		}),
		"hasValue": fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
			if len(in) != 1 {
				return boolC(false), nil
			}
			e, ok := in[0].(*Element)
			if !ok {
				return boolC(false), nil
			}
			return boolC(e.data != nil && e.isPrimitiveData()), nil
		}),
		"getValue": fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
			if len(in) != 1 {
				return empty, nil
			}
			if e, ok := in[0].(*Element); ok {
				if v, has := e.system(); has {
					return Collection{v}, nil
				}
			}
			return empty, nil
		}),
		"resolve": fixed(0, 0, resolveFn),
		"memberOf": fixed(1, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			vs, ok, err := singleString(a[0], n, "value set")
			if err != nil || !ok || len(in) != 1 || s.env.MemberOf == nil {
				return empty, err
			}
			member, known := s.env.MemberOf(in[0], vs)
			if !known {
				return empty, nil
			}
			return boolC(member), nil
		}),
		"conformsTo": fixed(1, 1, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
			p, ok, err := singleString(a[0], n, "profile")
			if err != nil || !ok || len(in) != 1 {
				return empty, err
			}
			if s.env.ConformsTo != nil {
				c, known := s.env.ConformsTo(in[0], p)
				if !known {
					return empty, nil
				}
				return boolC(c), nil
			}
			// Without a hook only the core type profiles can be answered, by type.
			typ, core := strings.CutPrefix(p, "http://hl7.org/fhir/StructureDefinition/")
			if !core || strings.ContainsAny(typ, "/|") || !s.isKnownType(typ) {
				return nil, evalErr(n, "conformsTo(): cannot check profile %s without a ConformsTo hook", p)
			}
			return boolC(s.isType(in[0], typeSpec{ns: "FHIR", name: typ})), nil
		}),
		"htmlChecks":        fixed(0, 0, htmlChecksFn),
		"htmlchecks":        fixed(0, 0, htmlChecksFn),
		"subsumes":          unsupported(1),
		"subsumedBy":        unsupported(1),
		"elementDefinition": unsupported(0),
		"slice":             unsupported(2),
		"checkModifiers":    unsupported(1),
	}
}

func (s *state) clock() time.Time {
	if !s.nowSet {
		s.now = s.env.Now
		if s.now.IsZero() {
			s.now = time.Now()
		}
		s.nowSet = true
	}
	return s.now
}

func filter(s *state, n *node, in Collection, fr *frame) (Collection, error) {
	out := Collection{}
	for i, v := range in {
		r, err := s.eval(n.args[0], itemFrame(fr, v, i))
		if err != nil {
			return nil, err
		}
		b, ok, err := singletonBool(r, n.args[0])
		if err != nil {
			return nil, err
		}
		if ok && b {
			out = append(out, v)
		}
	}
	return out, nil
}

func boolAgg(f func([]bool) bool) func(*state, *node, Collection, []Collection) (Collection, error) {
	return func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
		bs := make([]bool, 0, len(in))
		for _, v := range in {
			sv, _ := toSystem(v)
			b, ok := sv.(Boolean)
			if !ok {
				return nil, evalErr(n, "%s() needs booleans, got %s", n.name, typeLabel(v))
			}
			bs = append(bs, bool(b))
		}
		return boolC(f(bs)), nil
	}
}

func all(bs []bool, want bool) bool {
	for _, b := range bs {
		if b != want {
			return false
		}
	}
	return true
}

func anyOf(bs []bool, want bool) bool {
	for _, b := range bs {
		if b == want {
			return true
		}
	}
	return false
}

func sameNode(a, b *Element) bool {
	ma, ok1 := a.data.(map[string]any)
	mb, ok2 := b.data.(map[string]any)
	if ok1 && ok2 {
		return reflect.ValueOf(ma).UnsafePointer() == reflect.ValueOf(mb).UnsafePointer()
	}
	return false
}

func subset(s *state, a, b Collection) bool {
	set := newValueSet(s, b)
	for _, v := range a {
		if !set.has(v) {
			return false
		}
	}
	return true
}

func (s *state) ofType(in Collection, ts typeSpec) Collection {
	out := Collection{}
	for _, v := range in {
		if s.isExactly(v, ts) {
			out = append(out, v)
		}
	}
	return out
}

// conversions

type converter func(v Value) (Value, bool)

func conv(f converter) *function {
	return fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
		v, err := single(in, n)
		if err != nil || v == nil {
			return empty, err
		}
		sv, ok := toSystem(v)
		if !ok {
			return empty, nil
		}
		r, ok := f(sv)
		if !ok {
			return empty, nil
		}
		return Collection{r}, nil
	})
}

func convertsTo(f converter) *function {
	return fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
		v, err := single(in, n)
		if err != nil || v == nil {
			return empty, err
		}
		sv, ok := toSystem(v)
		if !ok {
			return boolC(false), nil
		}
		_, ok = f(sv)
		return boolC(ok), nil
	})
}

func toBoolean(v Value) (Value, bool) {
	switch x := v.(type) {
	case Boolean:
		return x, true
	case Integer:
		if x == 0 || x == 1 {
			return Boolean(x == 1), true
		}
	case Decimal:
		if x.Cmp(DecimalFromInt(0)) == 0 {
			return Boolean(false), true
		}
		if x.Cmp(DecimalFromInt(1)) == 0 {
			return Boolean(true), true
		}
	case String:
		switch strings.ToLower(string(x)) {
		case "true", "t", "yes", "y", "1", "1.0":
			return Boolean(true), true
		case "false", "f", "no", "n", "0", "0.0":
			return Boolean(false), true
		}
	}
	return nil, false
}

func toInteger(v Value) (Value, bool) {
	switch x := v.(type) {
	case Integer:
		return x, true
	case Boolean:
		if x {
			return Integer(1), true
		}
		return Integer(0), true
	case String:
		str := string(x)
		if str == "" {
			return nil, false
		}
		body := strings.TrimPrefix(strings.TrimPrefix(str, "+"), "-")
		if body == "" || strings.Trim(body, "0123456789") != "" {
			return nil, false
		}
		i, err := strconv.ParseInt(str, 10, 64)
		if err != nil || i > math.MaxInt32 || i < math.MinInt32 {
			return nil, false
		}
		return Integer(i), true
	}
	return nil, false
}

func toDecimal(v Value) (Value, bool) {
	switch x := v.(type) {
	case Decimal:
		return x, true
	case Integer:
		return DecimalFromInt(int64(x)), true
	case Boolean:
		if x {
			return DecimalFromInt(1), true
		}
		return DecimalFromInt(0), true
	case String:
		if strings.ContainsAny(string(x), "eE") {
			return nil, false
		}
		return ParseDecimal(string(x))
	}
	return nil, false
}

func toStringValue(v Value) (Value, bool) {
	switch x := v.(type) {
	case String:
		return x, true
	case Boolean:
		if x {
			return String("true"), true
		}
		return String("false"), true
	case Integer:
		return String(strconv.FormatInt(int64(x), 10)), true
	case Decimal:
		return String(x.String()), true
	case Quantity:
		return String(x.String()), true
	case Date:
		return String(x.String()), true
	case DateTime:
		return String(x.String()), true
	case Time:
		return String(x.String()), true
	}
	return nil, false
}

func toDate(v Value) (Value, bool) {
	switch x := v.(type) {
	case Date:
		return x, true
	case DateTime:
		t := x.t
		if t.prec > precDay {
			t.prec = precDay
		}
		t.hour, t.minute, t.second, t.nano, t.tz = 0, 0, 0, 0, false
		return Date{t}, true
	case String:
		if d, ok := parseDate(string(x)); ok {
			return d, true
		}
		if dt, ok := parseDateTime(string(x)); ok {
			return toDate(dt)
		}
	}
	return nil, false
}

func toDateTime(v Value) (Value, bool) {
	switch x := v.(type) {
	case DateTime:
		return x, true
	case Date:
		return DateTime(x), true
	case String:
		if dt, ok := parseDateTime(string(x)); ok {
			return dt, true
		}
	}
	return nil, false
}

func toTime(v Value) (Value, bool) {
	switch x := v.(type) {
	case Time:
		return x, true
	case String:
		s := strings.TrimPrefix(string(x), "T")
		if t, ok := parseTime(s); ok {
			return t, true
		}
	}
	return nil, false
}

func quantityConv(in Collection, a []Collection, n *node) (Quantity, bool, error) {
	v, err := single(in, n)
	if err != nil || v == nil {
		return Quantity{}, false, err
	}
	var q Quantity
	ok := false
	if e, isE := v.(*Element); isE && !e.isPrimitiveData() {
		q, ok = quantityOf(e)
	} else {
		sv, _ := toSystem(v)
		switch x := sv.(type) {
		case Quantity:
			q, ok = x, true
		case Integer:
			q, ok = Quantity{Value: DecimalFromInt(int64(x)), Unit: "1"}, true
		case Decimal:
			q, ok = Quantity{Value: x, Unit: "1"}, true
		case Boolean:
			d := DecimalFromInt(0)
			if x {
				d = DecimalFromInt(1)
			}
			q, ok = Quantity{Value: d, Unit: "1"}, true
		case String:
			q, ok = parseQuantityString(string(x))
		}
	}
	if !ok {
		return Quantity{}, false, nil
	}
	if len(a) > 0 && len(a[0]) > 0 {
		unit, has, err := singleString(a[0], n, "unit")
		if err != nil {
			return Quantity{}, false, err
		}
		if has && unit != q.Unit {
			target := unit
			if isCalendarKeyword(unit) {
				target = ucumOf(unit)
			}
			d, ok := convertQuantity(Quantity{Value: q.Value, Unit: ucumOf(q.Unit)}, target)
			if !ok {
				return Quantity{}, false, nil
			}
			return Quantity{Value: d, Unit: unit}, true, nil
		}
	}
	return q, true, nil
}

// string helpers

func strFn(minA, maxA int, f func(str string, args []Collection, n *node) (Collection, error)) *function {
	return fixed(minA, maxA, func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
		str, ok, err := inputString(in, n)
		if err != nil || !ok {
			return empty, err
		}
		return f(str, a, n)
	})
}

func strArgFn(f func(str, arg string) Value) *function {
	return strFn(1, 1, func(str string, a []Collection, n *node) (Collection, error) {
		arg, ok, err := singleString(a[0], n, "argument")
		if err != nil || !ok {
			return empty, err
		}
		return Collection{f(str, arg)}, nil
	})
}

func compileRegex(pat string, full bool) (*regexp.Regexp, error) {
	if len(pat) > 4096 {
		return nil, fmt.Errorf("regex too long")
	}
	if full {
		pat = `\A(?:` + pat + `)\z`
	}
	return regexp.Compile("(?s)" + pat)
}

func regexFn(full bool) *function {
	return strFn(1, 1, func(str string, a []Collection, n *node) (Collection, error) {
		pat, ok, err := singleString(a[0], n, "regex")
		if err != nil || !ok {
			return empty, err
		}
		re, err := compileRegex(pat, full)
		if err != nil {
			return nil, evalErr(n, "bad regex: %v", err)
		}
		return boolC(re.MatchString(str)), nil
	})
}

// math helpers

func numFn(f func(v Value) (Value, bool)) *function {
	return fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
		v, err := single(in, n)
		if err != nil || v == nil {
			return empty, err
		}
		sv, _ := toSystem(v)
		r, ok := f(sv)
		if !ok {
			return nil, evalErr(n, "%s() needs a number", n.name)
		}
		return Collection{r}, nil
	})
}

func numberArg(c Collection, n *node) (float64, bool, error) {
	v, err := single(c, n)
	if err != nil || v == nil {
		return 0, false, err
	}
	sv, _ := toSystem(v)
	switch x := sv.(type) {
	case Integer:
		return float64(x), true, nil
	case Decimal:
		return x.Float64(), true, nil
	}
	return 0, false, evalErr(n, "%s() needs a number", n.name)
}

func floatFn(f func(float64) float64) *function {
	return fixed(0, 0, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
		x, ok, err := numberArg(in, n)
		if err != nil || !ok {
			return empty, err
		}
		return floatResult(f(x)), nil
	})
}

func floatResult(f float64) Collection {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return empty
	}
	r := new(big.Rat)
	if r.SetFloat64(f) == nil {
		return empty
	}
	return Collection{Decimal{r: r, scale: 8}.round(8)}
}

// sortFn implements sort(): by the items themselves, or by key expressions;
// a key written as -expr sorts descending.
func sortFn(s *state, n *node, in Collection, fr *frame) (Collection, error) {
	type keyed struct {
		v    Value
		keys []Value
	}
	items := make([]keyed, len(in))
	desc := make([]bool, len(n.args))
	for i, v := range in {
		items[i].v = v
		for k, a := range n.args {
			expr := a
			if a.kind == nNeg {
				expr, desc[k] = a.left, true
			}
			r, err := s.eval(expr, itemFrame(fr, v, i))
			if err != nil {
				return nil, err
			}
			var key Value
			if len(r) > 0 {
				key = r[0]
			}
			items[i].keys = append(items[i].keys, key)
		}
	}
	var sortErr error
	cmp := func(a, b Value) int {
		if a == nil || b == nil {
			switch {
			case a == nil && b == nil:
				return 0
			case a == nil:
				return -1
			}
			return 1
		}
		c, _, err := compareItems(a, b, n)
		if err != nil && sortErr == nil {
			sortErr = err
		}
		return c
	}
	if err := s.charge(len(in) * 8); err != nil {
		return nil, err
	}
	sort.SliceStable(items, func(i, j int) bool {
		if len(n.args) == 0 {
			return cmp(items[i].v, items[j].v) < 0
		}
		for k := range n.args {
			a, b := items[i].keys[k], items[j].keys[k]
			c := cmp(a, b)
			if desc[k] && a != nil && b != nil {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
	if sortErr != nil {
		return nil, sortErr
	}
	out := make(Collection, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out, nil
}

// precisionFn returns the number of digits of precision of a decimal, or the
// precision of a date/time in digits (4 for a year, 17 for milliseconds).
func precisionFn(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
	v, err := single(in, n)
	if err != nil || v == nil {
		return empty, err
	}
	sv, _ := toSystem(v)
	switch x := sv.(type) {
	case Decimal:
		return Collection{Integer(x.scale)}, nil
	case Integer:
		return Collection{Integer(0)}, nil
	case Date, DateTime:
		t, _ := temporalOf(x)
		return Collection{Integer([]int{0, 4, 6, 8, 10, 12, 14, 17}[t.prec])}, nil
	case Time:
		return Collection{Integer([]int{0, 0, 0, 0, 2, 4, 6, 9}[x.t.prec])}, nil
	}
	return nil, evalErr(n, "precision() needs a decimal or date/time")
}

func boundaryFn(high bool) func(*state, *node, Collection, []Collection) (Collection, error) {
	return func(s *state, n *node, in Collection, a []Collection) (Collection, error) {
		v, err := single(in, n)
		if err != nil || v == nil {
			return empty, err
		}
		prec := int64(-1)
		if len(a) > 0 {
			p, ok, err := singleInt(a[0], n, "precision")
			if err != nil {
				return nil, err
			}
			if ok {
				if p < 0 {
					return empty, nil
				}
				prec = p
			}
		}
		sv, _ := toSystem(v)
		switch x := sv.(type) {
		case Integer:
			return decimalBoundary(DecimalFromInt(int64(x)), prec, high), nil
		case Decimal:
			return decimalBoundary(x, prec, high), nil
		case Quantity:
			d := decimalBoundary(x.Value, prec, high)
			if len(d) == 0 {
				return d, nil
			}
			return Collection{Quantity{Value: d[0].(Decimal), Unit: x.Unit}}, nil
		case Date:
			t, ok := temporalBoundary(x.t, prec, high, []int{4, 6, 8})
			if !ok {
				return empty, nil
			}
			return Collection{Date{t}}, nil
		case DateTime:
			t, ok := temporalBoundary(x.t, prec, high, []int{4, 6, 8, 10, 12, 14, 17})
			if !ok {
				return empty, nil
			}
			return Collection{DateTime{t}}, nil
		case Time:
			t, ok := timeBoundary(x.t, prec, high)
			if !ok {
				return empty, nil
			}
			return Collection{Time{t}}, nil
		}
		return nil, evalErr(n, "%s() needs a number or date/time", n.name)
	}
}

// decimalBoundary returns the least (or greatest) value d may stand for,
// given its precision, at prec decimal places. The rounding follows the HL7
// Java implementation, which the official suite reflects: for a non-negative
// value the low boundary is truncated and the high boundary rounded half up
// at prec places; a negative value mirrors its absolute value.
func decimalBoundary(d Decimal, prec int64, high bool) Collection {
	if prec == -1 {
		prec = 8
	}
	if prec < 0 || prec > 28 {
		return empty
	}
	if d.rat().Sign() < 0 {
		b := decimalBoundary(d.neg(), prec, !high)
		if len(b) == 1 {
			return Collection{b[0].(Decimal).neg()}
		}
		return b
	}
	half := new(big.Rat).SetFrac(big.NewInt(5), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.scale+1)), nil))
	r := new(big.Rat).Set(d.rat())
	if high {
		r.Add(r, half)
	} else {
		r.Sub(r, half)
	}
	x := Decimal{r: r, scale: int(prec)}
	if int(prec) >= d.scale+1 {
		return Collection{x}
	}
	if high {
		return Collection{x.round(int(prec))}
	}
	return Collection{x.floorN(int(prec))}
}

func temporalBoundary(t temporal, prec int64, high bool, allowed []int) (temporal, bool) {
	if prec == -1 {
		prec = int64(allowed[len(allowed)-1])
	}
	target := 0
	for i, p := range allowed {
		if int64(p) == prec {
			target = i + 1
		}
	}
	if target == 0 {
		return t, false
	}
	out := t
	if out.prec == precHour && target > precHour {
		out.minute, out.prec = 0, precMinute
	}
	for p := out.prec + 1; p <= target; p++ {
		switch p {
		case precMonth:
			out.month = 1
			if high {
				out.month = 12
			}
		case precDay:
			out.day = 1
			if high {
				out.day = daysIn(out.year, out.month)
			}
		case precHour:
			out.hour = 0
			if high {
				out.hour = 23
			}
		case precMinute:
			out.minute = 0
			if high {
				out.minute = 59
			}
		case precSecond:
			out.second = 0
			if high {
				out.second = 59
			}
		case precMilli:
			out.nano = 0
			if high {
				out.nano = 999000000
			}
			out.fracDigits = 3
		}
	}
	if target >= precHour && !t.tz {
		out.tz = true
		if high {
			out.offset = -12 * 60
		} else {
			out.offset = 14 * 60
		}
	}
	if target < out.prec {
		out.prec = target
	} else {
		out.prec = target
	}
	return out, true
}

func timeBoundary(t temporal, prec int64, high bool) (temporal, bool) {
	if prec == -1 {
		prec = 9
	}
	m := map[int64]int{2: precHour, 4: precMinute, 6: precSecond, 9: precMilli}
	target, ok := m[prec]
	if !ok {
		return t, false
	}
	out := t
	for p := t.prec + 1; p <= target; p++ {
		switch p {
		case precMinute:
			out.minute = map[bool]int{true: 59, false: 0}[high]
		case precSecond:
			out.second = map[bool]int{true: 59, false: 0}[high]
		case precMilli:
			out.nano = map[bool]int{true: 999000000, false: 0}[high]
			out.fracDigits = 3
		}
	}
	out.prec = target
	return out, true
}

// resolveFn implements resolve() for references.
func resolveFn(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
	out := Collection{}
	var from any
	if s.env.Resource != nil {
		from = s.env.Resource
	} else if r := s.defaultResource(); len(r) == 1 {
		from = r[0].(*Element).data
	}
	for _, v := range in {
		ref := ""
		if e, ok := v.(*Element); ok {
			if m, ok := e.data.(map[string]any); ok {
				ref, _ = m["reference"].(string)
			} else if sv, ok := e.system(); ok {
				if str, ok := sv.(String); ok {
					ref = string(str)
				}
			}
		} else if str, ok := v.(String); ok {
			ref = string(str)
		}
		if ref == "" {
			continue
		}
		var target any
		found := false
		if s.env.Resolve != nil {
			target, found = s.env.Resolve(ref, from)
		} else {
			target, found = s.resolveLocal(ref, from)
		}
		if found && target != nil {
			out = append(out, toCollection(target, "")...)
		}
	}
	return out, nil
}

// resolveLocal finds contained resources and Bundle entries.
func (s *state) resolveLocal(ref string, from any) (any, bool) {
	if id, ok := strings.CutPrefix(ref, "#"); ok {
		m, _ := from.(map[string]any)
		cs, _ := m["contained"].([]any)
		for _, c := range cs {
			if cm, ok := c.(map[string]any); ok && cm["id"] == id {
				return cm, true
			}
		}
		return nil, false
	}
	root := s.env.RootResource
	if root == nil {
		root = from
	}
	m, _ := root.(map[string]any)
	if m["resourceType"] != "Bundle" {
		return nil, false
	}
	entries, _ := m["entry"].([]any)
	for _, e := range entries {
		em, _ := e.(map[string]any)
		res, _ := em["resource"].(map[string]any)
		if res == nil {
			continue
		}
		if full, _ := em["fullUrl"].(string); full != "" && (full == ref || strings.HasSuffix(full, "/"+ref)) {
			return res, true
		}
		if rt, _ := res["resourceType"].(string); rt != "" {
			if id, _ := res["id"].(string); id != "" && (ref == rt+"/"+id || strings.HasSuffix(ref, "/"+rt+"/"+id)) {
				return res, true
			}
		}
	}
	return nil, false
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

// unescapeJSON undoes JSON string escapes (\" \\ \/ \b \f \n \r \t \uXXXX).
func unescapeJSON(s string) (string, bool) {
	if !strings.Contains(s, `\`) {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", false
		}
		i++
		switch s[i] {
		case '"', '\\', '/':
			b.WriteByte(s[i])
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			if i+4 >= len(s) {
				return "", false
			}
			r, err := strconv.ParseUint(s[i+1:i+5], 16, 32)
			if err != nil {
				return "", false
			}
			b.WriteRune(rune(r))
			i += 4
		default:
			return "", false
		}
	}
	return b.String(), true
}

// countFn implements count(). children().count() is counted without
// materialising the children (ele-1 asks it of every element).
func countFn(s *state, n *node, in Collection, fr *frame) (Collection, error) {
	if n.left != nil && n.left.kind == nFunc && n.left.name == "children" {
		src, err := s.funcInput(n.left, fr)
		if err != nil {
			return nil, err
		}
		total := 0
		for _, v := range src {
			if e, ok := v.(*Element); ok {
				total += s.childCount(e)
			}
		}
		return intC(total), nil
	}
	var err error
	if n.left != nil {
		in, err = s.eval(n.left, fr)
		if err != nil {
			return nil, err
		}
	}
	return intC(len(in)), nil
}

// unsupported binds a FHIR function the engine does not implement: calling
// it is an evaluation error, never a silent answer.
func unsupported(args int) *function {
	return fixed(args, args, func(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
		return nil, evalErr(n, "%s() is not supported", n.name)
	})
}

// htmlChecksFn applies htmlChecks to a Narrative.div (or a Narrative).
func htmlChecksFn(s *state, n *node, in Collection, _ []Collection) (Collection, error) {
	v, err := single(in, n)
	if err != nil || v == nil {
		return empty, err
	}
	if e, ok := v.(*Element); ok {
		if m, ok := e.data.(map[string]any); ok {
			div, _ := m["div"].(string)
			return boolC(htmlChecks(div)), nil
		}
	}
	sv, _ := toSystem(v)
	str, ok := sv.(String)
	if !ok {
		return nil, evalErr(n, "htmlChecks() needs XHTML text")
	}
	return boolC(htmlChecks(string(str))), nil
}

// rounding is ceiling, floor or truncate: an Integer stays as it is, a
// Decimal is rounded by round and cut to an Integer.
func rounding(round func(Decimal) *big.Rat) *function {
	return numFn(func(v Value) (Value, bool) {
		switch x := v.(type) {
		case Integer:
			return x, true
		case Decimal:
			return Integer(truncRat(round(x))), true
		}
		return nil, false
	})
}
