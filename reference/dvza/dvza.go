// Package dvza is the bench's reference DVZA (dienstverlener zorgaanbieder,
// MedMij): the care provider's data service a client's app (PGO) collects
// her birth-care data from. It is an OAuth 2.0 authorization server
// (authorization code with PKCE; the client authenticated at a test
// identity provider the bench runs in place of DigiD) and a FHIR STU3
// resource server answering the MedMij Geboortezorg searches (the
// Integrale Zwangerschapskaart, bc-* profiles) with the client's data only,
// derived from the scenarios' STU3 ground truth. Scenario events arrive
// through the bench's adapter contract (/bench). With a Defect it becomes a
// mutant with one seeded defect. docs/medmij.md describes the contract.
package dvza

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/reference/rest"
)

// Software is the name the reference DVZA gives in its CapabilityStatement.
const Software = "bcbench reference DVZA"

// IdPEnv names the environment variable that tells a reference DVZA started
// by the bench where the bench's test identity provider is.
const IdPEnv = "BCBENCH_IDP_URL"

// The bench's PGO as the reference's test OAuth client list (OCL) admits it.
const (
	TestClientID    = "pgo.bcbench.test"
	TestRedirectURI = "https://pgo.bcbench.test/oauth/callback"
)

// Bounds.
const (
	maxEvent     = 1 << 20
	maxClients   = 20000
	maxPerClient = 5000
	maxSessions  = 10000
	maxLog       = 200000
)

// TokenLifetime is how long an access token is valid (MedMij: one login
// lasts 15 minutes).
const TokenLifetime = 15 * time.Minute

// Options configure a reference DVZA.
type Options struct {
	// Version is reported in the CapabilityStatement and at /bench/health.
	Version string
	// Defect, when set, names a seeded defect from Mutants.
	Defect string
	// IdP is the issuer URL of the test identity provider clients log in at.
	IdP string
	// Clients is the OAuth client list: client id → redirect URIs; the
	// bench's test PGO when nil.
	Clients map[string][]string
	// Tokens are fixed bearer tokens per client BSN (as Nictiz's
	// qualification scripts use them), valid until reset.
	Tokens map[string]string
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// HTTP is the client the DVZA reaches the identity provider with; one
	// with a 10-second timeout when nil.
	HTTP *http.Client
}

// Server is a reference DVZA; it is an http.Handler serving /fhir, /oauth
// and /bench.
type Server struct {
	opts   Options
	defect *Mutant
	lost   atomic.Bool // loseOne has dropped its resource
	mux    *http.ServeMux
	store  *store
	auth   *authServer
	log    *accessLog
}

// New returns a reference DVZA, or an error when the defect is unknown.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.Clients == nil {
		opts.Clients = map[string][]string{TestClientID: {TestRedirectURI}}
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), store: newStore(), log: &accessLog{}}
	if opts.Defect != "" {
		m, ok := LookupMutant(opts.Defect)
		if !ok {
			return nil, fmt.Errorf("unknown dvza defect %q (known: %s)", opts.Defect, strings.Join(MutantNames(), ", "))
		}
		s.defect = &m
		if m.staleCache {
			s.store.stale, s.store.now = StaleFor, opts.Now
		}
	}
	s.auth = newAuthServer(s)
	s.mux.HandleFunc("GET /bench/health", s.health)
	s.mux.HandleFunc("POST /bench/events", s.event)
	s.mux.HandleFunc("POST /bench/reset", s.reset)
	s.mux.HandleFunc("POST /bench/expire", s.expire)
	s.mux.HandleFunc("GET /bench/log", s.readLog)
	s.mux.HandleFunc("GET /oauth/authorize", s.auth.authorize)
	s.mux.HandleFunc("GET /oauth/idp", s.auth.idpReturn)
	s.mux.HandleFunc("POST /oauth/token", s.auth.token)
	s.mux.HandleFunc("GET /fhir/metadata", s.metadata)
	s.mux.HandleFunc("GET /fhir/{type}", s.search)
	s.mux.HandleFunc("GET /fhir/{type}/{id}", s.read)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) has(f func(*Mutant) bool) bool { return s.defect != nil && f(s.defect) }

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	rest.JSON(w, http.StatusOK, "application/json", map[string]any{"status": "ok", "software": Software, "version": s.opts.Version})
}

func (s *Server) reset(w http.ResponseWriter, _ *http.Request) {
	s.store.reset()
	s.auth.reset()
	s.log.reset()
	s.lost.Store(false) // loseOne drops one resource again after a reset
	w.WriteHeader(http.StatusNoContent)
}

