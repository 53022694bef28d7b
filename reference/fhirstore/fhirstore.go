// Package fhirstore is a generic in-memory FHIR server (STU3 or R4) for the
// bench's references: read, search (the search parameters of the loaded
// packages, evaluated by FHIRPath, with chains, _include and
// _include:iterate, and MP9's period-of-use), create, update, delete and
// transaction. It is what the reference XIS serves when it is loaded with
// resources (xis.Options.Resources, `reference serve --fixtures`), such as
// the `_reference` fixtures Nictiz's MP9 3.0 TestScripts run against.
//
// With Options.Tokens set it answers only requests with a known bearer
// token, and only with the data of that token's patient (her compartment:
// her Patient resource and every resource that refers to it, plus what a
// search includes), as a MedMij DVZA does with a PGO's token.
package fhirstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/bcbench/bcbench/profiles/fhirpath"
	"github.com/bcbench/bcbench/profiles/registry"
	"github.com/bcbench/bcbench/profiles/validator"
)

// Bounds of what the server accepts and does.
const (
	// MaxBody is the largest request body read.
	MaxBody = 16 << 20
	// MaxFile is the largest file LoadDir reads.
	MaxFile = 16 << 20
	// maxIterate bounds _include:iterate rounds.
	maxIterate = 8
	// maxEntries bounds a transaction.
	maxEntries = 10000
)

// Options configure a Server.
type Options struct {
	// FHIRVersion is "3.0.2" (STU3) or "4.0.1" (R4).
	FHIRVersion string
	// Registry holds the SearchParameters (the core package of the version
	// and profile packages such as MP9's).
	Registry *registry.Registry
	// Model types FHIRPath evaluation (from validator.Model); nil infers
	// types from the JSON shape.
	Model *fhirpath.Model
	// Tokens maps a bearer token to the id of the Patient it gives access
	// to. Empty: no authorization is asked and all data is visible.
	Tokens map[string]string
	// Prefix is the path the server is mounted under ("/fhir" behind the
	// reference XIS): it is taken off request paths and is part of the
	// base in fullUrl. Empty: the server is the root.
	Prefix string
}

// Server is the in-memory FHIR server. It is safe for concurrent use.
type Server struct {
	opts   Options
	params map[string]map[string]searchParam // resource type → code → definition
	exprs  sync.Map                          // expression → *fhirpath.Expression

	mu    sync.RWMutex
	store map[string]map[string]map[string]any // type → id → resource
	seq   int
}

// searchParam is what the server needs of a SearchParameter.
type searchParam struct {
	code, typ, expression string
	targets               []string
}

// New returns an empty server.
func New(opts Options) (*Server, error) {
	if opts.Registry == nil {
		return nil, errors.New("new fhir store: no registry with SearchParameters")
	}
	s := &Server{opts: opts, params: map[string]map[string]searchParam{}, store: map[string]map[string]map[string]any{}}
	for _, e := range opts.Registry.Entries() {
		if e.ResourceType != "SearchParameter" {
			continue
		}
		t, err := e.Tree()
		if err != nil {
			continue
		}
		p := searchParam{code: str(t, "code"), typ: str(t, "type"), expression: str(t, "expression")}
		for _, tg := range strs(t, "target") {
			p.targets = append(p.targets, tg)
		}
		for _, base := range strs(t, "base") {
			if s.params[base] == nil {
				s.params[base] = map[string]searchParam{}
			}
			if _, dup := s.params[base][p.code]; !dup || !strings.HasPrefix(e.URL, "http://hl7.org/") {
				s.params[base][p.code] = p
			}
		}
	}
	if len(s.params) == 0 {
		return nil, errors.New("new fhir store: the registry holds no SearchParameters")
	}
	return s, nil
}

// Clone returns a server with the same definitions and a copy of the data,
// so that a test that writes does not change what the next one reads.
func (s *Server) Clone() *Server {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := &Server{opts: s.opts, params: s.params, store: map[string]map[string]map[string]any{}, seq: s.seq}
	for t, m := range s.store {
		c.store[t] = maps.Clone(m)
	}
	return c
}

// Add stores a resource under its type and id (an id is assigned when it
// has none).
func (s *Server) Add(res map[string]any) (string, error) {
	typ := str(res, "resourceType")
	if typ == "" {
		return "", errors.New("add resource: no resourceType")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := str(res, "id")
	if id == "" {
		id = s.nextID()
		res["id"] = id
	}
	if s.store[typ] == nil {
		s.store[typ] = map[string]map[string]any{}
	}
	s.store[typ][id] = res
	return id, nil
}

func (s *Server) nextID() string {
	s.seq++
	return fmt.Sprintf("bcbench-%d", s.seq)
}

// Len returns the number of stored resources.
func (s *Server) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, m := range s.store {
		n += len(m)
	}
	return n
}

