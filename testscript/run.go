package testscript

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bcbench/bcbench/profiles/fhirpath"
	"github.com/bcbench/bcbench/profiles/validator"
)

// Status is the result of one action, with the codes of TestReport.
type Status string

// The action results (TestReport action result codes).
const (
	Pass    Status = "pass"
	Fail    Status = "fail"
	Warning Status = "warning"
	Skip    Status = "skip"
	Error   Status = "error"
)

// DefaultRequestTimeout bounds one request when Options.Client is nil.
const DefaultRequestTimeout = 30 * time.Second

// Options configure a run.
type Options struct {
	// Server is the FHIR base URL of the system under test (or, for a
	// client-role script, of the server the client talks to).
	Server string
	// Client sends the requests; nil uses one with DefaultRequestTimeout
	// that follows no redirects.
	Client *http.Client
	// Variables override script variables by name (--variables).
	Variables map[string]string
	// Validators check validateProfileId asserts, by FHIR version (STU3,
	// R4); their FHIRPath models also type the expressions. Without one the
	// asserts of that kind are skipped.
	Validators map[string]*validator.Validator
	// Now is the date ${CURRENTDATE} and T stand for; zero is the clock.
	Now time.Time
	// StandIn plays the client of a client-role script (one whose origin
	// is the system under test): it returns the body the client sends for
	// an operation that names no sourceId. Nil: client-role scripts are
	// skipped, since no client under test is attached.
	StandIn func(s *Script, op *Operation) ([]byte, error)
}

// Outcome is the result of one action.
type Outcome struct {
	Test        string // test name, "setup" or "teardown"
	Kind        string // "operation" or "assert"
	Description string
	Status      Status
	Message     string
}

// Result is the outcome of one script.
type Result struct {
	Path   string
	Script *Script
	// Err is set when the script could not be run (not loadable, an
	// unknown operation, a bound reached): its remaining actions are not
	// judged.
	Err      error
	Outcomes []Outcome
	Started  time.Time
}

// Counts tallies the asserts of a result by status.
type Counts struct {
	Pass, Fail, Warning, Skip, Error int
}

// Total is the number of asserts counted.
func (c Counts) Total() int { return c.Pass + c.Fail + c.Warning + c.Skip + c.Error }

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Pass += o.Pass
	c.Fail += o.Fail
	c.Warning += o.Warning
	c.Skip += o.Skip
	c.Error += o.Error
}

// Asserts counts the asserts of the result, and as a failed one each
// operation the system's answer broke (answerError).
func (r *Result) Asserts() Counts {
	var c Counts
	for _, o := range r.Outcomes {
		if o.Kind != "assert" && (o.Kind != "operation" || o.Status != Fail) {
			continue
		}
		switch o.Status {
		case Pass:
			c.Pass++
		case Fail:
			c.Fail++
		case Warning:
			c.Warning++
		case Skip:
			c.Skip++
		default:
			c.Error++
		}
	}
	return c
}

// Failed reports whether any assert failed (a warning does not fail).
func (r *Result) Failed() bool { return r.Asserts().Fail > 0 }

// RunFile loads and runs one script; a script that cannot be loaded is a
// result with Err set.
func RunFile(ctx context.Context, path, fhirVersion string, opts Options) *Result {
	s, err := Load(path, fhirVersion)
	if err != nil {
		return &Result{Path: path, Err: err, Started: time.Now()}
	}
	return Run(ctx, s, opts)
}

// Run executes a script: setup, every test, teardown. It never panics on
// a hostile script; what cannot be run ends the script with Err set.
func Run(ctx context.Context, s *Script, opts Options) (res *Result) {
	r := newRun(ctx, s, opts)
	res = r.res
	defer func() {
		if p := recover(); p != nil {
			res.Err = fmt.Errorf("run %s: internal error: %v", s.Path, p)
		}
	}()
	if s.ClientRole && opts.StandIn == nil {
		r.skipAll("client-role script: the system under test is the client (the script's origin); no client is attached to play it")
		return res
	}
	if err := r.autocreate(); err != nil {
		res.Err = err
		r.skipFrom("setup", s.Setup, 0, "not run: "+err.Error())
		r.skipTests(0, "not run: "+err.Error())
		return res
	}
	if stop := r.actions("setup", s.Setup); stop != "" {
		r.skipTests(0, stop)
	} else {
		for i, t := range s.Tests {
			if res.Err != nil {
				r.skipTests(i, "not run: "+res.Err.Error())
				break
			}
			r.actions(t.Name, t.Actions)
		}
	}
	r.actions("teardown", s.Teardown)
	r.autodelete()
	return res
}

