package dvza

import (
	"net/http"
	"sync"
	"time"

	"github.com/bcbench/bcbench/reference/rest"
)

// logEntry is one access or refusal in the DVZA's access log: what was
// asked, when, by which client (a pseudonym, never her BSN), the outcome,
// and the request's MedMij headers.
type logEntry struct {
	what, outcome, detail string
	correlation, request  string
	client                string
	when                  time.Time
}

type accessLog struct {
	mu      sync.Mutex
	entries []logEntry
}

func (l *accessLog) add(e logEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.when.IsZero() {
		e.when = time.Now()
	}
	if len(l.entries) >= maxLog {
		l.entries = l.entries[1:]
	}
	l.entries = append(l.entries, e)
}

func (l *accessLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = nil
}

// auditEvent renders an entry as an AuditEvent (FHIR R4 shape) carrying
// the X-Correlation-ID and MedMij-Request-ID as entity details.
func (e logEntry) auditEvent() map[string]any {
	outcome := "0"
	if e.outcome != "success" {
		outcome = "4"
	}
	var details []any
	for _, d := range []struct{ k, v string }{{"X-Correlation-ID", e.correlation}, {"MedMij-Request-ID", e.request}} {
		if d.v != "" {
			details = append(details, map[string]any{"type": d.k, "valueString": d.v})
		}
	}
	entity := map[string]any{"name": e.what}
	if e.detail != "" {
		entity["description"] = e.detail
	}
	if len(details) > 0 {
		entity["detail"] = details
	}
	ev := map[string]any{
		"resourceType": "AuditEvent",
		"type":         map[string]any{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110", "display": "Patient Record"},
		"action":       "R", "recorded": e.when.UTC().Format(time.RFC3339Nano), "outcome": outcome,
		"agent":  []any{map[string]any{"requestor": true, "who": map[string]any{"display": "PGO-client " + e.client}}},
		"source": map[string]any{"observer": map[string]any{"display": Software}},
		"entity": []any{entity},
	}
	if e.outcome != "success" {
		ev["outcomeDesc"] = e.detail
	}
	return ev
}

// readLog answers GET /bench/log?x-correlation-id=…: the entries of that
// correlation id as a Bundle of AuditEvents.
func (s *Server) readLog(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("x-correlation-id")
	if id == "" {
		rest.Problem(w, http.StatusBadRequest, "required", "x-correlation-id is required")
		return
	}
	skip := s.has(func(m *Mutant) bool { return m.logOnlySuccess })
	s.log.mu.Lock()
	var entries []any
	for _, e := range s.log.entries {
		if e.correlation == id && !(skip && e.outcome != "success") {
			entries = append(entries, map[string]any{"resource": e.auditEvent()})
		}
	}
	s.log.mu.Unlock()
	rest.FHIR(w, http.StatusOK, map[string]any{"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries})
}
