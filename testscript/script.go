package testscript

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bcbench/bcbench/profiles/validator"
)

// Limits on what a script may make the engine read.
const (
	// MaxScript is the largest TestScript file Load reads.
	MaxScript = 16 << 20
	// MaxFixture is the largest fixture file a script may reference.
	MaxFixture = 16 << 20
	// MaxResponse is the most the engine reads of one response body.
	MaxResponse = 64 << 20
)

// FHIR versions a script can be written in.
const (
	STU3 = "3.0.2"
	R4   = "4.0.1"
)

// sutExtension marks the origin or destination that is the system under test.
const sutExtension = "http://fhir.interoplab.eu/fhir/StructureDefinition/Interoplab-CL-ext-SUT"

// Touchstone's rule extensions: the rule's source is a Groovy file that
// Touchstone runs itself.
const (
	ruleExtension       = "http://touchstone.aegis.net/touchstone/fhir/testing/StructureDefinition/testscript-rule"
	assertRuleExtension = "http://touchstone.aegis.net/touchstone/fhir/testing/StructureDefinition/testscript-assert-rule"
)

// Script is a loaded TestScript.
type Script struct {
	// Path is the file the script was read from.
	Path string
	// FHIRVersion is STU3 or R4.
	FHIRVersion     string
	ID, Name, Title string
	// ClientRole says the system under test is the client (the script's
	// origin): the script describes what the client must send.
	ClientRole bool
	Fixtures   map[string]*Fixture
	Profiles   map[string]string // profile id → canonical URL
	Variables  []Variable
	Setup      []Action
	Tests      []Test
	Teardown   []Action
	// Rules are Touchstone rules the script declares (ruleId → path).
	Rules map[string]string
}

// Fixture is a resource a script sends or compares with, read from a file
// beside the script.
type Fixture struct {
	ID         string
	Reference  string // as written in the script
	Path       string // resolved file
	Autocreate bool
	Autodelete bool
}

// Variable is a script variable: a default value, or a value taken from a
// fixture or an earlier response by FHIRPath or header.
type Variable struct {
	Name         string
	DefaultValue string
	Expression   string
	HeaderField  string
	Path         string
	SourceID     string
	Hint         string
}

// Test is one test of a script: a named list of actions.
type Test struct {
	ID, Name, Description string
	Actions               []Action
}

// Action is an operation or an assert (exactly one is set).
type Action struct {
	Operation *Operation
	Assert    *Assert
}

// Operation is a request the script makes.
type Operation struct {
	Type             string // restful-interaction code: read, search, create, ...
	Resource         string
	Label            string
	Description      string
	Accept           string
	ContentType      string
	Method           string
	Params           string
	URL              string
	SourceID         string
	TargetID         string
	ResponseID       string
	RequestID        string
	EncodeRequestURL bool
	Headers          []Header
}

// Header is one request header of an operation.
type Header struct{ Field, Value string }

// Assert is one check of a script.
type Assert struct {
	Label                     string
	Description               string
	Direction                 string
	CompareToSourceID         string
	CompareToSourceExpression string
	CompareToSourcePath       string
	ContentType               string
	Expression                string
	HeaderField               string
	MinimumID                 string
	NavigationLinks           *bool
	Operator                  string
	Path                      string
	RequestMethod             string
	RequestURL                string
	Resource                  string
	Response                  string
	ResponseCode              string
	SourceID                  string
	ValidateProfileID         string
	Value                     string
	WarningOnly               bool
	StopTestOnFail            bool
	// Rule is the id of a Touchstone rule the assert runs.
	Rule string
	// Unknown lists elements of the assert that the engine does not read.
	Unknown []string
}

// Load reads a TestScript (XML or JSON). fhirVersion is STU3 or R4; empty
// takes it from a properties.json beside the script ("fhirVersion": "STU3"
// or "R4", as the Nictiz folders have), else from a folder named STU3 or R4
// on the path, else R4.
func Load(path, fhirVersion string) (*Script, error) {
	data, err := readBounded(path, MaxScript)
	if err != nil {
		return nil, fmt.Errorf("load test script: %w", err)
	}
	if fhirVersion == "" {
		fhirVersion = versionOf(path)
	}
	tree, err := decodeResource(data, fhirVersion)
	if err != nil {
		return nil, fmt.Errorf("load test script %s: %w", path, err)
	}
	s, err := parse(tree, fhirVersion)
	if err != nil {
		return nil, fmt.Errorf("load test script %s: %w", path, err)
	}
	s.Path = path
	dir := filepath.Dir(path)
	for _, f := range s.Fixtures {
		if f.Reference != "" && !strings.Contains(f.Reference, "://") && !strings.HasPrefix(f.Reference, "#") {
			f.Path = filepath.Join(dir, filepath.FromSlash(f.Reference))
		}
	}
	return s, nil
}

