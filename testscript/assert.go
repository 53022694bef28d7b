package testscript

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/bcbench/bcbench/profiles/fhirpath"
	"github.com/bcbench/bcbench/profiles/validator"
)

// responseCodes maps TestScript's assert.response codes to HTTP statuses.
var responseCodes = map[string]int{
	"okay": 200, "created": 201, "noContent": 204, "notModified": 304, "bad": 400,
	"forbidden": 403, "notFound": 404, "methodNotAllowed": 405, "conflict": 409,
	"gone": 410, "preconditionFailed": 412, "unprocessable": 422,
}

// assert evaluates one assert.
func (r *run) assert(a *Assert) (Status, string) {
	switch {
	case a.Rule != "":
		return Skip, fmt.Sprintf("Touchstone rule %q: its Groovy source is Touchstone's and not in the corpus; bcbench does not run it", a.Rule)
	case a.Path != "" || a.CompareToSourcePath != "":
		return Skip, "path asserts (XPath/JSONPath) are not evaluated by bcbench; the script should use expression"
	case len(a.Unknown) > 0:
		return Skip, fmt.Sprintf("assert uses elements bcbench does not know: %s", strings.Join(a.Unknown, ", "))
	}
	ex := r.last
	if ex == nil && a.SourceID == "" {
		return Error, "no operation ran before this assert"
	}
	request := a.Direction == "request"
	switch {
	case a.ResponseCode != "":
		return compare(strconv.Itoa(ex.status), operatorOr(a.Operator, "equals"), a.ResponseCode, "response code")
	case a.Response != "":
		want, ok := responseCodes[a.Response]
		if !ok {
			return Error, fmt.Sprintf("unknown response code %q", a.Response)
		}
		return compare(strconv.Itoa(ex.status), operatorOr(a.Operator, "equals"), strconv.Itoa(want), "response code")
	case a.ContentType != "":
		h := ex.respHeader
		if request {
			h = ex.reqHeader
		}
		got := h.Get("Content-Type")
		if strings.Contains(strings.ToLower(got), strings.ToLower(strings.TrimPrefix(mime(a.ContentType), "application/fhir+"))) {
			return Pass, "Content-Type " + got
		}
		return Fail, fmt.Sprintf("Content-Type is %q, expected %s", got, mime(a.ContentType))
	case a.HeaderField != "":
		h := ex.respHeader
		if request {
			h = ex.reqHeader
		}
		value, err := r.x.expand(a.Value)
		if err != nil {
			return Error, err.Error()
		}
		return compare(h.Get(a.HeaderField), operatorOr(a.Operator, defaultOp(value)), value, "header "+a.HeaderField)
	case a.RequestMethod != "":
		return compare(ex.method, operatorOr(a.Operator, "equals"), strings.ToUpper(a.RequestMethod), "request method")
	case a.RequestURL != "":
		want, err := r.x.expand(a.RequestURL)
		if err != nil {
			return Error, err.Error()
		}
		return compare(ex.url, operatorOr(a.Operator, "equals"), want, "request URL")
	}
	src, where, err := r.source(a, ex)
	if err != nil {
		return Error, err.Error()
	}
	switch {
	case a.Resource != "":
		if src == nil {
			return Fail, fmt.Sprintf("the %s holds no FHIR resource, expected %s", where, a.Resource)
		}
		return compare(str(src, "resourceType"), operatorOr(a.Operator, "equals"), a.Resource, "resource type")
	case a.ValidateProfileID != "":
		return r.validate(a, src, where)
	case a.MinimumID != "":
		min, err := r.fixture(a.MinimumID)
		if err != nil {
			return Error, err.Error()
		}
		if src == nil {
			return Fail, "the " + where + " holds no FHIR resource"
		}
		if path, ok := contains(src, min, str(min, "resourceType")); !ok {
			return Fail, fmt.Sprintf("the %s lacks what fixture %q holds at %s", where, a.MinimumID, path)
		}
		return Pass, ""
	case a.NavigationLinks != nil:
		if src == nil {
			return Fail, "the " + where + " holds no FHIR resource"
		}
		rel := map[string]bool{}
		for _, l := range list(src, "link") {
			rel[str(l, "relation")] = true
		}
		has := rel["first"] && rel["last"]
		if has == *a.NavigationLinks {
			return Pass, ""
		}
		return Fail, fmt.Sprintf("navigation links first and last present: %v, expected %v", has, *a.NavigationLinks)
	case a.Expression != "" || a.CompareToSourceExpression != "":
		return r.expression(a, src, where)
	}
	return Skip, "the assert names no check bcbench knows"
}

