// Package xis is the bench's reference care information system (XIS): it
// takes scenario events through the adapter contract (docs/adapter.md),
// keeps what it publishes in memory, and serves it as FHIR R4 (JSON) per the
// Nictiz zib2020 / nl-core and MP9 profiles. With a Defect it becomes a
// mutant: the same system with one seeded defect, which the bench must catch.
package xis

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/reference/audit"
	"github.com/bcbench/bcbench/reference/fhirstore"
	"github.com/bcbench/bcbench/reference/rest"
	"github.com/bcbench/bcbench/smart"
	bearer "github.com/bcbench/bcbench/token"
)

// Software is the name the reference XIS gives in its CapabilityStatement.
const Software = "bcbench reference XIS"

// maxEvent bounds the size of one registration.
const maxEvent = 1 << 20

// Options configure a reference XIS.
type Options struct {
	// Version is reported in the CapabilityStatement.
	Version string
	// Defect, when set, names a seeded defect from Mutants.
	Defect string
	// Variant, when set, names a valid variant from Variants.
	Variant string
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Index, when set, is the FHIR base of the index the XIS registers its
	// clients' records in (ITI-65) after every event; empty: it registers
	// nowhere. `reference serve` reads it from --index or BCBENCH_INDEX_URL.
	Index string
	// Logf reports what went wrong with the index (log.Printf when nil).
	Logf func(format string, args ...any)
	// Trust, when set, is the authorization server whose tokens the XIS
	// accepts (the bench's, docs/logging.md): a FHIR read without a valid
	// token is refused (401), a read of a client with whom the token's
	// organisation has no care relationship is refused (403), and every
	// read is logged under the token's professional. Without it every read
	// is served and logged without a professional.
	Trust *bearer.Verifier
	// SMART, when set, is the SMART configuration the XIS serves at
	// /fhir/.well-known/smart-configuration: the authorization server of
	// a viewer's EHR launch (the bench plays it, docs/viewer.md).
	SMART *smart.Config
	// Resources, when set, is the data the XIS serves instead of what it
	// publishes from adapter events: an R4 store (mounted under Prefix)
	// loaded with a vendor's test data or the `_reference` fixtures of
	// Nictiz's MP9 TestScripts (`bcbench reference serve --fixtures DIR`).
	// Reads and searches (every search parameter of the embedded packages,
	// chains, _include, MP9's period-of-use) are answered from it and
	// logged as AuditEvents like every read; create, update, delete and
	// transaction write to it. Adapter events are refused (409), and a
	// defect, variant, index or trust cannot be combined with it.
	Resources *fhirstore.Server
}

// Server is a reference XIS; it is an http.Handler serving /fhir and /bench.
type Server struct {
	opts    Options
	store   *store
	audit   *audit.Log
	defect  *Mutant
	variant *Variant
	mux     *http.ServeMux
	index   *publisher // nil: no index
}

// New returns a reference XIS, or an error when the defect is unknown.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if err := checkLoaded(opts); err != nil {
		return nil, err
	}
	s := &Server{opts: opts, store: newStore(), audit: audit.NewLog("toegang"), mux: http.NewServeMux()}
	if opts.Index != "" {
		u, err := url.Parse(opts.Index)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("index %q is no absolute http(s) URL", opts.Index)
		}
		s.index = newPublisher(opts.Index, opts.Logf, opts.Now)
	}
	if opts.Defect != "" {
		m, ok := LookupMutant(opts.Defect)
		if !ok {
			return nil, fmt.Errorf("unknown defect %q (known: %s)", opts.Defect, strings.Join(MutantNames(), ", "))
		}
		s.defect = &m
		s.store.shareOnly = m.shareOnly
	}
	if opts.Variant != "" {
		v, ok := LookupVariant(opts.Variant)
		if !ok {
			names := make([]string, len(Variants))
			for i, v := range Variants {
				names[i] = v.Name
			}
			return nil, fmt.Errorf("unknown variant %q (known: %s)", opts.Variant, strings.Join(names, ", "))
		}
		s.variant = &v
	}
	s.mux.HandleFunc("GET /bench/health", s.health)
	if opts.Resources != nil {
		s.mux.HandleFunc("POST /bench/events", refuseEvent)
		for _, pattern := range []string{"POST /fhir", "POST /fhir/{$}", "POST /fhir/{type}", "PUT /fhir/{type}/{id}", "DELETE /fhir/{type}/{id}"} {
			s.mux.HandleFunc(pattern, s.write)
		}
	} else {
		s.mux.HandleFunc("POST /bench/events", s.event)
	}
	s.mux.HandleFunc("POST /bench/reset", s.reset)
	s.mux.HandleFunc("GET /fhir/metadata", s.metadata)
	s.mux.HandleFunc("GET /fhir"+smart.ConfigPath, s.smartConfig)
	s.mux.HandleFunc("GET /fhir/{type}/{id}", s.read)
	s.mux.HandleFunc("GET /fhir/{type}", s.search)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// smartConfig serves the SMART configuration, or 404 when the XIS has none.
