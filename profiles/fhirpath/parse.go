package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on what Compile accepts.
const (
	// MaxExpressionLength is the longest expression text Compile accepts.
	MaxExpressionLength = 64 << 10
	// MaxNesting is the deepest nesting of sub-expressions Compile accepts.
	MaxNesting = 200
	// MaxStringLength bounds strings an evaluation builds (concatenation,
	// replace, join).
	MaxStringLength = 8 << 20
)

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tDelimIdent // `name`
	tString
	tNumber
	tLongNumber
	tDateTime // @...
	tExtConst // %name
	tDollar   // $this, $index, $total
	tOp       // punctuation and symbolic operators
)

type token struct {
	kind tokKind
	text string // identifier name, string value, op text, literal text
	pos  int
}

// SyntaxError reports an expression that cannot be parsed.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("fhirpath syntax error at %d: %s", e.Pos, e.Msg)
}

func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f':
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, &SyntaxError{i, "unterminated comment"}
			}
			i += end + 4
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			toks = append(toks, token{tIdent, src[i:j], i})
			i = j
		case c == '`':
			s, n, err := readQuoted(src, i, '`')
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tDelimIdent, s, i})
			i += n
		case c == '\'':
			s, n, err := readQuoted(src, i, '\'')
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tString, s, i})
			i += n
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			if j+1 < len(src) && src[j] == '.' && src[j+1] >= '0' && src[j+1] <= '9' {
				j++
				for j < len(src) && src[j] >= '0' && src[j] <= '9' {
					j++
				}
			}
			if j < len(src) && src[j] == 'L' && (j+1 >= len(src) || !isIdentPart(src[j+1])) {
				toks = append(toks, token{tLongNumber, src[i:j], i})
				i = j + 1
				continue
			}
			toks = append(toks, token{tNumber, src[i:j], i})
			i = j
		case c == '@':
			j := i + 1
			for j < len(src) && (isDateChar(src[j]) || (src[j] == '.' && j+1 < len(src) && src[j+1] >= '0' && src[j+1] <= '9')) {
				j++
			}
			if j == i+1 {
				return nil, &SyntaxError{i, "empty date/time literal"}
			}
			toks = append(toks, token{tDateTime, src[i+1 : j], i})
			i = j
		case c == '%':
			if i+1 < len(src) && (src[i+1] == '`' || src[i+1] == '\'') {
				s, n, err := readQuoted(src, i+1, src[i+1])
				if err != nil {
					return nil, err
				}
				toks = append(toks, token{tExtConst, s, i})
				i += 1 + n
				continue
			}
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			if j == i+1 {
				return nil, &SyntaxError{i, "expected a name after %"}
			}
			toks = append(toks, token{tExtConst, src[i+1 : j], i})
			i = j
		case c == '$':
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			name := src[i+1 : j]
			if name != "this" && name != "index" && name != "total" {
				return nil, &SyntaxError{i, "unknown special variable $" + name}
			}
			toks = append(toks, token{tDollar, name, i})
			i = j
		default:
			two := ""
			if i+1 < len(src) {
				two = src[i : i+2]
			}
			switch two {
			case "<=", ">=", "!=", "!~":
				toks = append(toks, token{tOp, two, i})
				i += 2
				continue
			}
			if strings.IndexByte(".[](){},+-*/&|<>=~", c) >= 0 {
				toks = append(toks, token{tOp, string(c), i})
				i++
				continue
			}
			r, _ := utf8.DecodeRuneInString(src[i:])
			return nil, &SyntaxError{i, fmt.Sprintf("unexpected character %q", r)}
		}
	}
	toks = append(toks, token{tEOF, "", len(src)})
	return toks, nil
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func isDateChar(c byte) bool {
	return (c >= '0' && c <= '9') || c == '-' || c == ':' || c == 'T' || c == 'Z' || c == '+'
}

// readQuoted reads a quoted string or delimited identifier starting at src[i]
// and returns its unescaped value and the number of bytes consumed.
func readQuoted(src string, i int, q byte) (string, int, error) {
	var b strings.Builder
	j := i + 1
	for j < len(src) {
		c := src[j]
		if c == q {
			return b.String(), j + 1 - i, nil
		}
		if c == '\\' {
			if j+1 >= len(src) {
				break
			}
			e := src[j+1]
			switch e {
			case '\'', '"', '`', '\\', '/':
				b.WriteByte(e)
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if j+6 > len(src) {
					return "", 0, &SyntaxError{j, "short unicode escape"}
				}
				n, err := strconv.ParseUint(src[j+2:j+6], 16, 32)
				if err != nil {
					return "", 0, &SyntaxError{j, "bad unicode escape"}
				}
				b.WriteRune(rune(n))
				j += 6
				continue
			default:
				return "", 0, &SyntaxError{j, fmt.Sprintf("unknown escape \\%c", e)}
			}
			j += 2
			continue
		}
		b.WriteByte(c)
		j++
	}
	return "", 0, &SyntaxError{i, "unterminated quoted text"}
}

