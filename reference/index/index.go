// Package index is the bench's reference index (Babyconnect box C): a
// register of pointers with the IHE MHD FHIR R4 face. Publishers register
// what they published with ITI-65 Provide Document Bundle (a SubmissionSet
// List and a DocumentReference per client record, pointing to the client's
// Patient at the publisher's FHIR API); consumers find the pointers with
// ITI-67 Find Document References and follow them to the publisher.
// Replacements supersede, deletions withdraw. With a Defect it becomes a
// mutant: the same index with one seeded defect, which the bench must catch.
// docs/index.md says which MHD options it supports.
package index

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/reference/audit"
	"github.com/bcbench/bcbench/reference/rest"
	"github.com/bcbench/bcbench/token"
)

// Software is the name the reference index gives in its CapabilityStatement.
const Software = "bcbench reference index"

// Bounds of what one request may make the index hold or read.
const (
	maxBody    = 4 << 20 // one transaction or search form
	maxEntries = 1000    // entries in one transaction
)

// Options configure a reference index.
type Options struct {
	// Version is reported in the CapabilityStatement and at /bench/health.
	Version string
	// Defect, when set, names a seeded defect from Mutants.
	Defect string
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Trust, when set, is the authorization server whose tokens the index
	// accepts from consumers (docs/logging.md): a read without a valid
	// token is refused (401). Every read is logged (AuditEvent) either way;
	// with a token the log names its professional.
	Trust *token.Verifier
}

// Server is a reference index; it is an http.Handler serving /fhir and
// /bench (health and reset).
type Server struct {
	opts   Options
	store  *store
	defect *Mutant
	audit  *audit.Log
	mux    *http.ServeMux
	// lastLogged is when a search for a client's pointers (by BSN) was
	// last logged, for the mutant that logs them once a minute.
	onceMu     sync.Mutex
	lastLogged map[string]time.Time
}

// New returns a reference index, or an error when the defect is unknown.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	s := &Server{opts: opts, store: newStore(), audit: audit.NewLog("index-toegang"), mux: http.NewServeMux()}
	if opts.Defect != "" {
		m, ok := LookupMutant(opts.Defect)
		if !ok {
			return nil, fmt.Errorf("unknown index defect %q (known: %s)", opts.Defect, strings.Join(MutantNames(), ", "))
		}
		s.defect = &m
	}
	s.mux.HandleFunc("GET /bench/health", s.health)
	s.mux.HandleFunc("POST /bench/reset", s.reset)
	s.mux.HandleFunc("GET /fhir/metadata", s.metadata)
	s.mux.HandleFunc("POST /fhir", s.transaction)
	s.mux.HandleFunc("POST /fhir/{$}", s.transaction)
	s.mux.HandleFunc("POST /fhir/DocumentReference", s.create)
	s.mux.HandleFunc("GET /fhir/DocumentReference", s.search)
	s.mux.HandleFunc("POST /fhir/DocumentReference/_search", s.search)
	s.mux.HandleFunc("GET /fhir/DocumentReference/{id}", s.readDocument)
	s.mux.HandleFunc("DELETE /fhir/DocumentReference/{id}", s.delete)
	s.mux.HandleFunc("GET /fhir/List/{id}", s.readList)
	s.mux.HandleFunc("GET /fhir/retrieve/{id}", s.retrieve)
	s.mux.HandleFunc("GET /fhir/AuditEvent", s.searchAudit)
	s.mux.HandleFunc("GET /fhir/AuditEvent/{id}", s.readAudit)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	rest.JSON(w, http.StatusOK, "application/json", map[string]any{"status": "ok", "software": Software, "version": s.opts.Version})
}

func (s *Server) reset(w http.ResponseWriter, _ *http.Request) {
	s.store.reset()
	s.audit.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) metadata(w http.ResponseWriter, _ *http.Request) {
	rest.FHIR(w, http.StatusOK, capabilityStatement(s.opts.Version, s.opts.Now()))
}

// readBody reads a JSON request body of at most maxBody bytes; it answers
// the problem itself and returns false when the body is unusable.
func readBody(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/fhir+json" && mt != "application/json") {
			rest.Problem(w, http.StatusUnsupportedMediaType, "not-supported", fmt.Sprintf("reading request: content type %q is not supported; the index reads application/fhir+json", ct))
			return nil, false
		}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		rest.Problem(w, http.StatusBadRequest, "invalid", fmt.Sprintf("reading request: %v", err))
		return nil, false
	}
	if len(data) > maxBody {
		rest.Problem(w, http.StatusRequestEntityTooLarge, "too-costly", fmt.Sprintf("reading request: larger than %d bytes", maxBody))
		return nil, false
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		rest.Problem(w, http.StatusBadRequest, "structure", fmt.Sprintf("reading request: not a JSON object: %v", err))
		return nil, false
	}
	return v, true
}