func (s *Server) smartConfig(w http.ResponseWriter, _ *http.Request) {
	if s.opts.SMART == nil {
		rest.Problem(w, http.StatusNotFound, "not-found", "this XIS offers no SMART launch")
		return
	}
	rest.JSON(w, http.StatusOK, "application/json", s.opts.SMART)
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	rest.JSON(w, http.StatusOK, "application/json", map[string]any{"status": "ok", "software": Software, "version": s.opts.Version})
}

func (s *Server) reset(w http.ResponseWriter, _ *http.Request) {
	s.store.reset()
	s.audit.Reset()
	w.WriteHeader(http.StatusNoContent)
}

// event registers one scenario event.
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
	if s.defect != nil && s.defect.refuse != nil && s.defect.refuse(reg) {
		rest.Problem(w, http.StatusUnprocessableEntity, "not-supported", fmt.Sprintf("registering %s: event kind %q is not supported", reg.Event, reg.Kind))
		return
	}
	resources, err := truth.R4(reg)
	if err != nil {
		rest.Problem(w, http.StatusUnprocessableEntity, "processing", fmt.Sprintf("registering %s: %v", reg.Event, err))
		return
	}
	patient := truth.PatientID(reg.Client.BSN)
	s.store.relate(patient, reg.Author.URA)
	if reg.Subject != nil {
		s.store.link(patient, truth.PatientID(reg.Subject.BSN))
		s.store.relate(truth.PatientID(reg.Subject.BSN), reg.Author.URA)
		if reg.Subject.BSN != reg.Client.BSN {
			resources = append(resources, motherOf(reg.Client, *reg.Subject))
		}
	}
	if reg.Recipient != nil {
		// the care handed over: the receiving organisation reads the
		// mother's record and her children's (related looks at the mother)
		s.store.relate(patient, reg.Recipient.URA)
	}
	switch {
	case reg.Kind == fixtures.Deletion:
		switch {
		case s.defect == nil:
			s.store.erase(patient, nil)
		case !s.defect.keepDeleted:
			s.store.erase(patient, s.defect.spare)
		}
		s.publish(r, reg)
		rest.JSON(w, http.StatusCreated, "application/json", map[string]any{"registered": s.opts.Now().UTC()})
		return
	case reg.Consent != nil && (s.defect == nil || !s.defect.keepConsent):
		s.store.setConsent(patient, *reg.Consent)
	}
	if s.defect != nil {
		s.defect.apply(resources)
		if s.defect.change != nil {
			resources = s.defect.change(reg, resources)
		}
	}
	if s.variant != nil {
		resources = s.variant.apply(resources, rest.Base(r))
	}
	if s.defect != nil && s.defect.late != nil {
		if d := s.defect.late(reg); d > 0 {
			// A publisher that exports in batches: the event is accepted
			// now, its resources appear (and reach the index) later.
			base := rest.Base(r)
			time.AfterFunc(d, func() {
				for _, res := range resources {
					_, _ = s.store.put(res)
				}
				if s.index != nil {
					s.index.after(context.Background(), reg, base)
				}
			})
			rest.JSON(w, http.StatusCreated, "application/json", map[string]any{"registered": s.opts.Now().UTC()})
			return
		}
	}
	stored := make([]string, 0, len(resources))
	for _, res := range resources {
		ref, err := s.store.put(res)
		if err != nil {
			rest.Problem(w, http.StatusInsufficientStorage, "too-costly", err.Error())
			return
		}
		stored = append(stored, ref)
		if s.defect != nil && s.defect.mark != nil && s.defect.mark(reg, res) {
			s.store.mark(ref)
		}
		if s.defect != nil && s.defect.shareLater && s.store.isWithdrawn(patient) {
			s.store.unhide(ref)
		}
	}
	s.publish(r, reg)
	rest.JSON(w, http.StatusCreated, "application/json", map[string]any{"registered": s.opts.Now().UTC(), "resources": stored})
}

// publish tells the index, when there is one, what the event changed.
func (s *Server) publish(r *http.Request, reg fixtures.Registration) {
	if s.index != nil {
		s.index.after(context.WithoutCancel(r.Context()), reg, rest.Base(r))
	}
}

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	var loaded []string
	if s.opts.Resources != nil {
		loaded = append(s.opts.Resources.Types(), "AuditEvent")
	}
	cs := capabilityStatement(s.opts.Version, s.opts.Now(), loaded)
	if s.defect != nil {
		s.defect.applyMetadata(cs)
	}
	rest.FHIR(w, http.StatusOK, cs)
}