// AST.

type nodeKind int

const (
	nLiteral  nodeKind = iota // lit
	nIdent                    // name at term position (resource type or member of $this)
	nMember                   // left.name
	nFunc                     // left.name(args) or name(args) on $this (left nil)
	nThis                     // $this
	nIndexVar                 // $index
	nTotal                    // $total
	nVar                      // %name
	nIndexer                  // left[right]
	nNeg                      // -left
	nBinary                   // left op right
	nIs                       // left is type
	nAs                       // left as type
	nList                     // {a, b, c}
)

type node struct {
	kind  nodeKind
	name  string // identifier, function, variable, operator
	lit   Collection
	left  *node
	right *node
	args  []*node
	fn    *function
	typ   typeSpec
	pos   int
}

// typeSpec is a type named in is/as/ofType.
type typeSpec struct {
	ns   string // "System", "FHIR" or "" (unqualified)
	name string
}

type parser struct {
	toks  []token
	i     int
	depth int
}

func parse(src string) (*node, error) {
	if len(src) > MaxExpressionLength {
		return nil, &SyntaxError{0, "expression too long"}
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, &SyntaxError{t.pos, fmt.Sprintf("unexpected %q", t.text)}
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) isOp(s string) bool {
	t := p.peek()
	return t.kind == tOp && t.text == s
}

func (p *parser) expect(s string) error {
	t := p.next()
	if t.kind != tOp || t.text != s {
		return &SyntaxError{t.pos, fmt.Sprintf("expected %q, found %q", s, t.text)}
	}
	return nil
}

// binary operator precedence (higher binds tighter).
func binaryPrec(t token) int {
	switch t.kind {
	case tOp:
		switch t.text {
		case "*", "/":
			return 9
		case "+", "-", "&":
			return 8
		case "|":
			return 6
		case "<", ">", "<=", ">=":
			return 5
		case "=", "~", "!=", "!~":
			return 4
		}
	case tIdent:
		switch t.text {
		case "div", "mod":
			return 9
		case "is", "as":
			return 7
		case "in", "contains":
			return 3
		case "and":
			return 2
		case "or", "xor":
			return 1
		case "implies":
			return 0
		}
	}
	return -1
}

func (p *parser) expr(minPrec int) (*node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > MaxNesting {
		return nil, &SyntaxError{p.peek().pos, "expression nested too deeply"}
	}
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		prec := binaryPrec(t)
		if prec < 0 || prec < minPrec {
			return left, nil
		}
		p.next()
		if t.kind == tIdent && (t.text == "is" || t.text == "as") {
			ts, err := p.typeSpecifier()
			if err != nil {
				return nil, err
			}
			k := nIs
			if t.text == "as" {
				k = nAs
			}
			left = &node{kind: k, left: left, typ: ts, pos: t.pos}
			continue
		}
		right, err := p.expr(prec + 1)
		if err != nil {
			return nil, err
		}
		left = &node{kind: nBinary, name: t.text, left: left, right: right, pos: t.pos}
	}
}

func (p *parser) typeSpecifier() (typeSpec, error) {
	t := p.next()
	if t.kind != tIdent && t.kind != tDelimIdent {
		return typeSpec{}, &SyntaxError{t.pos, "expected a type name"}
	}
	first := t.text
	if p.isOp(".") {
		nt := p.toks[p.i+1]
		if nt.kind == tIdent || nt.kind == tDelimIdent {
			p.next()
			p.next()
			return typeSpec{ns: first, name: nt.text}, nil
		}
	}
	return typeSpec{name: first}, nil
}

func (p *parser) unary() (*node, error) {
	if p.isOp("+") || p.isOp("-") {
		t := p.next()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > MaxNesting {
			return nil, &SyntaxError{t.pos, "expression nested too deeply"}
		}
		operand, err := p.unary()
		if err != nil {
			return nil, err
		}
		if t.text == "+" {
			return operand, nil
		}
		return &node{kind: nNeg, left: operand, pos: t.pos}, nil
	}
	return p.postfix()
}

func (p *parser) postfix() (*node, error) {
	n, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isOp("."):
			p.next()
			t := p.next()
			if t.kind != tIdent && t.kind != tDelimIdent {
				return nil, &SyntaxError{t.pos, "expected a name after '.'"}
			}
			if t.kind == tIdent && p.isOp("(") {
				args, err := p.args()
				if err != nil {
					return nil, err
				}
				n = &node{kind: nFunc, name: t.text, left: n, args: args, pos: t.pos}
			} else {
				n = &node{kind: nMember, name: t.text, left: n, pos: t.pos}
			}
		case p.isOp("["):
			t := p.next()
			idx, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			n = &node{kind: nIndexer, left: n, right: idx, pos: t.pos}
		default:
			return n, nil
		}
	}
}