func (s *Server) readDocument(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	a := audit.NewAccess(r, s.opts.Now())
	a.Type, a.ID = "DocumentReference", id
	w, done, ok := s.reading(w, r, a)
	if !ok {
		return
	}
	defer done()
	d, status := s.store.document(id)
	if bsn := subjectBSN(d); bsn != "" {
		a.BSNs = []string{bsn}
		if !s.defect.leaks(r) && !s.authorised(a, bsn) {
			refuse(w, a)
			return
		}
	}
	switch status {
	case http.StatusOK:
		rest.FHIR(w, http.StatusOK, s.served(d, rest.Base(r)))
	case http.StatusGone:
		rest.Problem(w, http.StatusGone, "deleted", fmt.Sprintf("DocumentReference/%s was withdrawn", id))
	default:
		rest.Problem(w, http.StatusNotFound, "not-found", fmt.Sprintf("DocumentReference/%s is not known", id))
	}
}

// readList answers the read of a SubmissionSet, which names the clients of
// the pointers it lists: refused when one of them is outside the reader's
// authorised view.
func (s *Server) readList(w http.ResponseWriter, r *http.Request) {
	s.readHeld(w, r, "List", func(id string) (any, []string, bool) {
		l, found := s.store.list(id)
		return l, s.store.listClients(l), found
	})
}

// readHeld answers the read of one resource the index holds besides its
// pointers (a SubmissionSet List, an AuditEvent), logged as a read: get
// returns it and the clients (BSNs) it is about, and a reader outside the
// authorised view of one of them is refused.
func (s *Server) readHeld(w http.ResponseWriter, r *http.Request, typ string, get func(id string) (any, []string, bool)) {
	a := audit.NewAccess(r, s.opts.Now())
	a.Type, a.ID = typ, r.PathValue("id")
	w, done, ok := s.reading(w, r, a)
	if !ok {
		return
	}
	defer done()
	res, clients, found := get(a.ID)
	if !found {
		rest.Problem(w, http.StatusNotFound, "not-found", fmt.Sprintf("%s/%s is not known", typ, a.ID))
		return
	}
	a.BSNs = clients
	if !s.admits(a)(clients) {
		refuse(w, a)
		return
	}
	rest.FHIR(w, http.StatusOK, res)
}

// delete withdraws a pointer: a publisher's answer to a deletion request or
// withdrawn consent. Deleting what is already gone is not an error (FHIR R4
// http.html#delete).
func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if s.defect == nil || !s.defect.keepDeleted {
		if !s.store.withdraw(id) {
			rest.Problem(w, http.StatusNotFound, "not-found", fmt.Sprintf("DocumentReference/%s is not known", id))
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// retrieve is where a mutant that rewrites pointers sends consumers: it
// redirects them to another host.
func (s *Server) retrieve(w http.ResponseWriter, r *http.Request) {
	a := audit.NewAccess(r, s.opts.Now())
	a.Type, a.ID = "retrieve", r.PathValue("id")
	w, done, ok := s.reading(w, r, a)
	if !ok {
		return
	}
	defer done()
	if s.defect == nil || !s.defect.redirect {
		rest.Problem(w, http.StatusNotFound, "not-found", "no document is held here: follow the pointer to the publisher")
		return
	}
	http.Redirect(w, r, "http://elders.invalid/fhir/Patient/"+r.PathValue("id"), http.StatusTemporaryRedirect)
}

// served is the pointer as the index serves it.
func (s *Server) served(d map[string]any, base string) map[string]any {
	if s.defect != nil && s.defect.redirect {
		d = pointAt(d, base)
	}
	return d
}

// pointAt is a copy of the pointer whose location is the index's own
// retrieve endpoint instead of the publisher.
func pointAt(d map[string]any, base string) map[string]any {
	d = truth.Clone(d)
	for _, c := range truth.Items(d["content"]) {
		if att, ok := asMap(c)["attachment"].(map[string]any); ok {
			att["url"] = base + "/retrieve/" + d["id"].(string)
		}
	}
	return d
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
