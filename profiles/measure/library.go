package measure

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bcbench/bcbench/profiles/outcome"
)

// Limits on Library content.
const (
	// maxELM bounds the decoded ELM document read from a Library.
	maxELM = 16 << 20
	// maxELMTokens bounds the XML tokens read from one ELM document.
	maxELMTokens = 2_000_000
	// maxELMDepth bounds the element nesting of an ELM document.
	maxELMDepth = 1000
)

const elmNamespace = "urn:hl7-org:elm:r1"

// library is a Measure library as far as the criteria checks need it.
type library struct {
	url, name string
	defs      map[string]bool // statement names of the ELM
	elmErr    string          // why the ELM could not be read ("" when it was)
	hasELM    bool
}

// measure checks a Measure: the shape of its groups and the CQL criteria of
// its stratifiers against the ELM of its Libraries.
func (c *checker) measure(m map[string]any, path string) {
	var libs []*library
	for i, l := range list(m["library"]) {
		if i >= maxItems || c.done() {
			break
		}
		ref, _ := l.(string)
		if lm, ok := l.(map[string]any); ok { // STU3: a Reference
			ref = str(lm, "reference")
		}
		if ref == "" {
			continue
		}
		t, ok := c.lookup(ref)
		if !ok || str(t, "resourceType") != "Library" {
			c.add(outcome.Information, outcome.CodeNotFound, path, "the Library %s could not be resolved, so expression validation may not be correct", ref)
			continue
		}
		libs = append(libs, readLibrary(t))
	}
	groups := list(m["group"])
	if len(groups) == 0 {
		c.add(outcome.Warning, outcome.CodeRequired, path, "the Measure has no groups")
		return
	}
	for i, g := range groups {
		if i >= maxItems || c.done() {
			break
		}
		gp := fmt.Sprintf("%s.group[%d]", path, i)
		gm, _ := g.(map[string]any)
		if gm == nil {
			continue
		}
		if len(groups) > 1 && gm["code"] == nil {
			c.add(outcome.Warning, outcome.CodeRequired, gp, "a Measure with more than one group should give each group a code, so reports can name it")
		}
		pops := list(gm["population"])
		if len(pops) == 0 {
			c.add(outcome.Warning, outcome.CodeRequired, gp, "the group has no populations")
		}
		for j, p := range pops {
			if j >= maxItems {
				break
			}
			if pm, ok := p.(map[string]any); ok && len(pops) > 1 && pm["code"] == nil {
				c.add(outcome.Warning, outcome.CodeRequired, fmt.Sprintf("%s.population[%d]", gp, j), "a group with more than one population should give each population a code")
			}
		}
		strats := list(gm["stratifier"])
		for j, s := range strats {
			if j >= maxItems || c.done() {
				break
			}
			sm, _ := s.(map[string]any)
			if sm == nil {
				continue
			}
			sp := fmt.Sprintf("%s.stratifier[%d]", gp, j)
			if len(strats) > 1 && sm["code"] == nil {
				c.add(outcome.Warning, outcome.CodeRequired, sp, "a group with more than one stratifier should give each stratifier a code")
			}
			if cr, ok := sm["criteria"].(map[string]any); ok {
				c.criteria(cr, libs, sp+".criteria")
			}
			comps := list(sm["component"])
			for k, cp := range comps {
				if k >= maxItems {
					break
				}
				cm, _ := cp.(map[string]any)
				if cm == nil {
					continue
				}
				cpp := fmt.Sprintf("%s.component[%d]", sp, k)
				if len(comps) > 1 && cm["code"] == nil {
					c.add(outcome.Warning, outcome.CodeRequired, cpp, "a stratifier with more than one component should give each component a code")
				}
				if cr, ok := cm["criteria"].(map[string]any); ok {
					c.criteria(cr, libs, cpp+".criteria")
				}
			}
		}
	}
}