// run is the state of one script's execution.
type run struct {
	ctx    context.Context
	s      *Script
	o      Options
	res    *Result
	client *http.Client
	model  fhirpath.TypeResolver
	vx     *validator.Validator
	x      expander

	fixtures  map[string]map[string]any // loaded static fixtures and response bodies
	exchanges map[string]*exchange      // by responseId / requestId
	last      *exchange
	memo      map[string]string // values of variables computed once
	created   []string          // URLs of autocreated fixtures
	exprs     map[string]*fhirpath.Expression
}

// exchange is one request and its response.
type exchange struct {
	method, url string
	reqHeader   http.Header
	reqBody     []byte
	reqTree     map[string]any
	status      int
	respHeader  http.Header
	respTree    map[string]any
	respErr     string // the body could not be read as FHIR
}

var noRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

var defaultClient = sync.OnceValue(func() *http.Client {
	return &http.Client{Timeout: DefaultRequestTimeout, CheckRedirect: noRedirect}
})

func newRun(ctx context.Context, s *Script, o Options) *run {
	r := &run{
		ctx: ctx, s: s, o: o,
		res:       &Result{Path: s.Path, Script: s, Started: time.Now()},
		client:    o.Client,
		fixtures:  map[string]map[string]any{},
		exchanges: map[string]*exchange{},
		memo:      map[string]string{},
		exprs:     map[string]*fhirpath.Expression{},
	}
	if r.client == nil {
		r.client = defaultClient()
	}
	if v := o.Validators[s.FHIRVersion]; v != nil {
		r.vx = v
		if m := v.Model(); m != nil {
			r.model = m
		}
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	r.x = expander{now: now, lookup: r.variable}
	return r
}

func (r *run) record(test, kind, desc string, st Status, msg string) {
	r.res.Outcomes = append(r.res.Outcomes, Outcome{Test: test, Kind: kind, Description: desc, Status: st, Message: msg})
}

func (r *run) skipAll(reason string) {
	r.skipFrom("setup", r.s.Setup, 0, reason)
	r.skipTests(0, reason)
	r.skipFrom("teardown", r.s.Teardown, 0, reason)
}

func (r *run) skipTests(from int, reason string) {
	for _, t := range r.s.Tests[from:] {
		r.skipFrom(t.Name, t.Actions, 0, reason)
	}
}

func (r *run) skipFrom(test string, as []Action, from int, reason string) {
	for _, a := range as[from:] {
		if a.Operation != nil {
			r.record(test, "operation", opDescription(a.Operation), Skip, reason)
		} else {
			r.record(test, "assert", a.Assert.Description, Skip, reason)
		}
	}
}

func opDescription(op *Operation) string {
	if op.Description != "" {
		return op.Description
	}
	return strings.TrimSpace(op.Type + " " + op.Resource)
}

// actions runs a list of actions; it returns why the rest was stopped,
// or "".
func (r *run) actions(test string, as []Action) string {
	for i, a := range as {
		if err := r.ctx.Err(); err != nil {
			r.res.Err = fmt.Errorf("run %s: %w", r.s.Path, err)
			r.skipFrom(test, as, i, "not run: "+err.Error())
			return err.Error()
		}
		if a.Operation != nil {
			ex, err := r.operation(a.Operation)
			if err != nil {
				st := Error // the bench's or the setup's: not judged
				if isAnswerError(err) {
					st = Fail // the system's answer broke the script
				}
				r.record(test, "operation", opDescription(a.Operation), st, err.Error())
				if isScriptError(err) {
					r.res.Err = fmt.Errorf("run %s: %w", r.s.Path, err)
				}
				reason := "not run: operation failed: " + err.Error()
				r.skipFrom(test, as, i+1, reason)
				return reason
			}
			r.record(test, "operation", opDescription(a.Operation), Pass, ex.method+" "+ex.url+" → "+fmt.Sprint(ex.status))
			continue
		}
		st, msg := r.assert(a.Assert)
		if st == Fail && a.Assert.WarningOnly {
			st = Warning
		}
		r.record(test, "assert", a.Assert.Description, st, msg)
		if st == Fail && a.Assert.StopTestOnFail {
			reason := "not run: an assert with stopTestOnFail failed: " + a.Assert.Description
			r.skipFrom(test, as, i+1, reason)
			return reason
		}
	}
	return ""
}

// answerError is a defect of the system under test's answer that stops the
// script: it answered more than the engine reads, or an answer a later
// operation targets holds no resource with an id (garbage, or a created
// resource without its id). The operation fails, as an assert would.
type answerError struct{ error }

func isAnswerError(err error) bool {
	var ae answerError
	return errors.As(err, &ae)
}

// scriptError is a defect of the script (not of the system under test):
// the whole script ends.
type scriptError struct{ error }

func isScriptError(err error) bool {
	var se scriptError
	return errors.As(err, &se) || errors.Is(err, errExpand)
}

// variable returns the raw value of a script variable.
func (r *run) variable(name string, depth int) (string, bool, error) {
	if v, ok := r.o.Variables[name]; ok {
		val, err := r.x.expandDepth(v, depth)
		return val, err == nil, err
	}
	if v, ok := r.memo[name]; ok {
		return v, true, nil
	}
	for _, v := range r.s.Variables {
		if v.Name != name {
			continue
		}
		if v.Expression != "" || v.HeaderField != "" || v.Path != "" {
			val, ok, err := r.derived(v)
			if err != nil {
				return "", false, err
			}
			if ok {
				val, err := r.x.expandDepth(val, depth)
				return val, err == nil, err
			}
		}
		if v.DefaultValue != "" {
			// A default is fixed for the run: ${UUID} in it is one value.
			val, err := r.x.expandDepth(v.DefaultValue, depth)
			if err != nil {
				return "", false, err
			}
			r.memo[name] = val
			return val, true, nil
		}
		return "", false, fmt.Errorf("variable %q has no value: its source %q gave nothing and it has no defaultValue", name, v.SourceID)
	}
	return "", false, nil
}

// derived evaluates a variable's expression or header on its source.
func (r *run) derived(v Variable) (string, bool, error) {
	if v.Path != "" && v.Expression == "" && v.HeaderField == "" {
		return "", false, scriptError{fmt.Errorf("variable %q uses path (XPath/JSONPath), which bcbench does not evaluate; use expression", v.Name)}
	}
	if v.HeaderField != "" {
		ex := r.last
		if v.SourceID != "" {
			ex = r.exchanges[v.SourceID]
		}
		if ex == nil || ex.respHeader == nil {
			return "", false, nil
		}
		h := ex.respHeader.Get(v.HeaderField)
		return h, h != "", nil
	}
	var src map[string]any
	if v.SourceID != "" {
		t, err := r.fixture(v.SourceID)
		if err != nil {
			if errors.Is(err, errNoFixture) {
				return "", false, nil // not produced yet
			}
			return "", false, err
		}
		src = t
	} else if r.last != nil {
		src = r.last.respTree
	}
	if src == nil {
		return "", false, nil
	}
	c, err := r.eval(v.Expression, src)
	if err != nil {
		return "", false, scriptError{fmt.Errorf("variable %q: %w", v.Name, err)}
	}
	if len(c) == 0 {
		return "", false, nil
	}
	return text(c), true, nil
}

var errNoFixture = errors.New("no such fixture")

// fixture returns a fixture's resource: a response or request recorded
// under its id, or a static fixture read from its file (with ${…}
// expanded, as Touchstone does before it sends one).
func (r *run) fixture(id string) (map[string]any, error) {
	if t, ok := r.fixtures[id]; ok {
		return t, nil
	}
	f, ok := r.s.Fixtures[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", errNoFixture, id)
	}
	data, err := r.fixtureBytes(f)
	if err != nil {
		return nil, err
	}
	t, err := decodeResource(data, r.s.FHIRVersion)
	if err != nil {
		return nil, scriptError{fmt.Errorf("fixture %q (%s): %w", id, f.Reference, err)}
	}
	r.fixtures[id] = t
	return t, nil
}

func (r *run) fixtureBytes(f *Fixture) ([]byte, error) {
	if f.Path == "" {
		return nil, scriptError{fmt.Errorf("fixture %q: reference %q is not a file beside the script", f.ID, f.Reference)}
	}
	data, err := readBounded(f.Path, MaxFixture)
	if err != nil {
		return nil, scriptError{fmt.Errorf("fixture %q: %w", f.ID, err)}
	}
	s, err := r.x.expand(string(data))
	if err != nil {
		return nil, fmt.Errorf("fixture %q: %w", f.ID, err)
	}
	return []byte(s), nil
}

// eval evaluates FHIRPath on a resource.
func (r *run) eval(expr string, focus map[string]any) (fhirpath.Collection, error) {
	e, ok := r.exprs[expr]
	if !ok {
		var err error
		if e, err = fhirpath.Compile(r.typeNames(expr)); err != nil {
			return nil, fmt.Errorf("expression %q: %w", expr, err)
		}
		r.exprs[expr] = e
	}
	env := &fhirpath.Env{Types: r.model, Now: r.x.now, Ctx: r.ctx}
	c, err := e.Evaluate(focus, env)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", expr, err)
	}
	return c, nil
}