func (s *Server) read(w http.ResponseWriter, r *http.Request) {
	typ, id := r.PathValue("type"), r.PathValue("id")
	a := audit.NewAccess(r, s.opts.Now())
	a.Type, a.ID = typ, id
	if !s.authenticate(w, r, a) {
		return
	}
	w, logged := audit.LoggedWriter(w, a, s.logAccess)
	defer logged()
	if typ == "AuditEvent" {
		ev, ok := s.audit.Get(id)
		if ok {
			for _, pid := range ev.Patients {
				if !s.mayRead(a, pid) {
					refuse(w, a)
					return
				}
			}
			a.Status = http.StatusOK
			rest.FHIR(w, http.StatusOK, ev.Raw)
			return
		}
		a.Status = http.StatusNotFound
		rest.Problem(w, http.StatusNotFound, "not-found", fmt.Sprintf("%s/%s is not known", typ, id))
		return
	}
	if s.opts.Resources != nil {
		s.serveLoaded(w, r, a)
		return
	}
	res, held := s.store.held(typ, id)
	if held {
		if pid := patientOf(res); pid != "" {
			a.Patients = []string{pid}
			if !s.mayRead(a, pid) {
				refuse(w, a)
				return
			}
		}
	}
	res, ok := s.store.get(typ, id)
	if !ok {
		a.Status = http.StatusNotFound
		rest.Problem(w, http.StatusNotFound, "not-found", fmt.Sprintf("%s/%s is not known", typ, id))
		return
	}
	a.Status = http.StatusOK
	rest.FHIR(w, http.StatusOK, res)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	typ := r.PathValue("type")
	a := audit.NewAccess(r, s.opts.Now())
	a.Type, a.Search, a.Query = typ, true, r.URL.Query()
	if !s.authenticate(w, r, a) {
		return
	}
	w, logged := audit.LoggedWriter(w, a, s.logAccess)
	defer logged()
	if typ == "AuditEvent" {
		s.searchAudit(w, r, a)
		return
	}
	if s.opts.Resources != nil {
		s.serveLoaded(w, r, a)
		return
	}
	if !searchable[typ] {
		a.Status = http.StatusNotFound
		rest.Problem(w, http.StatusNotFound, "not-supported", fmt.Sprintf("resource type %q is not supported", typ))
		return
	}
	q := r.URL.Query()
	crit, used, err := parseCriteria(q)
	if err != nil {
		a.Status = http.StatusBadRequest
		rest.Problem(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	// The client a search asks for by patient or subject: a reader without
	// a care relationship with her is refused the whole search.
	for _, name := range []string{"patient", "subject"} {
		for _, v := range q[name] {
			pid := audit.PatientParam(v)
			a.Patients = appendNew(a.Patients, pid)
			if !s.mayRead(a, pid) {
				refuse(w, a)
				return
			}
		}
	}
	if s.defect != nil && s.defect.leak {
		crit = nil // the mutant ignores the criteria and returns everything
	}
	base := rest.Base(r)
	var entries []any
	for _, res := range s.candidates(typ, crit) {
		if !crit.match(res) {
			continue
		}
		pid := patientOf(res)
		if typ == "Patient" {
			// A search for a client by her BSN is a read of her record.
			if !s.mayRead(a, pid) {
				a.Patients = appendNew(a.Patients, pid)
				refuse(w, a)
				return
			}
		} else if !s.mayRead(a, pid) {
			continue // a search across clients shows only the reader's own clients
		}
		if typ == "Patient" && len(q["identifier"])+len(q["_id"]) > 0 {
			a.Patients = appendNew(a.Patients, pid)
		}
		entries = append(entries, map[string]any{
			"fullUrl":  base + "/" + typ + "/" + res["id"].(string),
			"resource": res,
			"search":   map[string]any{"mode": "match"},
		})
	}
	bundle := searchset(base, typ, used, entries, s.opts.Now())
	if s.defect != nil && s.defect.searchset != nil {
		s.defect.searchset(typ, bundle, s.store.all)
	}
	a.Status = http.StatusOK
	rest.FHIR(w, http.StatusOK, bundle)
}

// searchset is the Bundle answering a search.
func searchset(base, typ string, used url.Values, entries []any, now time.Time) map[string]any {
	self := base + "/" + typ
	if len(used) > 0 {
		self += "?" + used.Encode()
	}
	bundle := map[string]any{
		"resourceType": "Bundle",
		"id":           fmt.Sprintf("search-%d", now.UnixNano()),
		"type":         "searchset",
		"total":        len(entries),
		"link":         []any{map[string]any{"relation": "self", "url": self}},
	}
	if len(entries) > 0 {
		bundle["entry"] = entries
	}
	return bundle
}

func appendNew(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

var errBadParam = audit.ErrBadParam

// parseCriteria reads the supported search parameters; unknown parameters
// are ignored (lenient handling, FHIR R4 search.html §3.1.1.3.4) and left out
// of the self link.
func parseCriteria(q url.Values) (criteria, url.Values, error) {
	var c criteria
	used := url.Values{}
	for name, values := range q {
		for _, v := range values {
			switch name {
			case "_id":
				c = append(c, idCriterion(v))
			case "identifier":
				c = append(c, tokenCriterion{field: "identifier", token: parseToken(v)})
			case "code":
				c = append(c, tokenCriterion{field: "code", token: parseToken(v)})
			case "category":
				c = append(c, tokenCriterion{field: "category", token: parseToken(v)})
			case "patient", "subject":
				if v == "" {
					return nil, nil, fmt.Errorf("%w: %s is empty", errBadParam, name)
				}
				c = append(c, patientCriterion(strings.TrimPrefix(v, "Patient/")))
			default:
				continue
			}
			used.Add(name, v)
		}
	}
	return c, used, nil
}
