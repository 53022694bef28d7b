package xis

import (
	"fmt"
	"net/http"

	"github.com/bcbench/bcbench/reference/audit"
	"github.com/bcbench/bcbench/reference/rest"
)

// Access logging (NEN 7513; docs/logging.md): every read and search of the
// FHIR API, served or refused, becomes an AuditEvent (package
// reference/audit, shared with the reference index). The log is kept apart
// from the record: a withdrawal or deletion request does not remove it.

// authenticate sets the professional of the request's bearer token. With
// no trust configured it lets the request through without one; with one,
// a missing or invalid token is refused (401) and the refusal is logged.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, a *audit.Access) bool {
	p, ok := audit.Authenticate(s.opts.Trust, r, s.opts.Now())
	if ok {
		a.Reader = p
		return true
	}
	a.Status = http.StatusUnauthorized
	s.logAccess(a) // before the answer: who has the refusal finds it logged
	audit.Unauthorized(w)
	return false
}

// mayRead says whether the reader has a care relationship with the patient
// (always, when no token is checked).
func (s *Server) mayRead(a *audit.Access, patientID string) bool {
	return a.Reader == nil || patientID == "" || s.store.related(patientID, a.Reader.OrgURA)
}

// refuse answers 403 for a reader without a care relationship.
func refuse(w http.ResponseWriter, a *audit.Access) {
	rest.Problem(w, http.StatusForbidden, "forbidden",
		fmt.Sprintf("%s of %s has no care relationship with this client", a.Reader.Name, a.Reader.OrgName))
	a.Status = http.StatusForbidden
}

// logAccess writes the AuditEvent of one read or search, unless the mutant
// drops or changes it.
func (s *Server) logAccess(a *audit.Access) {
	ev := audit.Event(a, Software)
	if s.defect != nil && s.defect.audit != nil && !s.defect.audit(a, ev) {
		return
	}
	s.audit.Add(ev, a.At)
}

// searchAudit answers AuditEvent?patient=…&date=… from the access log; a
// reader without a care relationship with a client asked for is refused.
func (s *Server) searchAudit(w http.ResponseWriter, r *http.Request, a *audit.Access) {
	q, err := audit.ParseQuery(r.URL.Query())
	if err != nil {
		a.Status = http.StatusBadRequest
		rest.Problem(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	for _, pid := range q.Patients {
		if !s.mayRead(a, pid) {
			refuse(w, a)
			return
		}
		a.Patients = append(a.Patients, pid)
	}
	if len(q.BSNs) > 0 {
		a.Status = http.StatusBadRequest
		rest.Problem(w, http.StatusBadRequest, "not-supported", "the XIS's log is searched by patient=Patient/<id>")
		return
	}
	a.Status = http.StatusOK
	rest.FHIR(w, http.StatusOK, s.audit.Searchset(rest.Base(r), q, s.opts.Now()))
}