// typeArg matches a type name given to is(), as() or ofType().
var typeArg = regexp.MustCompile(`\b(is|as|ofType)\(\s*([a-z][A-Za-z0-9]*)\s*\)`)

// typeNames writes type names in is(), as() and ofType() that the model
// knows only with a capital (is(coding)) with it (is(Coding)): Touchstone's
// FHIRPath engine (HL7's Java one) compares type names without regard to
// case, and the Nictiz scripts rely on it.
func (r *run) typeNames(expr string) string {
	m, ok := r.model.(*fhirpath.Model)
	if !ok || m == nil || !strings.Contains(expr, "(") {
		return expr
	}
	return typeArg.ReplaceAllStringFunc(expr, func(call string) string {
		sub := typeArg.FindStringSubmatch(call)
		name := sub[2]
		upper := strings.ToUpper(name[:1]) + name[1:]
		if m.Knows(name) || !m.Knows(upper) {
			return call
		}
		return sub[1] + "(" + upper + ")"
	})
}

// autocreate creates the fixtures marked autocreate.
func (r *run) autocreate() error {
	for _, f := range r.s.Fixtures {
		if !f.Autocreate {
			continue
		}
		t, err := r.fixture(f.ID)
		if err != nil {
			return err
		}
		typ, id := str(t, "resourceType"), str(t, "id")
		method, u := http.MethodPost, r.base()+"/"+typ
		if id != "" {
			method, u = http.MethodPut, u+"/"+url.PathEscape(id)
		}
		ex, err := r.send(method, u, jsonBody(t), nil, "json", "json")
		if err != nil {
			return fmt.Errorf("autocreate fixture %q: %w", f.ID, err)
		}
		if ex.status >= 300 {
			return fmt.Errorf("autocreate fixture %q: %s %s answered %d", f.ID, method, u, ex.status)
		}
		if f.Autodelete {
			if id == "" {
				id = str(ex.respTree, "id")
			}
			if id != "" {
				r.created = append(r.created, r.base()+"/"+typ+"/"+url.PathEscape(id))
			}
		}
	}
	return nil
}

