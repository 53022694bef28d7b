// Package rest holds what the bench's reference roles answer over HTTP the
// same way: JSON and FHIR JSON bodies, OperationOutcomes, and the FHIR base
// a client reached them at.
package rest

import (
	"encoding/json"
	"net/http"
)

// Base is the absolute FHIR base (…/fhir) as the client reached the server.
func Base(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/fhir"
}

// FHIR answers with a FHIR JSON resource.
func FHIR(w http.ResponseWriter, status int, v any) {
	JSON(w, status, "application/fhir+json; charset=utf-8", v)
}

// JSON answers with v encoded as JSON under the given content type.
func JSON(w http.ResponseWriter, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Issue is one issue of an OperationOutcome.
type Issue struct {
	Code       string // FHIR issue-type, e.g. invalid, not-found
	Expression string // FHIRPath location, optional
	Message    string
}

// Problem answers with an OperationOutcome of one error.
func Problem(w http.ResponseWriter, status int, code, msg string) {
	Problems(w, status, []Issue{{Code: code, Message: msg}})
}

// Problems answers with an OperationOutcome listing every issue as an error.
func Problems(w http.ResponseWriter, status int, issues []Issue) {
	list := make([]any, 0, len(issues))
	for _, is := range issues {
		m := map[string]any{"severity": "error", "code": is.Code, "diagnostics": is.Message}
		if is.Expression != "" {
			m["expression"] = []any{is.Expression}
		}
		list = append(list, m)
	}
	FHIR(w, status, map[string]any{"resourceType": "OperationOutcome", "issue": list})
}