// LoadDir adds every resource in the .xml and .json files below dir (see
// ReadDir) and returns how many.
func (s *Server) LoadDir(dir string, fill func([]byte) []byte) (int, error) {
	resources, err := ReadDir(dir, s.opts.FHIRVersion, fill)
	if err != nil {
		return 0, err
	}
	for _, res := range resources {
		if _, err := s.Add(res); err != nil {
			return 0, fmt.Errorf("load %s: %w", dir, err)
		}
	}
	return len(resources), nil
}

// ReadDir reads every resource in the .xml and .json files below dir (at
// most MaxFile bytes each) in FHIR version version. fill, when not nil,
// rewrites each file first (Touchstone placeholders such as
// ${DATE, T, D, -146}). Bundles are left out: in the Nictiz reference
// folders they are the requests and expected answers of the scripts, and
// their resources are there as files of their own.
func ReadDir(dir, version string, fill func([]byte) []byte) ([]map[string]any, error) {
	var out []map[string]any
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		ext := strings.ToLower(filepath.Ext(path))
		if d.IsDir() || (ext != ".xml" && ext != ".json") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > MaxFile {
			return fmt.Errorf("load %s: %d bytes, more than %d", path, info.Size(), MaxFile)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("load %s: %w", path, err)
		}
		if fill != nil {
			data = fill(data)
		}
		res, err := decode(data, version)
		if err != nil {
			return fmt.Errorf("load %s: %w", path, err)
		}
		if str(res, "resourceType") != "Bundle" {
			out = append(out, res)
		}
		return nil
	})
	return out, err
}

// decode reads FHIR JSON or XML, bounded in size and depth.
func decode(data []byte, version string) (map[string]any, error) {
	return validator.DecodeVersion(data, version)
}

// Types returns the resource types the server holds, sorted.
func (s *Server) Types() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for t, m := range s.store {
		if len(m) > 0 {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// Prefix is the path the server is mounted under ("" at the root).
func (s *Server) Prefix() string { return s.opts.Prefix }

// Get returns a stored resource (not a copy: the caller must not change it).
func (s *Server) Get(typ, id string) (map[string]any, bool) { return s.get(typ, id) }

// get returns a stored resource.
func (s *Server) get(typ, id string) (map[string]any, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.store[typ][id]
	return r, ok
}

// ServeHTTP implements the FHIR REST API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	patient, ok := s.authorize(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fhir"`)
		writeOutcome(w, http.StatusUnauthorized, "security", "a valid bearer token is required")
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, s.opts.Prefix)
	if !ok {
		writeOutcome(w, http.StatusNotFound, "not-found", r.URL.Path+" is not under "+s.opts.Prefix)
		return
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) == 1 && parts[0] == "" {
		parts = nil
	}
	switch {
	case len(parts) == 0 && r.Method == http.MethodPost:
		s.transaction(w, r, patient)
	case len(parts) == 1 && parts[0] == "metadata" && r.Method == http.MethodGet:
		s.metadata(w)
	case len(parts) == 1 && r.Method == http.MethodGet:
		s.search(w, r, parts[0], r.URL.Query(), patient)
	case len(parts) == 2 && parts[1] == "_search" && r.Method == http.MethodPost:
		if err := r.ParseForm(); err != nil {
			writeOutcome(w, http.StatusBadRequest, "invalid", "read the form: "+err.Error())
			return
		}
		s.search(w, r, parts[0], r.Form, patient)
	case len(parts) == 1 && r.Method == http.MethodPost:
		s.write(w, r, parts[0], "", patient)
	case len(parts) == 2 && r.Method == http.MethodGet:
		s.read(w, parts[0], parts[1], patient)
	case len(parts) == 2 && r.Method == http.MethodPut:
		s.write(w, r, parts[0], parts[1], patient)
	case len(parts) == 2 && r.Method == http.MethodDelete:
		s.delete(w, parts[0], parts[1], patient)
	default:
		writeOutcome(w, http.StatusNotFound, "not-supported", fmt.Sprintf("%s %s is not supported", r.Method, r.URL.Path))
	}
}

// authorize returns the patient of the request's token ("" when no
// tokens are configured).
func (s *Server) authorize(r *http.Request) (string, bool) {
	if len(s.opts.Tokens) == 0 {
		return "", true
	}
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return "", false
	}
	p, ok := s.opts.Tokens[strings.TrimSpace(tok)]
	return p, ok
}