// event registers one scenario event: its STU3 ground truth joins the
// client's record; a withdrawal of consent stops sharing her data, a
// deletion request erases it.
func (s *Server) event(w http.ResponseWriter, r *http.Request) {
	var reg fixtures.Registration
	dec := json.NewDecoder(io.LimitReader(r.Body, maxEvent+1))
	dec.UseNumber()
	if err := dec.Decode(&reg); err != nil {
		rest.Problem(w, http.StatusBadRequest, "invalid", fmt.Sprintf("reading registration: %v", err))
		return
	}
	if reg.Event == "" || reg.Client.BSN == "" {
		rest.Problem(w, http.StatusBadRequest, "required", "reading registration: event and client.bsn are required")
		return
	}
	bsn := reg.Client.BSN
	switch {
	case reg.Kind == fixtures.Deletion:
		s.store.erase(bsn)
	case reg.Consent != nil:
		if !*reg.Consent && s.has(func(m *Mutant) bool { return m.keepAfterWithdrawal }) {
			break
		}
		s.store.setConsent(bsn, *reg.Consent)
	}
	if reg.Kind == fixtures.Deletion {
		rest.JSON(w, http.StatusCreated, "application/json", map[string]any{"registered": s.opts.Now().UTC()})
		return
	}
	resources, err := truth.STU3(reg)
	if err != nil {
		rest.Problem(w, http.StatusUnprocessableEntity, "processing", fmt.Sprintf("registering %s: %v", reg.Event, err))
		return
	}
	if s.defect != nil && s.defect.change != nil {
		for _, res := range resources {
			s.defect.change(res)
		}
	}
	if s.defect != nil && s.defect.loseOne != nil {
		kept := resources[:0]
		for _, res := range resources {
			if s.defect.loseOne(res) && s.lost.CompareAndSwap(false, true) {
				continue
			}
			kept = append(kept, res)
		}
		resources = kept
	}
	if err := s.store.add(bsn, resources); err != nil {
		rest.Problem(w, http.StatusInsufficientStorage, "too-costly", err.Error())
		return
	}
	rest.JSON(w, http.StatusCreated, "application/json", map[string]any{"registered": s.opts.Now().UTC()})
}

// expire ends an access token's life at once (a test hook: the bench
// cannot wait the token's lifetime).
func (s *Server) expire(w http.ResponseWriter, r *http.Request) {
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&body); err != nil || body.AccessToken == "" {
		rest.Problem(w, http.StatusBadRequest, "invalid", "reading the request: a JSON object with access_token is required")
		return
	}
	if !s.auth.expire(body.AccessToken) {
		rest.Problem(w, http.StatusNotFound, "not-found", "no such access token")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) metadata(w http.ResponseWriter, _ *http.Request) {
	rest.FHIR(w, http.StatusOK, capabilityStatement(s.opts.Version, s.opts.Now()))
}

// store holds each client's record: her STU3 resources by "Type/id".
type store struct {
	mu      sync.Mutex
	records map[string]*record // by BSN
	// stale, when set (mutant verouderde-cache), serves a client's view
	// from cache for that long after it was read.
	stale  time.Duration
	now    func() time.Time
	cached map[string]cachedView
}

type cachedView struct {
	view  map[string]map[string]any
	until time.Time
}

type record struct {
	resources map[string]map[string]any
	withdrawn bool
	// self is the id of her own Patient.
	self string
}

func newStore() *store {
	return &store{records: map[string]*record{}, cached: map[string]cachedView{}, now: time.Now}
}

func (st *store) reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.records = map[string]*record{}
	st.cached = map[string]cachedView{}
}

func (st *store) recordOf(bsn string) (*record, error) {
	rec := st.records[bsn]
	if rec == nil {
		if len(st.records) >= maxClients {
			return nil, fmt.Errorf("storing: more than %d clients", maxClients)
		}
		rec = &record{resources: map[string]map[string]any{}, self: truth.PatientID(bsn)}
		st.records[bsn] = rec
	}
	return rec, nil
}

func (st *store) add(bsn string, resources []map[string]any) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	rec, err := st.recordOf(bsn)
	if err != nil {
		return err
	}
	for _, res := range resources {
		key := fmt.Sprintf("%v/%v", res["resourceType"], res["id"])
		if _, ok := rec.resources[key]; !ok && len(rec.resources) >= maxPerClient {
			return fmt.Errorf("storing: more than %d resources for one client", maxPerClient)
		}
		rec.resources[key] = res
	}
	return nil
}

// known says whether the DVZA holds a record of the client.
func (st *store) known(bsn string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.records[bsn] != nil
}

func (st *store) setConsent(bsn string, given bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if rec, err := st.recordOf(bsn); err == nil {
		rec.withdrawn = !given
	}
}

// erase removes the client's record: her data and her children's.
func (st *store) erase(bsn string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.records, bsn)
}

// view is what a client may see: her own resources, nothing once she
// withdrew consent but her Patient.
func (st *store) view(bsn string) map[string]map[string]any {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stale > 0 {
		if c, ok := st.cached[bsn]; ok && st.now().Before(c.until) {
			return c.view
		}
		out := st.viewLocked(bsn)
		st.cached[bsn] = cachedView{view: out, until: st.now().Add(st.stale)}
		return out
	}
	return st.viewLocked(bsn)
}

func (st *store) viewLocked(bsn string) map[string]map[string]any {
	out := map[string]map[string]any{}
	rec := st.records[bsn]
	if rec == nil {
		return out
	}
	self := "Patient/" + rec.self
	for k, v := range rec.resources {
		if rec.withdrawn && k != self {
			continue
		}
		out[k] = v
	}
	return out
}

// selfID is the id of the client's own Patient.
func (st *store) selfID(key string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	if rec := st.records[key]; rec != nil {
		return rec.self
	}
	return truth.PatientID(key)
}

// all is every client's resources (what a leaking mutant searches).
func (st *store) all() map[string]map[string]any {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[string]map[string]any{}
	for _, rec := range st.records {
		for k, v := range rec.resources {
			out[k] = v
		}
	}
	return out
}
