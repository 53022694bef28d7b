package validator

import (
	"encoding/base64"
	"encoding/json"
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
		if !plainDateFormat(s, code) && !formats[code].MatchString(s) {
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
		} else {
			r.hyperlinks(s, path)
		}
	case "string", "markdown":
		for _, c := range s {
			if c < 32 && c != '\t' && c != '\n' && c != '\r' {
				r.issue(outcome.Error, outcome.CodeValue, path, "%s: contains the illegal control character %U", e.path, c)
				break
			}
		}
		if tag := htmlTagIn(s); tag != "" {
			switch {
			case code == "markdown":
				sev := outcome.Warning
				if r.noHTMLInMarkdown {
					sev = outcome.Error
				}
				r.issue(sev, outcome.CodeSecurity, path, "%s: the markdown holds what looks like an embedded HTML tag (%s); the presentation layer should escape it", e.path, clip(tag))
			case r.security:
				r.issue(outcome.Error, outcome.CodeSecurity, path, "%s: the string holds what looks like an embedded HTML tag (%s), which security checks do not allow", e.path, clip(tag))
			}
		}
	case "code":
		if !validCode(s) {
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: %q is not a valid code", e.path, clip(s))
		}
	case "id":
		if !validID(s) {
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: %q is not a valid id", e.path, clip(s))
		}
	case "uri", "url", "canonical":
		switch {
		case hasSpace(s):
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: %q is not a valid %s", e.path, clip(s), code)
		case strings.HasPrefix(s, "urn:uuid:") && !formats["uuid"].MatchString(s) || strings.HasPrefix(s, "urn:uuid:") && strings.ToLower(s) != s:
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: %q is not a valid UUID URI (lower-case hex, 8-4-4-4-12)", e.path, clip(s))
		case strings.HasPrefix(s, "urn:oid:") && !formats["oid"].MatchString(s):
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: %q is not a valid OID URI", e.path, clip(s))
		case code == "canonical" && !strings.HasPrefix(s, "#") && !strings.Contains(s, ":"):
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: canonical URL %q must be absolute (or a #fragment)", e.path, clip(s))
		}
	default:
		if re := formats[code]; re != nil && !re.MatchString(s) {
			r.issue(outcome.Error, outcome.CodeValue, path, "%s: %q is not a valid %s", e.path, clip(s), code)
		}
	}
}

// plainDateFormat says, for the usual shapes YYYY-MM-DD and
// YYYY-MM-DDThh:mm:ss[.s](Z|±hh:mm), that s has the format of a date,
// dateTime or instant (code) without the regular expression: true only
// where the expression accepts s; false means ask the expression.
func plainDateFormat(s, code string) bool {
	switch code {
	case "date":
		return plainDate(s)
	case "dateTime":
		if plainDate(s) {
			return true
		}
	case "instant":
	default:
		return false
	}
	return len(s) > 11 && plainDate(s[:10]) && s[10] == 'T' && plainTime(s[11:])
}

// plainDate: YYYY-MM-DD, a year other than 0000, month 01–12, day 01–31.
func plainDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !digits(s[:4]) || !digits(s[5:7]) || !digits(s[8:]) {
		return false
	}
	return s[:4] != "0000" && s[5:7] >= "01" && s[5:7] <= "12" && s[8:] >= "01" && s[8:] <= "31"
}

// plainTime: hh:mm:ss (00–23, 00–59, 00–60), an optional fraction, and Z
// or an offset from -13:59 to +14:00.
func plainTime(t string) bool {
	if len(t) < 9 || t[2] != ':' || t[5] != ':' || !digits(t[:2]) || !digits(t[3:5]) || !digits(t[6:8]) {
		return false
	}
	if t[:2] > "23" || t[3:5] > "59" || t[6:8] > "60" {
		return false
	}
	zone := t[8:]
	if zone[0] == '.' {
		n := 1
		for n < len(zone) && zone[n] >= '0' && zone[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		zone = zone[n:]
	}
	if zone == "Z" {
		return true
	}
	if len(zone) != 6 || zone[0] != '+' && zone[0] != '-' || zone[3] != ':' || !digits(zone[1:3]) || !digits(zone[4:]) {
		return false
	}
	return zone[1:3] <= "13" && zone[4:] <= "59" || zone[1:] == "14:00"
}

// digits says whether s is all ASCII digits.
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// indexSpace is the index of the first space, tab, carriage return or
// newline in s (-1: none), as strings.IndexAny(s, " \t\r\n") gives it
// (they are single bytes, never part of a multi-byte character), without
// building a character set on every call.
func indexSpace(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			return i
		}
	}
	return -1
}

