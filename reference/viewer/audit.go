package viewer

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// UZISystem is the naming system of personal UZI numbers.
const UZISystem = "http://fhir.nl/fhir/NamingSystem/uzi-nr-pers"

// maxAudit bounds the access log the viewer keeps in memory.
const maxAudit = 10000

// auditLog is the viewer's own access log: one AuditEvent per view of a
// client's record (NEN 7513: who, what, when, which client).
type auditLog struct {
	mu     sync.Mutex
	events []map[string]any
	seq    int
}

// logView records that the session's professional viewed the record.
func (s *Server) logView(sess *session, rec *record, r *http.Request) {
	who := map[string]any{"reference": sess.fhirUser}
	if i := strings.LastIndex(sess.fhirUser, "/Practitioner/"); i >= 0 {
		who["identifier"] = map[string]any{"system": UZISystem, "value": sess.fhirUser[i+len("/Practitioner/"):]}
	}
	if s.defect != nil && s.defect.technical {
		who = map[string]any{"reference": "Device/bcbench-viewer", "identifier": map[string]any{"system": "urn:bcbench:viewer-account", "value": "viewer-systeem"}}
	}
	entities := []any{map[string]any{"what": map[string]any{"reference": "Patient/" + rec.PatientID},
		"type": map[string]any{"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
		"role": map[string]any{"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"}}}
	for _, ref := range rec.read[1:] {
		entities = append(entities, map[string]any{"what": map[string]any{"reference": ref}})
	}
	l := s.audit
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	ev := map[string]any{
		"resourceType": "AuditEvent",
		"id":           "vwr-" + itoa(l.seq),
		"type":         map[string]any{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110", "display": "Patient Record"},
		"subtype":      []any{map[string]any{"system": "http://hl7.org/fhir/restful-interaction", "code": "read", "display": "read"}},
		"action":       "R",
		"recorded":     s.opts.Now().UTC().Format(time.RFC3339),
		"outcome":      "0",
		"agent": []any{map[string]any{"who": who, "requestor": true,
			"network": map[string]any{"address": r.RemoteAddr, "type": "2"}}},
		"source": map[string]any{"observer": map[string]any{"display": "bcbench reference viewer"}},
		"entity": entities,
	}
	if len(l.events) >= maxAudit {
		l.events = l.events[1:]
	}
	l.events = append(l.events, ev)
}

// auditSearch answers GET /fhir/AuditEvent[?patient=Patient/<id>|<id>] with
// a searchset Bundle of the views of that client.
func (s *Server) auditSearch(w http.ResponseWriter, r *http.Request) {
	want := r.URL.Query().Get("patient")
	if want != "" && !strings.HasPrefix(want, "Patient/") {
		want = "Patient/" + want
	}
	l := s.audit
	l.mu.Lock()
	var entries []any
	for _, ev := range l.events {
		ents, _ := ev["entity"].([]any)
		first, _ := ents[0].(map[string]any)
		what, _ := first["what"].(map[string]any)
		if want == "" || what["reference"] == want {
			entries = append(entries, map[string]any{"resource": ev})
		}
	}
	l.mu.Unlock()
	body, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries})
	if err != nil {
		http.Error(w, "encoding the log: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	_, _ = w.Write(body)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