// versionOf guesses the FHIR version of a script file from its folder.
func versionOf(path string) string {
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if data, err := readBounded(filepath.Join(dir, "properties.json"), 1<<20); err == nil {
			var p struct {
				FHIRVersion string `json:"fhirVersion"`
			}
			if json.Unmarshal(data, &p) == nil && p.FHIRVersion != "" {
				if v := normalVersion(p.FHIRVersion); v != "" {
					return v
				}
			}
		}
		switch strings.ToUpper(filepath.Base(dir)) {
		case "STU3", "R3":
			return STU3
		case "R4":
			return R4
		}
		if parent := filepath.Dir(dir); parent == dir {
			return R4
		}
	}
}

// normalVersion maps "STU3", "3.0.1", "R4", "4.0.1" to STU3 or R4.
func normalVersion(v string) string {
	switch u := strings.ToUpper(strings.TrimSpace(v)); {
	case u == "STU3" || u == "R3" || strings.HasPrefix(u, "3.0"):
		return STU3
	case u == "R4" || strings.HasPrefix(u, "4.0"):
		return R4
	}
	return ""
}

// NormalVersion maps a FHIR version as users write it ("STU3", "3.0.1",
// "R4", "4.0.1") to STU3 or R4, and anything else to "".
func NormalVersion(v string) string { return normalVersion(v) }

// readBounded reads a file of at most limit bytes; a larger one is an error
// before it is read.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than the limit of %d", path, st.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is more than the limit of %d bytes", path, limit)
	}
	return data, nil
}

// decodeResource reads FHIR JSON or XML into the JSON-shaped tree
// (bounded in size and depth by the validator's decoder).
func decodeResource(data []byte, fhirVersion string) (map[string]any, error) {
	return validator.DecodeVersion(data, fhirVersion)
}

// parse turns a TestScript tree into a Script.
func parse(t map[string]any, fhirVersion string) (*Script, error) {
	if rt := str(t, "resourceType"); rt != "TestScript" {
		return nil, fmt.Errorf("not a TestScript but %q", rt)
	}
	s := &Script{
		FHIRVersion: fhirVersion,
		ID:          str(t, "id"),
		Name:        str(t, "name"),
		Title:       str(t, "title"),
		Fixtures:    map[string]*Fixture{},
		Profiles:    map[string]string{},
		Rules:       map[string]string{},
	}
	for _, o := range list(t, "origin") {
		if sut, ok := sutFlag(o); ok && sut {
			s.ClientRole = true
		}
	}
	for _, e := range list(t, "extension") {
		if str(e, "url") == ruleExtension {
			var id, path string
			for _, sub := range list(e, "extension") {
				switch str(sub, "url") {
				case "ruleId":
					id = str(sub, "valueId")
				case "path":
					path = str(sub, "valueString")
				}
			}
			if id != "" {
				s.Rules[id] = path
			}
		}
	}
	for _, f := range list(t, "fixture") {
		fx := &Fixture{
			ID:         str(f, "id"),
			Reference:  str(obj(f, "resource"), "reference"),
			Autocreate: boolean(f, "autocreate"),
			Autodelete: boolean(f, "autodelete"),
		}
		if fx.ID == "" {
			return nil, errors.New("a fixture has no id")
		}
		s.Fixtures[fx.ID] = fx
	}
	for _, p := range list(t, "profile") {
		url := str(p, "reference")
		if url == "" {
			url = str(p, "value") // Nictiz writes <profile id="…" value="url"/>
		}
		s.Profiles[str(p, "id")] = url
	}
	for _, v := range list(t, "variable") {
		s.Variables = append(s.Variables, Variable{
			Name:         str(v, "name"),
			DefaultValue: str(v, "defaultValue"),
			Expression:   str(v, "expression"),
			HeaderField:  str(v, "headerField"),
			Path:         str(v, "path"),
			SourceID:     str(v, "sourceId"),
			Hint:         str(v, "hint"),
		})
	}
	var err error
	if s.Setup, err = actions(obj(t, "setup")); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	for i, tt := range list(t, "test") {
		test := Test{ID: str(tt, "id"), Name: str(tt, "name"), Description: str(tt, "description")}
		if test.Actions, err = actions(tt); err != nil {
			return nil, fmt.Errorf("test %d (%s): %w", i+1, test.Name, err)
		}
		s.Tests = append(s.Tests, test)
	}
	if s.Teardown, err = actions(obj(t, "teardown")); err != nil {
		return nil, fmt.Errorf("teardown: %w", err)
	}
	return s, nil
}

func sutFlag(o map[string]any) (bool, bool) {
	for _, e := range list(o, "extension") {
		if str(e, "url") == sutExtension {
			return boolean(e, "valueBoolean"), true
		}
	}
	return false, false
}