func (r *run) autodelete() {
	for _, u := range r.created {
		ex, err := r.send(http.MethodDelete, u, nil, nil, "json", "")
		msg := ""
		st := Pass
		switch {
		case err != nil:
			st, msg = Error, err.Error()
		case ex.status >= 300 && ex.status != 404:
			st, msg = Error, fmt.Sprintf("DELETE %s answered %d", u, ex.status)
		}
		r.record("teardown", "operation", "autodelete "+u, st, msg)
	}
}

func (r *run) base() string { return strings.TrimRight(r.o.Server, "/") }

// send performs one request and reads the answer (bounded).
func (r *run) send(method, u string, body []byte, headers []Header, accept, contentType string) (*exchange, error) {
	req, err := http.NewRequestWithContext(r.ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, scriptError{fmt.Errorf("build request %s %s: %w", method, u, err)}
	}
	if body == nil {
		req.Body = http.NoBody
	}
	if accept != "" {
		req.Header.Set("Accept", mime(accept))
	}
	if body != nil && contentType != "" {
		req.Header.Set("Content-Type", mime(contentType))
	}
	for _, h := range headers {
		req.Header.Set(h.Field, h.Value)
	}
	ex := &exchange{method: method, url: u, reqHeader: req.Header.Clone(), reqBody: body}
	if len(body) > 0 {
		ex.reqTree, _ = decodeResource(body, r.s.FHIRVersion)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read the answer: %w", method, u, err)
	}
	if len(data) > MaxResponse {
		return nil, answerError{fmt.Errorf("%s %s: the answer is more than %d bytes", method, u, MaxResponse)}
	}
	ex.status, ex.respHeader = resp.StatusCode, resp.Header
	if len(bytes.TrimSpace(data)) > 0 {
		if t, err := decodeResource(data, r.s.FHIRVersion); err == nil {
			ex.respTree = t
		} else {
			ex.respErr = err.Error()
		}
	}
	return ex, nil
}

