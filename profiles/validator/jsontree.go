package validator

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"unicode/utf8"
)

// treeParser reads FHIR JSON into the tree encoding/json (with UseNumber)
// makes of it — map[string]any, []any, string, json.Number, bool, nil — in
// one pass, about twice as fast. It reads only the plain case: on anything
// else (a syntax error, nesting deeper than MaxDepth, an escaped surrogate,
// invalid UTF-8, data after the value) it gives up, and decodeJSON decodes
// the input with encoding/json, whose tree or error is then the answer. So
// the tree is always the one encoding/json gives, and so are the errors.
type treeParser struct {
	data  []byte
	text  string // data as one string: strings and numbers without escapes are cut from it
	pos   int
	depth int
	*treeStacks
}

// treeStacks hold the members of the objects and the items of the arrays
// being read (nested ones after those that hold them), so that each map and
// slice is made once at its final size. They are kept between parses.
type treeStacks struct {
	members []member
	items   []any
}

type member struct {
	name string
	val  any
}

var treeStackPool = sync.Pool{New: func() any { return &treeStacks{} }}

// maxPooledTree bounds the stacks kept between parses.
const maxPooledTree = 1 << 12

// parseTree returns the tree of data, an object, or false when it gave up.
func parseTree(data []byte) (map[string]any, bool) {
	s := treeStackPool.Get().(*treeStacks)
	defer func() {
		if cap(s.members) > maxPooledTree || cap(s.items) > maxPooledTree {
			return
		}
		clear(s.members[:cap(s.members)]) // let go of the values
		clear(s.items[:cap(s.items)])
		s.members, s.items = s.members[:0], s.items[:0]
		treeStackPool.Put(s)
	}()
	// One string of the whole input, so that names, strings and numbers
	// without escapes are substrings of it instead of one allocation each.
	p := treeParser{data: data, text: string(data), treeStacks: s}
	p.space()
	if p.pos >= len(p.data) || p.data[p.pos] != '{' {
		return nil, false
	}
	v, ok := p.value()
	if !ok {
		return nil, false
	}
	p.space()
	if p.pos != len(p.data) {
		return nil, false
	}
	m, _ := v.(map[string]any)
	return m, m != nil
}

func (p *treeParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *treeParser) value() (any, bool) {
	if p.pos >= len(p.data) {
		return nil, false
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, ok := p.str()
		return s, ok
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, false
}

func (p *treeParser) literal(word string) bool {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return false
	}
	p.pos += len(word)
	return true
}

func (p *treeParser) object() (any, bool) {
	if empty, ok := p.open('}'); !ok || empty {
		return map[string]any{}, ok
	}
	start := len(p.members)
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, false
		}
		k, ok := p.str()
		if !ok {
			return nil, false
		}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, false
		}
		p.pos++
		p.space()
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		p.members = append(p.members, member{k, v})
		if end, ok := p.next('}'); !ok || end {
			if !ok {
				return nil, false
			}
			ms := p.members[start:]
			m := make(map[string]any, len(ms))
			for _, x := range ms {
				m[x.name] = x.val // the last of duplicate names wins, as in encoding/json
			}
			clear(ms)
			p.members = p.members[:start]
			return m, true
		}
	}
}

func (p *treeParser) array() (any, bool) {
	if empty, ok := p.open(']'); !ok || empty {
		return []any{}, ok
	}
	start := len(p.items)
	for {
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		p.items = append(p.items, v)
		if end, ok := p.next(']'); !ok || end {
			if !ok {
				return nil, false
			}
			list := make([]any, len(p.items)-start)
			copy(list, p.items[start:])
			clear(p.items[start:])
			p.items = p.items[:start]
			return list, true
		}
	}
}

// open steps over the opening bracket of an object or array and says
// whether the value is empty (closed at once by close).
func (p *treeParser) open(close byte) (empty, ok bool) {
	if p.depth++; p.depth > MaxDepth {
		return false, false
	}
	p.pos++
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == close {
		p.pos++
		p.depth--
		return true, true
	}
	return false, true
}

// next steps over the comma after a member or item, or over the closing
// bracket (end).
func (p *treeParser) next(close byte) (end, ok bool) {
	p.space()
	if p.pos >= len(p.data) {
		return false, false
	}
	switch p.data[p.pos] {
	case ',':
		p.pos++
		p.space()
		return false, true
	case close:
		p.pos++
		p.depth--
		return true, true
	}
	return false, false
}

// plain marks the bytes a string holds as they are: not a quote, not a
// backslash, not a control character, ASCII.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// run returns the end of the plain bytes from i.
func (p *treeParser) run(i int) int {
	for i < len(p.data) && plain[p.data[i]] {
		i++
	}
	return i
}

// str reads a string at p.pos (on its opening quote).
func (p *treeParser) str() (string, bool) {
	start := p.pos + 1
	high := false
	for i := p.run(start); i < len(p.data); i = p.run(i + 1) {
		switch c := p.data[i]; {
		case c == '"':
			if high && !utf8.Valid(p.data[start:i]) {
				return "", false // encoding/json replaces invalid bytes
			}
			p.pos = i + 1
			return p.text[start:i], true
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", false
		default: // >= 0x80
			high = true
		}
	}
	return "", false
}

// escaped reads a string with escapes from start (after the opening quote).
func (p *treeParser) escaped(start int) (string, bool) {
	end := start // the closing quote (not after an odd run of backslashes), to size the result once
	for {
		j := bytes.IndexByte(p.data[end:], '"')
		if j < 0 {
			end = len(p.data)
			break
		}
		end += j
		n := 0
		for k := end - 1; k >= start && p.data[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			break
		}
		end++
	}
	var b strings.Builder
	b.Grow(end - start) // escapes only shorten
	for i := start; i < len(p.data); {
		if j := p.run(i); j > i {
			b.Write(p.data[i:j])
			i = j
			continue
		}
		c := p.data[i]
		switch {
		case c == '"':
			s := b.String()
			if !utf8.ValidString(s) {
				return "", false // encoding/json replaces invalid bytes
			}
			p.pos = i + 1
			return s, true
		case c < 0x20:
			return "", false
		case c != '\\':
			b.WriteByte(c) // >= 0x80, checked at the end
			i++
			continue
		}
		if i+1 >= len(p.data) {
			return "", false
		}
		switch e := p.data[i+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
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
			if i+6 > len(p.data) {
				return "", false
			}
			r, ok := hex4(p.data[i+2 : i+6])
			if !ok || r >= 0xD800 && r < 0xE000 {
				return "", false // surrogates: encoding/json pairs or replaces them
			}
			b.WriteRune(r)
			i += 6
			continue
		default:
			return "", false
		}
		i += 2
	}
	return "", false
}

func hex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a JSON number and keeps its text (json.Number).
func (p *treeParser) number() (any, bool) {
	d, i := p.data, p.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		return nil, false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return nil, false
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return nil, false
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	n := json.Number(p.text[p.pos:i])
	p.pos = i
	return n, true
}