// criteria checks one stratifier criteria Expression. CQL expressions name
// a definition ("Library.Definition", or "Definition" when the Measure has one
// Library) that must exist in the Library's ELM; other languages are not
// checked, which is said as a warning.
func (c *checker) criteria(cr map[string]any, libs []*library, path string) {
	lang := str(cr, "language")
	if lang == "" {
		return // a structural error elsewhere
	}
	if lang != "text/cql" && lang != "text/cql.identifier" {
		c.add(outcome.Warning, outcome.CodeNotSupported, path, "criteria in language %q are not checked", lang)
		return
	}
	expr := str(cr, "expression")
	if len(libs) == 0 {
		c.add(outcome.Error, outcome.CodeInvalid, path, "no CQL Libraries found on this Measure, so the CQL criteria %q cannot be evaluated", expr)
		return
	}
	var lib *library
	name := expr
	if libName, def, ok := strings.Cut(expr, "."); ok {
		name = def
		for _, l := range libs {
			if l.name != libName {
				continue
			}
			if lib != nil {
				c.add(outcome.Error, outcome.CodeInvalid, path, "more than one Library of the Measure is called %s", libName)
				return
			}
			lib = l
		}
		if lib == nil {
			c.add(outcome.Error, outcome.CodeInvalid, path, "no Library of the Measure is called %s (criteria %q)", libName, expr)
			return
		}
	} else {
		if len(libs) != 1 {
			c.add(outcome.Error, outcome.CodeInvalid, path, "the criteria %q do not name their Library, which is only allowed when the Measure has exactly one (it has %d)", expr, len(libs))
			return
		}
		lib = libs[0]
	}
	switch {
	case !lib.hasELM:
		c.add(outcome.Error, outcome.CodeInvalid, path, "the Library %s has no ELM (application/elm+xml or application/elm+json content), so the criteria %q cannot be checked", lib.url, expr)
	case lib.elmErr != "":
		c.add(outcome.Error, outcome.CodeInvalid, path, "the ELM of the Library %s could not be read: %s", lib.url, lib.elmErr)
	case !lib.defs[name]:
		c.add(outcome.Error, outcome.CodeInvalid, path, "the function %s does not exist in the library %s", name, lib.url)
	}
}

// readLibrary reads a Library's name, URL and the statement names of its ELM.
func readLibrary(t map[string]any) *library {
	l := &library{url: str(t, "url"), name: str(t, "name")}
	if l.url == "" {
		l.url = "Library/" + str(t, "id")
	}
	for i, a := range list(t["content"]) {
		if i >= maxItems {
			break
		}
		am, _ := a.(map[string]any)
		ct := str(am, "contentType")
		if ct != "application/elm+xml" && ct != "application/elm+json" {
			continue
		}
		l.hasELM = true
		data := str(am, "data")
		if base64.StdEncoding.DecodedLen(len(data)) > maxELM {
			l.elmErr = fmt.Sprintf("the ELM is larger than %d bytes", maxELM)
			return l
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(data))
		if err != nil {
			l.elmErr = fmt.Sprintf("the content is not base64: %v", err)
			return l
		}
		var defs map[string]bool
		if ct == "application/elm+xml" {
			defs, err = elmXMLDefs(raw)
		} else {
			defs, err = elmJSONDefs(raw)
		}
		if err != nil {
			l.elmErr = err.Error()
			return l
		}
		l.defs, l.elmErr = defs, ""
		return l
	}
	return l
}

// elmXMLDefs reads the names of library/statements/def of an ELM XML document.
func elmXMLDefs(raw []byte) (map[string]bool, error) {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = true
	defs := map[string]bool{}
	var stack []string
	for n := 0; ; n++ {
		if n > maxELMTokens {
			return nil, fmt.Errorf("more than %d XML tokens", maxELMTokens)
		}
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not well-formed XML: %w", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				if e.Name.Local != "library" || nsOf(e) != elmNamespace {
					return nil, fmt.Errorf("the document element is <%s>, not an ELM <library> in %s", e.Name.Local, elmNamespace)
				}
			}
			if len(stack) >= maxELMDepth {
				return nil, fmt.Errorf("XML nested deeper than %d", maxELMDepth)
			}
			stack = append(stack, e.Name.Local)
			if len(stack) == 3 && stack[1] == "statements" && e.Name.Local == "def" {
				for _, a := range e.Attr {
					if a.Name.Local == "name" && a.Name.Space == "" {
						defs[a.Value] = true
					}
				}
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	if len(stack) != 0 {
		return nil, errors.New("the XML ends inside an element")
	}
	return defs, nil
}

// nsOf is the default namespace declared on an element (RawToken does not
// resolve prefixes; ELM puts its namespace as the default one).
func nsOf(e xml.StartElement) string {
	if e.Name.Space != "" {
		for _, a := range e.Attr {
			if a.Name.Space == "xmlns" && a.Name.Local == e.Name.Space {
				return a.Value
			}
		}
		return ""
	}
	for _, a := range e.Attr {
		if a.Name.Space == "" && a.Name.Local == "xmlns" {
			return a.Value
		}
	}
	return ""
}

// elmJSONDefs reads the names of library.statements.def of an ELM JSON document.
func elmJSONDefs(raw []byte) (map[string]bool, error) {
	var doc struct {
		Library *struct {
			Statements struct {
				Def []struct {
					Name string `json:"name"`
				} `json:"def"`
			} `json:"statements"`
		} `json:"library"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if doc.Library == nil {
		return nil, errors.New("the JSON has no ELM library")
	}
	defs := map[string]bool{}
	for _, d := range doc.Library.Statements.Def {
		defs[d.Name] = true
	}
	return defs, nil
}
