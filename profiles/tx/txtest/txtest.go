// Package txtest is a small FHIR terminology server on loopback for tests:
// it answers ValueSet/$validate-code and CodeSystem/$lookup (R4 Parameters
// in and out) from fixed data, and can misbehave on purpose (hang, answer
// garbage, fail with 500, redirect elsewhere).
package txtest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
)

// Mode is how the server behaves.
type Mode int

const (
	// Normal answers from the data.
	Normal Mode = iota
	// Hang never answers (until the client gives up or the server closes).
	Hang
	// Garbage answers 200 with a body that is not FHIR.
	Garbage
	// Fail answers 500 with an OperationOutcome.
	Fail
	// Redirect answers 302 to another server.
	Redirect
	// WrongResource answers 200 with a Patient instead of Parameters.
	WrongResource
	// Huge answers 200 with a Parameters resource of 4 MB.
	Huge
	// Drip sends the headers and the start of a body, then nothing more.
	Drip
)

// Member is one code the server knows in a value set.
type Member struct {
	ValueSet, System, Code string
	// Out marks a code that the server says is NOT in the value set.
	Out bool
}

// Data is what the server knows.
type Data struct {
	Members []Member
	// Codes are the codes $lookup knows: system → code → display.
	Codes map[string]map[string]string
}

// Server is a running test server.
type Server struct {
	srv      *httptest.Server
	mode     atomic.Int32
	requests atomic.Int64
	quit     chan struct{}
	once     sync.Once

	redirect atomic.Pointer[string]
	token    atomic.Pointer[string]

	members map[[3]string]bool
	sets    map[string]bool
	codes   map[string]map[string]string
}

// Start runs a server on 127.0.0.1 answering from data in the mode given.
func Start(data Data, mode Mode) *Server {
	s := &Server{quit: make(chan struct{}), members: map[[3]string]bool{}, sets: map[string]bool{}, codes: data.Codes}
	for _, m := range data.Members {
		s.members[[3]string{m.ValueSet, m.System, m.Code}] = !m.Out
		s.sets[m.ValueSet] = true
	}
	s.mode.Store(int32(mode))
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the server's FHIR base URL.
func (s *Server) URL() string { return s.srv.URL + "/fhir" }

// Requests is the number of requests the server received.
func (s *Server) Requests() int64 { return s.requests.Load() }

// SetMode changes how the server behaves from the next request on.
func (s *Server) SetMode(m Mode) { s.mode.Store(int32(m)) }

// RequireToken makes the server answer 401 to a request without
// "Authorization: Bearer token".
func (s *Server) RequireToken(token string) { s.token.Store(&token) }

// SetRedirect sets where Redirect mode sends the client.
func (s *Server) SetRedirect(base string) { s.redirect.Store(&base) }

// Close stops the server, releasing any request it holds.
func (s *Server) Close() {
	s.once.Do(func() { close(s.quit) })
	s.srv.CloseClientConnections()
	s.srv.Close()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	switch Mode(s.mode.Load()) {
	case Hang:
		select {
		case <-r.Context().Done():
		case <-s.quit:
		}
		return
	case Garbage:
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = io.WriteString(w, "<html>\x00\xff not FHIR {{{")
		return
	case Fail:
		outcome(w, http.StatusInternalServerError, "exception", "the terminology database is down")
		return
	case Redirect:
		to := "http://127.0.0.1:9/fhir"
		if p := s.redirect.Load(); p != nil {
			to = *p
		}
		http.Redirect(w, r, to+strings.TrimPrefix(r.URL.Path, "/fhir"), http.StatusFound)
		return
	case WrongResource:
		writeJSON(w, http.StatusOK, map[string]any{"resourceType": "Patient", "id": "x"})
		return
	case Huge:
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = io.WriteString(w, `{"resourceType":"Parameters","parameter":[{"name":"result","valueBoolean":true},{"name":"message","valueString":"`)
		chunk := strings.Repeat("x", 64<<10)
		for range 64 { // 4 MB
			if _, err := io.WriteString(w, chunk); err != nil {
				return // the client stopped reading
			}
		}
		_, _ = io.WriteString(w, `"}]}`)
		return
	case Drip:
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"resourceType":"Parameters","parameter":[`)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		select {
		case <-r.Context().Done():
		case <-s.quit:
		}
		return
	}
	if tok := s.token.Load(); tok != nil && r.Header.Get("Authorization") != "Bearer "+*tok {
		outcome(w, http.StatusUnauthorized, "login", "a bearer token is required")
		return
	}
	if r.Method != http.MethodPost {
		outcome(w, http.StatusMethodNotAllowed, "not-supported", "use POST with a Parameters resource")
		return
	}
	in, ok := readParameters(w, r)
	if !ok {
		return
	}
	switch r.URL.Path {
	case "/fhir/ValueSet/$validate-code":
		vs, system, code := in["url"], in["system"], in["code"]
		if v := in["valueSetVersion"]; v != "" {
			vs += "|" + v
		}
		if vs == "" || code == "" {
			outcome(w, http.StatusBadRequest, "required", "url and code are required")
			return
		}
		if !s.sets[vs] {
			writeJSON(w, http.StatusOK, parameters(false, "Unknown value set "+vs))
			return
		}
		if in, known := s.members[[3]string{vs, system, code}]; known && in {
			writeJSON(w, http.StatusOK, parameters(true, ""))
			return
		}
		writeJSON(w, http.StatusOK, parameters(false, "The code "+system+"#"+code+" is not in the value set "+vs))
	case "/fhir/CodeSystem/$lookup":
		d, ok := s.codes[in["system"]][in["code"]]
		if !ok {
			outcome(w, http.StatusNotFound, "not-found", "Unknown code "+in["system"]+"#"+in["code"])
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"resourceType": "Parameters", "parameter": []any{
			map[string]any{"name": "name", "valueString": in["system"]},
			map[string]any{"name": "display", "valueString": d},
		}})
	default:
		outcome(w, http.StatusNotFound, "not-supported", "unknown operation "+r.URL.Path)
	}
}

// readParameters reads a Parameters body into name → primitive value.
func readParameters(w http.ResponseWriter, r *http.Request) (map[string]string, bool) {
	var p struct {
		ResourceType string           `json:"resourceType"`
		Parameter    []map[string]any `json:"parameter"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&p); err != nil || p.ResourceType != "Parameters" {
		outcome(w, http.StatusBadRequest, "structure", "the body must be a Parameters resource")
		return nil, false
	}
	out := map[string]string{}
	for _, x := range p.Parameter {
		name, _ := x["name"].(string)
		for k, v := range x {
			if s, ok := v.(string); ok && strings.HasPrefix(k, "value") {
				out[name] = s
			}
		}
	}
	return out, true
}

func parameters(result bool, message string) map[string]any {
	ps := []any{map[string]any{"name": "result", "valueBoolean": result}}
	if message != "" {
		ps = append(ps, map[string]any{"name": "message", "valueString": message})
	}
	return map[string]any{"resourceType": "Parameters", "parameter": ps}
}

func outcome(w http.ResponseWriter, status int, code, text string) {
	writeJSON(w, status, map[string]any{"resourceType": "OperationOutcome", "issue": []any{
		map[string]any{"severity": "error", "code": code, "diagnostics": text},
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Absent returns the base URL of a loopback port where nothing listens (a
// server that is absent: connection refused).
func Absent() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "http://127.0.0.1:1/fhir"
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr + "/fhir"
}