// hasSpace says whether s holds a space, tab, carriage return or newline.
func hasSpace(s string) bool { return indexSpace(s) >= 0 }

// htmlTag finds text that looks like an HTML start or end tag.
var htmlTag = regexp.MustCompile(`</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>`)

// htmlTagIn returns the first htmlTag in s ("" none); a tag starts with <.
func htmlTagIn(s string) string {
	if !strings.Contains(s, "<") {
		return ""
	}
	return htmlTag.FindString(s)
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
// active content. It is a small scanner (tags, comments, CDATA, quoted
// attributes), far cheaper than a full XML decoder on every narrative.
func checkXHTML(s string) error {
	if !strings.HasPrefix(s, "<div") && !strings.HasPrefix(s, "<xhtml:div") {
		return fmt.Errorf("the narrative must start with a <div> element")
	}
	var open [32]string // the usual nesting without allocation
	stack := open[:0]
	i, roots := 0, 0
	for i < len(s) {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			if len(stack) == 0 && strings.TrimSpace(s[i:]) != "" {
				return fmt.Errorf("text outside the div")
			}
			break
		}
		if len(stack) == 0 && strings.TrimSpace(s[i:i+lt]) != "" {
			return fmt.Errorf("text outside the div")
		}
		i += lt
		switch {
		case strings.HasPrefix(s[i:], "<!--"):
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				return fmt.Errorf("unclosed comment")
			}
			i += 4 + end + 3
			continue
		case strings.HasPrefix(s[i:], "<![CDATA["):
			end := strings.Index(s[i:], "]]>")
			if end < 0 {
				return fmt.Errorf("unclosed CDATA section")
			}
			i += end + 3
			continue
		case strings.HasPrefix(s[i:], "<!"), strings.HasPrefix(s[i:], "<?"):
			return fmt.Errorf("declarations and processing instructions are not allowed in a narrative")
		}
		// Find the end of the tag, skipping quoted attribute values.
		j, quote := i+1, byte(0)
		for ; j < len(s); j++ {
			c := s[j]
			if quote != 0 {
				if c == quote {
					quote = 0
				}
				continue
			}
			if c == '"' || c == '\'' {
				quote = c
			} else if c == '>' {
				break
			} else if c == '<' {
				return fmt.Errorf("'<' inside a tag")
			}
		}
		if j >= len(s) {
			return fmt.Errorf("unclosed tag")
		}
		tag := s[i+1 : j]
		i = j + 1
		if strings.HasPrefix(tag, "/") {
			name := strings.TrimSpace(tag[1:])
			if len(stack) == 0 || stack[len(stack)-1] != name {
				return fmt.Errorf("end tag </%s> does not match", name)
			}
			stack = stack[:len(stack)-1]
			continue
		}
		selfClosing := strings.HasSuffix(tag, "/")
		tag = strings.TrimSuffix(tag, "/")
		name, attrs, _ := strings.Cut(tag, " ")
		if k := indexSpace(name); k >= 0 { // a tab or line break (Cut took the first space)
			name, attrs = name[:k], name[k:]
		}
		if name == "" {
			return fmt.Errorf("empty tag name")
		}
		local := strings.ToLower(name[strings.IndexByte(name, ':')+1:])
		if len(stack) == 0 {
			if roots++; roots > 1 {
				return fmt.Errorf("more than one root element")
			}
			if local != "div" || !strings.Contains(attrs, "http://www.w3.org/1999/xhtml") {
				return fmt.Errorf("the root must be a div in the xhtml namespace")
			}
		}
		if forbidden[local] {
			return fmt.Errorf("element <%s> is not allowed in a narrative", name)
		}
		var names [16]string // no allocation for the usual few attributes
		for _, n := range attrNames(names[:0], attrs) {
			if len(n) > 2 && strings.HasPrefix(strings.ToLower(n), "on") {
				return fmt.Errorf("event attribute %s is not allowed in a narrative", n)
			}
		}
		if !selfClosing {
			stack = append(stack, name)
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("element <%s> is not closed", stack[len(stack)-1])
	}
	if err := checkEntities(s); err != nil {
		return err
	}
	if !hasContent(s) {
		return fmt.Errorf("the narrative has no content (txt-2: it must have some non-whitespace text or an image)")
	}
	return nil
}