// source picks what an assert looks at: a fixture by sourceId, else the
// last request or response.
func (r *run) source(a *Assert, ex *exchange) (map[string]any, string, error) {
	if a.SourceID != "" {
		t, err := r.fixture(a.SourceID)
		if err != nil {
			return nil, "", err
		}
		return t, "fixture " + a.SourceID, nil
	}
	if a.Direction == "request" {
		return ex.reqTree, "request", nil
	}
	if ex.respTree == nil && ex.respErr != "" {
		return nil, "response", nil
	}
	return ex.respTree, "response", nil
}

func (r *run) validate(a *Assert, src map[string]any, where string) (Status, string) {
	url, ok := r.s.Profiles[a.ValidateProfileID]
	if !ok {
		return Error, fmt.Sprintf("profile id %q is not declared in the script", a.ValidateProfileID)
	}
	if r.vx == nil {
		return Skip, "no validator for FHIR " + r.s.FHIRVersion + " was given; validateProfileId is not judged"
	}
	if src == nil {
		return Fail, "the " + where + " holds no FHIR resource to validate"
	}
	out := r.vx.ValidateResource(r.ctx, src, false, validator.Request{Profiles: []string{url}})
	var errs []string
	for _, i := range out.Issue {
		if i.Severity == "error" || i.Severity == "fatal" {
			errs = append(errs, strings.Join(i.Expression, ",")+": "+i.Diagnostics)
		}
	}
	if len(errs) == 0 {
		return Pass, fmt.Sprintf("valid against %s (%d issues below error)", url, len(out.Issue))
	}
	if len(errs) > 5 {
		errs = append(errs[:5], fmt.Sprintf("… %d more", len(errs)-5))
	}
	return Fail, fmt.Sprintf("not valid against %s: %s", url, strings.Join(errs, "; "))
}

func (r *run) expression(a *Assert, src map[string]any, where string) (Status, string) {
	var got fhirpath.Collection
	if a.Expression != "" {
		if src == nil {
			return Fail, "the " + where + " holds no FHIR resource to evaluate " + a.Expression + " on"
		}
		expr, err := r.x.expand(a.Expression)
		if err != nil {
			return Error, err.Error()
		}
		if got, err = r.eval(expr, src); err != nil {
			return Error, err.Error()
		}
	}
	want := a.Value
	if a.CompareToSourceID != "" && a.CompareToSourceExpression != "" {
		other, err := r.fixture(a.CompareToSourceID)
		if err != nil {
			return Error, err.Error()
		}
		c, err := r.eval(a.CompareToSourceExpression, other)
		if err != nil {
			return Error, err.Error()
		}
		if a.Expression == "" {
			return truth(c, a.CompareToSourceExpression)
		}
		want = text(c)
	} else if want != "" {
		var err error
		if want, err = r.x.expand(want); err != nil {
			return Error, err.Error()
		}
	}
	if a.Operator == "" && want == "" && a.CompareToSourceID == "" {
		return truth(got, a.Expression)
	}
	op := operatorOr(a.Operator, "equals")
	switch op {
	case "empty":
		if len(got) == 0 {
			return Pass, ""
		}
		return Fail, fmt.Sprintf("%s is not empty: %s", a.Expression, text(got))
	case "notEmpty":
		if len(got) > 0 {
			return Pass, ""
		}
		return Fail, a.Expression + " is empty"
	case "eval":
		return truth(got, a.Expression)
	}
	return compare(text(got), op, want, a.Expression)
}

// truth judges an expression that must be true.
func truth(c fhirpath.Collection, expr string) (Status, string) {
	if len(c) == 1 {
		if b, ok := boolOf(c[0]); ok {
			if b {
				return Pass, ""
			}
			return Fail, expr + " is false"
		}
	}
	if len(c) == 0 {
		return Fail, expr + " is empty"
	}
	return Fail, fmt.Sprintf("%s gives %s, not true", expr, text(c))
}

