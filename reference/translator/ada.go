// Package translator is the reference translator (modules B and D of the
// Babyconnect chain, seed 001 §2.4): an ADA instance of a birth-care
// transaction in, a FHIR STU3 Bundle (bc-*, zib2017, nl-core profiles) out,
// and a Bundle back into the legacy ADA form (docs/translator.md).
package translator

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits of what the translator reads (docs/translator.md, "Bad input").
const (
	MaxInput    = 16 << 20 // bytes
	MaxDepth    = 64
	MaxElements = 200_000
)

// Error kinds, so the HTTP layer answers with the right status.
var (
	ErrTooLarge  = errors.New("input larger than 16 MiB")
	ErrMalformed = errors.New("not a well-formed ADA instance")
	ErrUnknown   = errors.New("unknown transaction")
)

// Node is one element of an ADA instance: its name, its attributes (value,
// code, codeSystem, unit, nullFlavor, datatype, id …) and its children.
type Node struct {
	Name  string
	Attr  map[string]string
	Kids  []*Node
	Depth int
}

// Get returns an attribute ("" when absent).
func (n *Node) Get(a string) string {
	if n == nil {
		return ""
	}
	return n.Attr[a]
}

// Child returns the first child named name, or nil.
func (n *Node) Child(name string) *Node {
	if n == nil {
		return nil
	}
	for _, k := range n.Kids {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// Path walks a slash-separated path of first children.
func (n *Node) Path(p string) *Node {
	for _, part := range strings.Split(p, "/") {
		n = n.Child(part)
	}
	return n
}

// children is Kids, nil-safe.
func (n *Node) children() []*Node {
	if n == nil {
		return nil
	}
	return n.Kids
}

// All returns the children named name.
func (n *Node) All(name string) []*Node {
	var out []*Node
	if n == nil {
		return nil
	}
	for _, k := range n.Kids {
		if k.Name == name {
			out = append(out, k)
		}
	}
	return out
}

// Parse reads one ADA instance, bounded: at most MaxInput bytes, MaxDepth
// levels and MaxElements elements; a DOCTYPE (and with it every entity
// declaration, entity bomb and external entity) is refused; nothing is
// fetched. It returns the transaction element: the root, or the first
// element under <data> of an <adaxml> wrapper.
func Parse(r io.Reader) (*Node, error) {
	lr := &io.LimitedReader{R: r, N: MaxInput + 1}
	data, err := io.ReadAll(lr)
	if err != nil {
		return nil, fmt.Errorf("read ADA instance: %w", err)
	}
	if len(data) > MaxInput {
		return nil, ErrTooLarge
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.Entity = nil // only the five predefined entities
	var stack []*Node
	var root *Node
	count := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, fmt.Errorf("%w: DOCTYPE not allowed", ErrMalformed)
		case xml.ProcInst:
			if t.Target != "xml" {
				return nil, fmt.Errorf("%w: processing instruction <?%s?> not allowed", ErrMalformed, t.Target)
			}
		case xml.StartElement:
			count++
			if count > MaxElements {
				return nil, fmt.Errorf("%w: more than %d elements", ErrMalformed, MaxElements)
			}
			if len(stack) >= MaxDepth {
				return nil, fmt.Errorf("%w: nested deeper than %d elements", ErrMalformed, MaxDepth)
			}
			n := &Node{Name: t.Name.Local, Attr: make(map[string]string, len(t.Attr)), Depth: len(stack)}
			for _, a := range t.Attr {
				if a.Name.Space == "" || a.Name.Space == "xmlns" {
					n.Attr[a.Name.Local] = a.Value
				}
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("%w: second root element <%s>", ErrMalformed, n.Name)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Kids = append(p.Kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 && len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("%w: text outside the root element", ErrMalformed)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	if root.Name == "adaxml" {
		d := root.Child("data")
		if d == nil || len(d.Kids) == 0 {
			return nil, fmt.Errorf("%w: <adaxml> without a transaction under <data>", ErrMalformed)
		}
		return d.Kids[0], nil
	}
	return root, nil
}