// hasContent reports whether an xhtml fragment has non-whitespace text
// outside its tags, or an image.
func hasContent(s string) bool {
	in := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '<':
			in = true
			if strings.HasPrefix(s[i:], "<img") {
				return true
			}
		case c == '>':
			in = false
		case !in && c != ' ' && c != '\t' && c != '\r' && c != '\n':
			return true
		}
	}
	return false
}

// forbidden are the xhtml elements FHIR narratives may not contain.
var forbidden = map[string]bool{"script": true, "form": true, "input": true, "iframe": true, "object": true, "embed": true,
	"base": true, "link": true, "style": true, "meta": true, "applet": true, "frame": true, "frameset": true, "button": true, "select": true, "textarea": true}

// attrNames appends to names the attribute names of a tag's attribute
// text, skipping quoted values.
func attrNames(names []string, attrs string) []string {
	i := 0
	for i < len(attrs) {
		for i < len(attrs) && (attrs[i] == ' ' || attrs[i] == '\t' || attrs[i] == '\r' || attrs[i] == '\n') {
			i++
		}
		start := i
		for i < len(attrs) && attrs[i] != '=' && attrs[i] != ' ' && attrs[i] != '\t' && attrs[i] != '\r' && attrs[i] != '\n' {
			i++
		}
		if i > start {
			names = append(names, attrs[start:i])
		}
		for i < len(attrs) && (attrs[i] == ' ' || attrs[i] == '\t' || attrs[i] == '\r' || attrs[i] == '\n') {
			i++
		}
		if i < len(attrs) && attrs[i] == '=' {
			i++
			for i < len(attrs) && (attrs[i] == ' ' || attrs[i] == '\t') {
				i++
			}
			if i < len(attrs) && (attrs[i] == '"' || attrs[i] == '\'') {
				q := attrs[i]
				end := strings.IndexByte(attrs[i+1:], q)
				if end < 0 {
					return names
				}
				i += end + 2
			} else {
				for i < len(attrs) && attrs[i] != ' ' {
					i++
				}
			}
		}
	}
	return names
}

// validCode checks the code format [^\s]+( [^\s]+)* without a regexp.
func validCode(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i, c := range s {
		switch c {
		case '\t', '\r', '\n', '\v', '\f':
			return false
		case ' ':
			if s[i-1] == ' ' {
				return false
			}
		}
	}
	return true
}

// validID checks the id format [A-Za-z0-9\-\.]{1,64} without a regexp.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// checkEntities allows only the XML entities and character references in a
// narrative (HTML entities such as &reg; are not XML).
func checkEntities(s string) error {
	for i := strings.IndexByte(s, '&'); i >= 0; {
		end := strings.IndexByte(s[i:], ';')
		if end < 0 {
			return fmt.Errorf("unterminated entity reference")
		}
		name := s[i+1 : i+end]
		switch {
		case name == "amp" || name == "lt" || name == "gt" || name == "quot" || name == "apos":
		case strings.HasPrefix(name, "#") && len(name) > 1:
		default:
			return fmt.Errorf("invalid entity &%s; (only XML entities and character references are allowed)", clip(name))
		}
		next := strings.IndexByte(s[i+end:], '&')
		if next < 0 {
			break
		}
		i += end + next
	}
	return nil
}