// mime maps the TestScript format codes to FHIR media types.
func mime(code string) string {
	switch strings.ToLower(code) {
	case "json":
		return "application/fhir+json"
	case "xml":
		return "application/fhir+xml"
	case "ttl":
		return "text/turtle"
	case "none":
		return ""
	}
	return code
}

// operation performs one operation of the script.
func (r *run) operation(op *Operation) (*exchange, error) {
	var body []byte
	var source map[string]any
	if op.SourceID != "" {
		t, err := r.fixture(op.SourceID)
		if err != nil {
			return nil, scriptError{err}
		}
		source = t
		body = jsonBody(t) // the tree asserts see, so one ${UUID} in it is one value
	}
	method, path, needsBody, err := r.route(op, source)
	if err != nil {
		return nil, err
	}
	if needsBody && body == nil {
		if !r.s.ClientRole {
			return nil, scriptError{fmt.Errorf("operation %s has no sourceId to send", op.Type)}
		}
		if body, err = r.o.StandIn(r.s, op); err != nil {
			return nil, fmt.Errorf("the stand-in client has nothing to send for %s: %w", op.Type, err)
		}
	}
	if op.Method != "" {
		method = strings.ToUpper(op.Method)
	}
	headers := make([]Header, 0, len(op.Headers))
	for _, h := range op.Headers {
		v, err := r.x.expand(h.Value)
		if err != nil {
			return nil, scriptError{fmt.Errorf("request header %s: %w", h.Field, err)}
		}
		headers = append(headers, Header{Field: h.Field, Value: v})
	}
	accept, ctype := op.Accept, op.ContentType
	if accept == "" {
		accept = "json"
	}
	if ctype == "" {
		ctype = "json"
	}
	if strings.Contains(strings.ToLower(ctype), "xml") && body != nil && !bytes.HasPrefix(bytes.TrimSpace(body), []byte("<")) {
		return nil, scriptError{fmt.Errorf("operation %s asks for an XML body (contentType %s); bcbench sends FHIR JSON only", op.Type, op.ContentType)}
	}
	ex, err := r.send(method, path, body, headers, accept, ctype)
	if err != nil {
		return nil, err
	}
	r.last = ex
	if op.ResponseID != "" {
		r.exchanges[op.ResponseID] = ex
		r.fixtures[op.ResponseID] = ex.respTree
	}
	if op.RequestID != "" {
		r.exchanges[op.RequestID] = ex
		r.fixtures[op.RequestID] = ex.reqTree
	}
	return ex, nil
}

// fhirID is a FHIR id's form.
var fhirID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// located reads the type and id of the resource an answer's Location
// header names ([base/]Type/id[/_history/version]); "" for none.
func located(h http.Header) (typ, id string) {
	loc, _, _ := strings.Cut(h.Get("Location"), "?")
	parts := strings.Split(strings.TrimRight(loc, "/"), "/")
	if i := slices.Index(parts, "_history"); i >= 0 {
		parts = parts[:i]
	}
	if len(parts) < 2 {
		return "", ""
	}
	typ, id = parts[len(parts)-2], parts[len(parts)-1]
	if !fhirID.MatchString(id) || typ == "" || typ[0] < 'A' || typ[0] > 'Z' {
		return "", ""
	}
	return typ, id
}

