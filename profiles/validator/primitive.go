package validator

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bcbench/bcbench/profiles/outcome"
)

// Formats of FHIR primitive types (R4 regexes; STU3 is the same or looser).
var formats = map[string]*regexp.Regexp{
	"code":        regexp.MustCompile(`^[^\s]+( [^\s]+)*$`),
	"id":          regexp.MustCompile(`^[A-Za-z0-9\-\.]{1,64}$`),
	"oid":         regexp.MustCompile(`^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$`),
	"uuid":        regexp.MustCompile(`^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`),
	"uri":         regexp.MustCompile(`^\S*$`),
	"url":         regexp.MustCompile(`^\S*$`),
	"canonical":   regexp.MustCompile(`^\S*$`),
	"date":        regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$`),
	"dateTime":    regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`),
	"instant":     regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$`),
	"time":        regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?$`),
	"decimal":     regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`),
	"integer":     regexp.MustCompile(`^-?([0]|([1-9][0-9]*))$`),
	"positiveInt": regexp.MustCompile(`^\+?[1-9][0-9]*$`),
	"unsignedInt": regexp.MustCompile(`^([0]|([1-9][0-9]*))$`),
}

// primitive checks a primitive value's JSON type and format.
func (r *run) primitive(v any, code string, e *elem, path string) {
	switch code {
	case "boolean":
		if _, ok := v.(bool); !ok {
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: %s is not a valid boolean (true or false)", e.path, show(v))
		}
		return
	case "integer", "positiveInt", "unsignedInt", "decimal", "integer64":
		n, ok := v.(json.Number)
		if code == "integer64" {
			s, isStr := v.(string)
			if !isStr || !formats["integer"].MatchString(s) {
				r.issue(outcome.Error, outcome.CodeValue, path, "%s: %s is not a valid integer64 (a string of digits)", e.path, show(v))
			}
			return
		}
		if !ok {
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: %s is not a valid %s (must be a JSON number)", e.path, show(v), code)
			return
		}
		s := string(n)
		if !formats[code].MatchString(s) {
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: %s is not a valid %s", e.path, s, code)
			return
		}
		if code != "decimal" {
			i, err := strconv.ParseInt(s, 10, 64)
			if err != nil || i > 2147483647 || i < -2147483648 {
				r.issue(outcome.Error, outcome.CodeValue, path, "%s: %s is outside the 32-bit range of %s", e.path, s, code)
			}
		}
		return
	}
	s, ok := v.(string)
	if !ok {
		r.issue(outcome.Error, outcome.CodeValue, path, "%s: %s is not a valid %s (must be a JSON string)", e.path, show(v), code)
		return
	}
	if s == "" {
		r.issue(outcome.Error, outcome.CodeValue, path, "%s: a %s value must not be empty (leave the element out)", e.path, code)
		return
	}
	if strings.TrimSpace(s) == "" && code != "xhtml" {
		r.issue(outcome.Error, outcome.CodeValue, path, "%s: a %s value must not be only whitespace", e.path, code)
		return
	}
	if e.maxLength > 0 && utf8.RuneCountInString(s) > e.maxLength {
		r.issue(outcome.Error, outcome.CodeValue, path, "%s: value is %d characters long, more than maxLength %d (%s)", e.path, utf8.RuneCountInString(s), e.maxLength, label(e))
	}
	if len(s) > 1<<20 && code != "base64Binary" && code != "xhtml" {
		r.issue(outcome.Error, outcome.CodeValue, path, "%s: a %s of %d bytes is longer than FHIR allows (1 MB)", e.path, code, len(s))
	}
	switch code {
	case "date", "dateTime", "instant":
		if !formats[code].MatchString(s) {
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: %q is not a valid %s", e.path, clip(s), code)
			return
		}
		if !realDate(s) {
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: %q is not a real calendar date", e.path, s)
		}
		if code == "dateTime" && strings.Contains(s, "T") && !r.v.stu3 && !hasZone(s) {
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: %q has a time but no time zone", e.path, s)
		}
	case "base64Binary":
		clean := strings.Map(func(c rune) rune {
			if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
				return -1
			}
			return c
		}, s)
		if _, err := base64.StdEncoding.DecodeString(clean); err != nil {
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: not valid base64: %v", e.path, err)
		}
	case "xhtml":
		if err := checkXHTML(s); err != nil {
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: invalid xhtml: %v", e.path, err)
		}
	case "string", "markdown":
		for _, c := range s {
			if c < 32 && c != '\t' && c != '\n' && c != '\r' {
				r.issue(outcome.Error, outcome.CodeValue, path, "%s: contains the illegal control character %U", e.path, c)
				break
			}
		}
	default:
		if re := formats[code]; re != nil && !re.MatchString(s) {
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: %q is not a valid %s", e.path, clip(s), code)
		}
	}
}

func hasZone(s string) bool {
	t := s[strings.Index(s, "T"):]
	return strings.HasSuffix(t, "Z") || strings.ContainsAny(t, "+-")
}

// realDate checks that the date part of s exists in the calendar.
func realDate(s string) bool {
	if len(s) < 10 {
		return true
	}
	_, err := time.Parse("2006-01-02", s[:10])
	return err == nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// checkXHTML checks that a narrative is a well-formed xhtml div without
// active content.
func checkXHTML(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	d.Entity = xml.HTMLEntity
	first := true
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			if depth == 0 && !first && err.Error() == "EOF" {
				return nil
			}
			return fmt.Errorf("not well-formed: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if first {
				if t.Name.Local != "div" || t.Name.Space != "http://www.w3.org/1999/xhtml" {
					return fmt.Errorf("the root must be a div in the xhtml namespace, found <%s> in %q", t.Name.Local, t.Name.Space)
				}
				first = false
			} else if depth == 0 {
				return fmt.Errorf("more than one root element")
			}
			switch strings.ToLower(t.Name.Local) {
			case "script", "form", "input", "iframe", "object", "embed", "base", "link", "style", "meta", "applet", "frame", "frameset":
				return fmt.Errorf("element <%s> is not allowed in a narrative", t.Name.Local)
			}
			for _, a := range t.Attr {
				if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") {
					return fmt.Errorf("event attribute %s is not allowed in a narrative", a.Name.Local)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && strings.TrimSpace(string(t)) != "" {
				return fmt.Errorf("text outside the div")
			}
		}
	}
}
