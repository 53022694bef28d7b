package index

import (
	"net/http"
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/reference/audit"
	"github.com/bcbench/bcbench/reference/rest"
)

// Access logging (NEN 7513; docs/logging.md): every read of the index —
// an ITI-67 search, a read of a pointer or a SubmissionSet, an ITI-68
// retrieve — served or refused, becomes an AuditEvent (package
// reference/audit, shared with the reference XIS) naming who asked, which
// client (by BSN: the index holds no Patient), what and when. The log is
// searchable with AuditEvent?patient:identifier=<bsn system>|<bsn>&date=….

// reading starts the access of a read: with trust configured, a request
// without a valid token is refused (401), and that refusal is logged; the
// returned writer logs the access just before its answer leaves, and done
// logs one that wrote no answer (call it deferred).
func (s *Server) reading(w http.ResponseWriter, r *http.Request, a *audit.Access) (lw http.ResponseWriter, done func(), ok bool) {
	p, ok := audit.Authenticate(s.opts.Trust, r, s.opts.Now())
	if !ok {
		a.Status = http.StatusUnauthorized
		s.logAccess(a)
		audit.Unauthorized(w)
		return w, func() {}, false
	}
	a.Reader = p
	lw, done = audit.LoggedWriter(w, a, s.logAccess)
	return lw, done, true
}

// logAccess writes the AuditEvent of one read, unless the mutant drops or
// changes it.
func (s *Server) logAccess(a *audit.Access) {
	ev := audit.Event(a, Software)
	if s.defect != nil && s.defect.audit != nil && !s.defect.audit(a, ev) {
		return
	}
	if s.defect != nil && s.defect.once > 0 && a.Search && a.Type == "DocumentReference" && a.Status == http.StatusOK && len(a.BSNs) > 0 && s.repeated(a.BSNs[0], a.At) {
		return
	}
	s.audit.Add(ev, a.At)
}

// repeated says whether a search for the client's pointers was logged
// less than the mutant's once ago, and otherwise notes this one.
func (s *Server) repeated(bsn string, at time.Time) bool {
	s.onceMu.Lock()
	defer s.onceMu.Unlock()
	if last, ok := s.lastLogged[bsn]; ok && at.Sub(last) < s.defect.once {
		return true
	}
	if s.lastLogged == nil {
		s.lastLogged = map[string]time.Time{}
	}
	s.lastLogged[bsn] = at
	return false
}

// bsnsOf are the BSNs of patient.identifier search values.
func bsnsOf(values []string) []string {
	var out []string
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if system, bsn, ok := strings.Cut(t, "|"); ok && system == fixtures.BSNSystem && bsn != "" {
				out = append(out, bsn)
			}
		}
	}
	return out
}

// subjectBSN is the BSN a pointer is about.
func subjectBSN(d map[string]any) string {
	id := asMap(asMap(d["subject"])["identifier"])
	if id["system"] != fixtures.BSNSystem {
		return ""
	}
	bsn, _ := id["value"].(string)
	return bsn
}

// searchAudit answers AuditEvent?patient:identifier=…&date=… from the log.
func (s *Server) searchAudit(w http.ResponseWriter, r *http.Request) {
	a := audit.NewAccess(r, s.opts.Now())
	a.Type, a.Search, a.Query = "AuditEvent", true, r.URL.Query()
	w, done, ok := s.reading(w, r, a)
	if !ok {
		return
	}
	defer done()
	q, err := audit.ParseQuery(r.URL.Query())
	if err != nil {
		rest.Problem(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	if len(q.Patients) > 0 {
		rest.Problem(w, http.StatusBadRequest, "not-supported", "the index holds no Patient: search its log by patient:identifier="+fixtures.BSNSystem+"|<BSN>")
		return
	}
	a.BSNs = q.BSNs
	q.Admit = s.admits(a)
	if !q.Admit(q.BSNs) {
		refuse(w, a)
		return
	}
	rest.FHIR(w, http.StatusOK, s.audit.Searchset(rest.Base(r), q, s.opts.Now()))
}

// readAudit answers AuditEvent/{id}.
func (s *Server) readAudit(w http.ResponseWriter, r *http.Request) {
	s.readHeld(w, r, "AuditEvent", func(id string) (any, []string, bool) {
		e, found := s.audit.Get(id)
		return e.Raw, e.BSNs(), found
	})
}
