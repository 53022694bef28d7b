package fhirpath

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"unicode"
)

// htmlChecks implements the FHIR function behind txt-1 and txt-2 on
// Narrative.div: the XHTML must be a div in the XHTML namespace, use only the
// elements and attributes FHIR narrative allows (the basic formatting
// elements of HTML 4.0 chapters 7–11 and 15, links, images, style
// attributes; no scripts, forms or event handlers), and have some
// non-whitespace content (text or an image).
func htmlChecks(div string) bool {
	if len(div) > MaxStringLength {
		return false
	}
	dec := xml.NewDecoder(strings.NewReader(div))
	dec.Strict = true
	dec.Entity = xml.HTMLEntity
	depth, content, sawRoot := 0, false, false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if sawRoot || t.Name.Local != "div" || t.Name.Space != "http://www.w3.org/1999/xhtml" {
					return false
				}
				sawRoot = true
			} else if t.Name.Space != "http://www.w3.org/1999/xhtml" || !narrativeElements[t.Name.Local] {
				return false
			}
			depth++
			if depth > 200 {
				return false
			}
			for _, a := range t.Attr {
				if !narrativeAttribute(t.Name.Local, a) {
					return false
				}
			}
			if t.Name.Local == "img" {
				content = true
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 {
				if strings.TrimSpace(string(t)) != "" {
					return false
				}
				continue
			}
			if strings.IndexFunc(string(t), func(r rune) bool { return !unicode.IsSpace(r) }) >= 0 {
				content = true
			}
		case xml.ProcInst, xml.Directive:
			if depth > 0 {
				return false
			}
		}
	}
	return sawRoot && content
}

var narrativeElements = setOf("p", "br", "div", "h1", "h2", "h3", "h4", "h5", "h6", "a", "span", "b",
	"em", "i", "strong", "small", "big", "tt", "dfn", "q", "var", "abbr", "acronym", "cite",
	"blockquote", "hr", "address", "bdo", "kbd", "sub", "sup", "ul", "ol", "li", "dl", "dt", "dd",
	"pre", "table", "caption", "colgroup", "col", "thead", "tr", "tfoot", "tbody", "th", "td",
	"code", "samp", "img", "map", "area", "u", "s", "strike", "center", "font", "ins", "del")

var narrativeAttributes = setOf("title", "style", "class", "id", "lang", "dir", "accesskey",
	"tabindex", "span", "width", "height", "align", "valign", "char", "charoff", "abbr", "axis",
	"headers", "scope", "rowspan", "colspan", "summary", "border", "frame", "rules", "cellspacing",
	"cellpadding", "start", "type", "value", "compact", "cite", "datetime", "nowrap", "bgcolor",
	"color", "size", "face", "clear", "noshade", "hspace", "vspace", "shape", "coords", "usemap",
	"ismap", "longdesc", "name", "href", "rel", "rev", "hreflang", "src", "alt", "xmlns")

func narrativeAttribute(elem string, a xml.Attr) bool {
	name := strings.ToLower(a.Name.Local)
	switch a.Name.Space {
	case "", "http://www.w3.org/1999/xhtml":
	case "xmlns", "http://www.w3.org/XML/1998/namespace": // namespace declarations, xml:lang
		return true
	default:
		return false
	}
	if !narrativeAttributes[name] {
		return false
	}
	if name == "href" || name == "src" || name == "longdesc" || name == "usemap" {
		v := strings.ToLower(strings.TrimSpace(a.Value))
		if strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "vbscript:") {
			return false
		}
	}
	return true
}

func setOf(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, it := range items {
		m[it] = true
	}
	return m
}