// route gives the method and URL of an operation.
func (r *run) route(op *Operation, source map[string]any) (method, u string, body bool, err error) {
	typ := op.Resource
	if typ == "" && source != nil {
		typ = str(source, "resourceType")
	}
	if typ == "" && op.TargetID != "" {
		if t, err := r.fixture(op.TargetID); err == nil {
			typ = str(t, "resourceType")
		}
		if ex := r.exchanges[op.TargetID]; typ == "" && ex != nil {
			typ, _ = located(ex.respHeader)
		}
	}
	params, err := r.x.expand(op.Params)
	if err != nil {
		return "", "", false, scriptError{fmt.Errorf("params: %w", err)}
	}
	if op.EncodeRequestURL {
		params = encodeParams(params)
	}
	targetID := func() (string, error) {
		if op.TargetID == "" {
			if source != nil && str(source, "id") != "" {
				return str(source, "id"), nil
			}
			return "", scriptError{fmt.Errorf("operation %s names no targetId", op.Type)}
		}
		t, err := r.fixture(op.TargetID)
		if err != nil {
			return "", scriptError{err}
		}
		id := str(t, "id")
		if id == "" {
			if ex, answered := r.exchanges[op.TargetID]; answered {
				// a create may answer with an empty body and the new
				// resource's Location only
				if _, id = located(ex.respHeader); id != "" {
					return id, nil
				}
				return "", answerError{fmt.Errorf("target %q has no id: the answer it holds is no resource with an id, nor a Location with one", op.TargetID)}
			}
			return "", scriptError{fmt.Errorf("target %q has no id", op.TargetID)}
		}
		return id, nil
	}
	base := r.base()
	if op.URL != "" {
		full, err := r.x.expand(op.URL)
		if err != nil {
			return "", "", false, scriptError{fmt.Errorf("url: %w", err)}
		}
		if !strings.Contains(full, "://") {
			full = base + "/" + strings.TrimLeft(full, "/")
		}
		m := map[string]string{"create": "POST", "update": "PUT", "delete": "DELETE", "transaction": "POST", "batch": "POST"}[op.Type]
		if m == "" {
			m = http.MethodGet
		}
		return m, full, m == "POST" || m == "PUT", nil
	}
	typed := base + "/" + typ
	withParams := func(u string) string {
		if params == "" {
			return u
		}
		if strings.HasPrefix(params, "?") || strings.HasPrefix(params, "/") {
			return u + params
		}
		return u + "?" + params
	}
	switch op.Type {
	case "read", "vread":
		if params != "" {
			return http.MethodGet, withParams(typed), false, nil
		}
		id, err := targetID()
		if err != nil {
			return "", "", false, err
		}
		return http.MethodGet, typed + "/" + url.PathEscape(id), false, nil
	case "search", "search-type":
		if typ == "" {
			return http.MethodGet, withParams(base), false, nil
		}
		return http.MethodGet, withParams(typed), false, nil
	case "create":
		return http.MethodPost, withParams(typed), true, nil
	case "update", "updateCreate":
		if params != "" {
			return http.MethodPut, withParams(typed), true, nil
		}
		id, err := targetID()
		if err != nil {
			return "", "", false, err
		}
		return http.MethodPut, typed + "/" + url.PathEscape(id), true, nil
	case "delete", "deleteCondSingle", "deleteCondMultiple":
		if params != "" {
			return http.MethodDelete, withParams(typed), false, nil
		}
		id, err := targetID()
		if err != nil {
			return "", "", false, err
		}
		return http.MethodDelete, typed + "/" + url.PathEscape(id), false, nil
	case "transaction", "batch":
		return http.MethodPost, withParams(base), true, nil
	case "history":
		if op.TargetID != "" {
			id, err := targetID()
			if err != nil {
				return "", "", false, err
			}
			return http.MethodGet, typed + "/" + url.PathEscape(id) + "/_history", false, nil
		}
		return http.MethodGet, withParams(typed + "/_history"), false, nil
	case "capabilities":
		return http.MethodGet, base + "/metadata", false, nil
	case "":
		return "", "", false, scriptError{errors.New("an operation has no type")}
	}
	return "", "", false, scriptError{fmt.Errorf("unknown operation %q", op.Type)}
}

// encodeParams percent-encodes the values of a query string, as
// TestScript's encodeRequestUrl asks.
func encodeParams(params string) string {
	prefix := ""
	q := params
	if i := strings.IndexByte(params, '?'); i >= 0 {
		prefix, q = params[:i+1], params[i+1:]
	} else if !strings.Contains(params, "=") {
		return params
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		name, value, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		if dec, err := url.QueryUnescape(value); err == nil {
			value = dec
		}
		parts[i] = name + "=" + url.QueryEscape(value)
	}
	return prefix + strings.Join(parts, "&")
}