func boolOf(v fhirpath.Value) (bool, bool) {
	switch x := v.(type) {
	case fhirpath.Boolean:
		return bool(x), true
	case *fhirpath.Element:
		if sv, ok := x.SystemValue(); ok {
			return boolOf(sv)
		}
	}
	return false, false
}

// text renders a collection as the comma-joined text of its items.
func text(c fhirpath.Collection) string {
	parts := make([]string, 0, len(c))
	for _, v := range c {
		parts = append(parts, valueText(v))
	}
	return strings.Join(parts, ",")
}

func valueText(v fhirpath.Value) string {
	if e, ok := v.(*fhirpath.Element); ok {
		if sv, ok := e.SystemValue(); ok {
			return valueText(sv)
		}
		switch d := e.Data().(type) {
		case string:
			return d
		case json.Number:
			return d.String()
		case bool:
			return strconv.FormatBool(d)
		}
		b, _ := json.Marshal(e.Data())
		return string(b)
	}
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	switch x := v.(type) {
	case fhirpath.Boolean:
		return strconv.FormatBool(bool(x))
	case fhirpath.Integer:
		return strconv.FormatInt(int64(x), 10)
	case fhirpath.String:
		return string(x)
	}
	return fmt.Sprint(v)
}

func operatorOr(op, def string) string {
	if op == "" {
		return def
	}
	return op
}

func defaultOp(value string) string {
	if value == "" {
		return "notEmpty"
	}
	return "equals"
}

// compare applies a TestScript operator to a value.
func compare(got, op, want, what string) (Status, string) {
	ok := false
	switch op {
	case "equals":
		ok = got == want
	case "notEquals":
		ok = got != want
	case "in":
		ok = inList(got, want)
	case "notIn":
		ok = !inList(got, want)
	case "greaterThan", "lessThan":
		g, err1 := strconv.ParseFloat(got, 64)
		w, err2 := strconv.ParseFloat(want, 64)
		if err1 != nil || err2 != nil {
			ok = (op == "greaterThan" && got > want) || (op == "lessThan" && got < want)
		} else {
			ok = (op == "greaterThan" && g > w) || (op == "lessThan" && g < w)
		}
	case "empty":
		ok = got == ""
	case "notEmpty":
		ok = got != ""
	case "contains":
		ok = strings.Contains(got, want)
	case "notContains":
		ok = !strings.Contains(got, want)
	default:
		return Error, fmt.Sprintf("unknown operator %q", op)
	}
	if ok {
		return Pass, fmt.Sprintf("%s %q %s %q", what, got, op, want)
	}
	return Fail, fmt.Sprintf("%s is %q, expected %s %q", what, got, op, want)
}

func inList(got, list string) bool {
	for _, w := range strings.Split(list, ",") {
		if strings.TrimSpace(w) == got {
			return true
		}
	}
	return false
}

// contains reports whether have holds everything min holds (minimumId):
// every element of min is in have with the same value; every item of a
// list in min matches some item of have's list. It returns the first path
// that is missing.
func contains(have, min any, path string) (string, bool) {
	switch m := min.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return path, false
		}
		for k, v := range m {
			if k == "id" && path == str(m, "resourceType") || k == "meta" || k == "text" {
				continue // server-assigned or narrative
			}
			if p, ok := contains(h[k], v, path+"."+k); !ok {
				return p, false
			}
		}
		return "", true
	case []any:
		h, ok := have.([]any)
		if !ok {
			if have == nil {
				return path, false
			}
			h = []any{have}
		}
		for i, v := range m {
			found := false
			for _, x := range h {
				if _, ok := contains(x, v, path); ok {
					found = true
					break
				}
			}
			if !found {
				return fmt.Sprintf("%s[%d]", path, i), false
			}
		}
		return "", true
	}
	if have == nil {
		return path, false
	}
	if reflect.DeepEqual(have, min) || fmt.Sprint(have) == fmt.Sprint(min) {
		return "", true
	}
	return path, false
}

// jsonBody marshals a tree; nil gives nil.
func jsonBody(t map[string]any) []byte {
	if t == nil {
		return nil
	}
	b, _ := json.Marshal(t)
	return b
}