// knownAssert lists the assert elements the engine reads.
var knownAssert = map[string]bool{
	"id": true, "extension": true, "modifierExtension": true, "label": true, "description": true,
	"direction": true, "compareToSourceId": true, "compareToSourceExpression": true,
	"compareToSourcePath": true, "contentType": true, "expression": true, "headerField": true,
	"minimumId": true, "navigationLinks": true, "operator": true, "path": true,
	"requestMethod": true, "requestURL": true, "resource": true, "response": true,
	"responseCode": true, "sourceId": true, "validateProfileId": true, "value": true,
	"warningOnly": true, "stopTestOnFail": true,
}

func actions(parent map[string]any) ([]Action, error) {
	var out []Action
	for i, a := range list(parent, "action") {
		op, as := obj(a, "operation"), obj(a, "assert")
		switch {
		case op != nil && as != nil:
			return nil, fmt.Errorf("action %d has both an operation and an assert", i+1)
		case op != nil:
			o := &Operation{
				Type:             str(obj(op, "type"), "code"),
				Resource:         str(op, "resource"),
				Label:            str(op, "label"),
				Description:      str(op, "description"),
				Accept:           str(op, "accept"),
				ContentType:      str(op, "contentType"),
				Method:           str(op, "method"),
				Params:           str(op, "params"),
				URL:              str(op, "url"),
				SourceID:         str(op, "sourceId"),
				TargetID:         str(op, "targetId"),
				ResponseID:       str(op, "responseId"),
				RequestID:        str(op, "requestId"),
				EncodeRequestURL: boolean(op, "encodeRequestUrl"),
			}
			for _, h := range list(op, "requestHeader") {
				o.Headers = append(o.Headers, Header{Field: str(h, "field"), Value: str(h, "value")})
			}
			out = append(out, Action{Operation: o})
		case as != nil:
			x := &Assert{
				Label:                     str(as, "label"),
				Description:               str(as, "description"),
				Direction:                 str(as, "direction"),
				CompareToSourceID:         str(as, "compareToSourceId"),
				CompareToSourceExpression: str(as, "compareToSourceExpression"),
				CompareToSourcePath:       str(as, "compareToSourcePath"),
				ContentType:               str(as, "contentType"),
				Expression:                str(as, "expression"),
				HeaderField:               str(as, "headerField"),
				MinimumID:                 str(as, "minimumId"),
				Operator:                  str(as, "operator"),
				Path:                      str(as, "path"),
				RequestMethod:             str(as, "requestMethod"),
				RequestURL:                str(as, "requestURL"),
				Resource:                  str(as, "resource"),
				Response:                  str(as, "response"),
				ResponseCode:              str(as, "responseCode"),
				SourceID:                  str(as, "sourceId"),
				ValidateProfileID:         str(as, "validateProfileId"),
				Value:                     str(as, "value"),
				WarningOnly:               boolean(as, "warningOnly"),
				StopTestOnFail:            boolean(as, "stopTestOnFail"),
			}
			if _, ok := as["navigationLinks"]; ok {
				b := boolean(as, "navigationLinks")
				x.NavigationLinks = &b
			}
			for _, e := range list(as, "extension") {
				if str(e, "url") == assertRuleExtension {
					for _, sub := range list(e, "extension") {
						if str(sub, "url") == "ruleId" {
							x.Rule = str(sub, "valueId")
						}
					}
					if x.Rule == "" {
						x.Rule = "(no ruleId)"
					}
				}
			}
			for k := range as {
				if !knownAssert[strings.TrimPrefix(k, "_")] {
					x.Unknown = append(x.Unknown, k)
				}
			}
			out = append(out, Action{Assert: x})
		default:
			return nil, fmt.Errorf("action %d has neither an operation nor an assert", i+1)
		}
	}
	return out, nil
}

// str returns a primitive child as text ("" when absent).
func str(m map[string]any, key string) string {
	if m == nil {
		return ""
	}
	switch v := m[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

func boolean(m map[string]any, key string) bool {
	b, _ := strconv.ParseBool(str(m, key))
	return b
}

func obj(m map[string]any, key string) map[string]any {
	if m == nil {
		return nil
	}
	switch v := m[key].(type) {
	case map[string]any:
		return v
	case []any:
		if len(v) > 0 {
			o, _ := v[0].(map[string]any)
			return o
		}
	}
	return nil
}

func list(m map[string]any, key string) []map[string]any {
	if m == nil {
		return nil
	}
	switch v := m[key].(type) {
	case map[string]any:
		return []map[string]any{v}
	case []any:
		out := make([]map[string]any, 0, len(v))
		for _, x := range v {
			if o, ok := x.(map[string]any); ok {
				out = append(out, o)
			}
		}
		return out
	}
	return nil
}