func (p *parser) args() ([]*node, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	var args []*node
	if p.isOp(")") {
		p.next()
		return args, nil
	}
	for {
		a, err := p.expr(0)
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		if p.isOp(",") {
			p.next()
			continue
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return args, nil
	}
}

func (p *parser) term() (*node, error) {
	t := p.next()
	switch t.kind {
	case tOp:
		switch t.text {
		case "(":
			n, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			return n, nil
		case "{":
			if p.isOp("}") {
				p.next()
				return &node{kind: nLiteral, lit: Collection{}, pos: t.pos}, nil
			}
			// A collection literal {a, b, c}: not in FHIRPath 2.0, but used by
			// published profiles (Nictiz MP9); it concatenates its items.
			var items []*node
			for {
				it, err := p.expr(0)
				if err != nil {
					return nil, err
				}
				items = append(items, it)
				if p.isOp(",") {
					p.next()
					continue
				}
				if err := p.expect("}"); err != nil {
					return nil, err
				}
				return &node{kind: nList, args: items, pos: t.pos}, nil
			}
		}
		return nil, &SyntaxError{t.pos, fmt.Sprintf("unexpected %q", t.text)}
	case tString:
		return &node{kind: nLiteral, lit: Collection{String(t.text)}, pos: t.pos}, nil
	case tNumber:
		return p.number(t)
	case tLongNumber:
		i, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, &SyntaxError{t.pos, "long literal out of range"}
		}
		return &node{kind: nLiteral, lit: Collection{Integer(i)}, pos: t.pos}, nil
	case tDateTime:
		v, err := dateLiteral(t)
		if err != nil {
			return nil, err
		}
		return &node{kind: nLiteral, lit: Collection{v}, pos: t.pos}, nil
	case tExtConst:
		return &node{kind: nVar, name: t.text, pos: t.pos}, nil
	case tDollar:
		switch t.text {
		case "this":
			return &node{kind: nThis, pos: t.pos}, nil
		case "index":
			return &node{kind: nIndexVar, pos: t.pos}, nil
		default:
			return &node{kind: nTotal, pos: t.pos}, nil
		}
	case tIdent:
		switch t.text {
		case "true":
			return &node{kind: nLiteral, lit: Collection{Boolean(true)}, pos: t.pos}, nil
		case "false":
			return &node{kind: nLiteral, lit: Collection{Boolean(false)}, pos: t.pos}, nil
		}
		if p.isOp("(") {
			args, err := p.args()
			if err != nil {
				return nil, err
			}
			return &node{kind: nFunc, name: t.text, args: args, pos: t.pos}, nil
		}
		return &node{kind: nIdent, name: t.text, pos: t.pos}, nil
	case tDelimIdent:
		return &node{kind: nIdent, name: t.text, pos: t.pos}, nil
	}
	return nil, &SyntaxError{t.pos, "unexpected end of expression"}
}

func (p *parser) number(t token) (*node, error) {
	var num Value
	if strings.Contains(t.text, ".") {
		d, ok := ParseDecimal(t.text)
		if !ok {
			return nil, &SyntaxError{t.pos, "bad decimal"}
		}
		num = d
	} else {
		i, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			d, ok := ParseDecimal(t.text)
			if !ok {
				return nil, &SyntaxError{t.pos, "bad number"}
			}
			num = d
		} else {
			num = Integer(i)
		}
	}
	// A quantity: number followed by a unit string or a calendar keyword.
	nt := p.peek()
	unit := ""
	switch {
	case nt.kind == tString:
		unit = nt.text
	case nt.kind == tIdent && isCalendarKeyword(nt.text):
		unit = strings.TrimSuffix(nt.text, "s")
	}
	if unit != "" {
		p.next()
		var d Decimal
		switch v := num.(type) {
		case Integer:
			d = DecimalFromInt(int64(v))
		case Decimal:
			d = v
		}
		return &node{kind: nLiteral, lit: Collection{Quantity{Value: d, Unit: unit}}, pos: t.pos}, nil
	}
	return &node{kind: nLiteral, lit: Collection{num}, pos: t.pos}, nil
}

func isCalendarKeyword(s string) bool {
	switch strings.TrimSuffix(s, "s") {
	case "year", "month", "week", "day", "hour", "minute", "second", "millisecond":
		return true
	}
	return false
}

func isCalendarUnit(s string) bool { return isCalendarKeyword(s) }

func dateLiteral(t token) (Value, error) {
	s := t.text
	if strings.HasPrefix(s, "T") {
		tm, ok := parseTime(s[1:])
		if !ok {
			return nil, &SyntaxError{t.pos, "bad time literal @" + s}
		}
		return tm, nil
	}
	if !strings.Contains(s, "T") {
		d, ok := parseDate(s)
		if !ok {
			return nil, &SyntaxError{t.pos, "bad date literal @" + s}
		}
		return d, nil
	}
	dt, ok := parseDateTime(s)
	if !ok {
		return nil, &SyntaxError{t.pos, "bad date-time literal @" + s}
	}
	return dt, nil
}