// visible reports whether a resource is the patient's: her Patient, a
// resource that refers to her, or one that belongs to her episode of care
// or encounter (the child's Apgar score in her pregnancy's EpisodeOfCare is
// on her Integrale Zwangerschapskaart, though its subject is the child).
func (s *Server) visible(res map[string]any, patient string) bool {
	return s.visibleDepth(res, patient, 0)
}

func (s *Server) visibleDepth(res map[string]any, patient string, depth int) bool {
	if patient == "" {
		return true
	}
	if str(res, "resourceType") == "Patient" {
		return str(res, "id") == patient
	}
	want := "Patient/" + patient
	found := false
	walkReferences(res, func(ref string) bool {
		if ref == want || strings.HasSuffix(ref, "/"+want) {
			found = true
			return false
		}
		if depth < 2 && (strings.Contains(ref, "EpisodeOfCare/") || strings.Contains(ref, "Encounter/")) {
			if owner, ok := s.resolve(ref, ""); ok && s.visibleDepth(owner, patient, depth+1) {
				found = true
				return false
			}
		}
		return true
	})
	return found
}

// walkReferences calls fn with every Reference.reference in a tree until
// fn returns false.
func walkReferences(node any, fn func(string) bool) bool {
	switch n := node.(type) {
	case map[string]any:
		if ref, ok := n["reference"].(string); ok {
			if !fn(ref) {
				return false
			}
		}
		for k, v := range n {
			if k == "contained" {
				continue
			}
			if !walkReferences(v, fn) {
				return false
			}
		}
	case []any:
		for _, v := range n {
			if !walkReferences(v, fn) {
				return false
			}
		}
	}
	return true
}

func (s *Server) read(w http.ResponseWriter, typ, id, patient string) {
	res, ok := s.get(typ, id)
	if !ok || !s.visible(res, patient) {
		writeOutcome(w, http.StatusNotFound, "not-found", typ+"/"+id+" is not known")
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) delete(w http.ResponseWriter, typ, id, patient string) {
	res, ok := s.get(typ, id)
	if ok && !s.visible(res, patient) {
		writeOutcome(w, http.StatusForbidden, "forbidden", "not this patient's data")
		return
	}
	s.mu.Lock()
	delete(s.store[typ], id)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, typ, id, patient string) {
	res, err := readBody(r)
	if err != nil {
		writeOutcome(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	if got := str(res, "resourceType"); got != typ {
		writeOutcome(w, http.StatusBadRequest, "invalid", fmt.Sprintf("the body is a %q, the URL names %s", got, typ))
		return
	}
	if patient != "" && !s.visible(res, patient) {
		writeOutcome(w, http.StatusForbidden, "forbidden", "not this patient's data")
		return
	}
	status := http.StatusCreated
	if id == "" {
		delete(res, "id")
	} else {
		if str(res, "id") != id {
			writeOutcome(w, http.StatusBadRequest, "invalid", "the id in the body differs from the URL")
			return
		}
		if _, exists := s.get(typ, id); exists {
			status = http.StatusOK
		}
	}
	id, _ = s.Add(res)
	w.Header().Set("Location", typ+"/"+id)
	writeJSON(w, status, res)
}

func readBody(r *http.Request) (map[string]any, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read the body: %w", err)
	}
	if len(data) > MaxBody {
		return nil, fmt.Errorf("the body is more than %d bytes", MaxBody)
	}
	return decode(data, "")
}

func (s *Server) metadata(w http.ResponseWriter) {
	var types []string
	for t := range s.params {
		if t != "Resource" && t != "DomainResource" {
			types = append(types, t)
		}
	}
	sort.Strings(types)
	var rest []any
	for _, t := range types {
		rest = append(rest, map[string]any{"type": t, "interaction": []any{
			map[string]any{"code": "read"}, map[string]any{"code": "search-type"},
			map[string]any{"code": "create"}, map[string]any{"code": "update"}, map[string]any{"code": "delete"},
		}})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
		"fhirVersion": s.opts.FHIRVersion, "format": []any{"json", "xml"},
		"software": map[string]any{"name": "bcbench reference FHIR store"},
		"rest":     []any{map[string]any{"mode": "server", "resource": rest, "interaction": []any{map[string]any{"code": "transaction"}}}},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeOutcome(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{
		"resourceType": "OperationOutcome",
		"issue":        []any{map[string]any{"severity": "error", "code": code, "diagnostics": msg}},
	})
}

func str(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	return ""
}

func strs(m map[string]any, key string) []string {
	switch v := m[key].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
