package fhirstore

import (
	"fmt"
	"net/http"
	"strings"
)

// transaction processes a transaction or batch Bundle: POST, PUT and
// DELETE entries, with urn:uuid and urn:oid fullUrls of created entries
// rewritten to the ids the server assigns. A transaction is all or
// nothing: a bad entry stores none.
func (s *Server) transaction(w http.ResponseWriter, r *http.Request, patient string) {
	b, err := readBody(r)
	if err != nil {
		writeOutcome(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	if str(b, "resourceType") != "Bundle" {
		writeOutcome(w, http.StatusBadRequest, "invalid", "POST to the base takes a transaction or batch Bundle")
		return
	}
	kind := str(b, "type")
	if kind != "transaction" && kind != "batch" {
		writeOutcome(w, http.StatusBadRequest, "invalid", fmt.Sprintf("Bundle.type is %q, not transaction or batch", kind))
		return
	}
	entries := asList(b["entry"])
	if len(entries) > maxEntries {
		writeOutcome(w, http.StatusRequestEntityTooLarge, "too-costly", fmt.Sprintf("more than %d entries", maxEntries))
		return
	}
	type op struct {
		method, typ, id string
		res             map[string]any
		status          string
	}
	ops := make([]op, 0, len(entries))
	renames := map[string]string{} // fullUrl → Type/id
	for i, e := range entries {
		req, _ := e["request"].(map[string]any)
		res, _ := e["resource"].(map[string]any)
		method, u := strings.ToUpper(str(req, "method")), str(req, "url")
		o := op{method: method, res: res}
		switch method {
		case http.MethodPost:
			if res == nil {
				writeOutcome(w, http.StatusBadRequest, "invalid", fmt.Sprintf("entry %d: POST without a resource", i+1))
				return
			}
			o.typ = str(res, "resourceType")
			s.mu.Lock()
			o.id = s.nextID()
			s.mu.Unlock()
			o.status = "201 Created"
		case http.MethodPut:
			if res == nil {
				writeOutcome(w, http.StatusBadRequest, "invalid", fmt.Sprintf("entry %d: PUT without a resource", i+1))
				return
			}
			o.typ, o.id, _ = strings.Cut(strings.Split(u, "?")[0], "/")
			if o.id == "" {
				o.id = str(res, "id")
			}
			if o.id == "" {
				s.mu.Lock()
				o.id = s.nextID()
				s.mu.Unlock()
			}
			o.status = "201 Created"
			if _, ok := s.get(o.typ, o.id); ok {
				o.status = "200 OK"
			}
		case http.MethodDelete:
			o.typ, o.id, _ = strings.Cut(u, "/")
			o.status = "204 No Content"
		default:
			writeOutcome(w, http.StatusBadRequest, "not-supported", fmt.Sprintf("entry %d: method %q is not supported in a transaction", i+1, method))
			return
		}
		if o.typ == "" {
			writeOutcome(w, http.StatusBadRequest, "invalid", fmt.Sprintf("entry %d: no resource type", i+1))
			return
		}
		if full := str(e, "fullUrl"); full != "" && res != nil {
			renames[full] = o.typ + "/" + o.id
		}
		ops = append(ops, o)
	}
	for _, o := range ops {
		if o.res == nil {
			continue
		}
		o.res["id"] = o.id
		rewriteReferences(o.res, renames)
		if patient != "" && !s.visible(o.res, patient) {
			writeOutcome(w, http.StatusForbidden, "forbidden", "a transaction entry is not this patient's data")
			return
		}
	}
	out := make([]any, 0, len(ops))
	base := s.baseURL(r)
	returnAll := strings.Contains(r.Header.Get("Prefer"), "return=representation")
	for _, o := range ops {
		if o.method == http.MethodDelete {
			s.mu.Lock()
			delete(s.store[o.typ], o.id)
			s.mu.Unlock()
			out = append(out, map[string]any{"response": map[string]any{"status": o.status}})
			continue
		}
		if _, err := s.Add(o.res); err != nil {
			writeOutcome(w, http.StatusBadRequest, "invalid", err.Error())
			return
		}
		e := map[string]any{
			"fullUrl":  base + "/" + o.typ + "/" + o.id,
			"response": map[string]any{"status": o.status, "location": o.typ + "/" + o.id + "/_history/1"},
		}
		if returnAll {
			e["resource"] = o.res
		}
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"resourceType": "Bundle",
		"type":         kind + "-response",
		"entry":        out,
	})
}

// rewriteReferences replaces references to the fullUrls of created
// entries by their new Type/id.
func rewriteReferences(node any, renames map[string]string) {
	switch n := node.(type) {
	case map[string]any:
		if ref, ok := n["reference"].(string); ok {
			if to, ok := renames[ref]; ok {
				n["reference"] = to
			}
		}
		for _, v := range n {
			rewriteReferences(v, renames)
		}
	case []any:
		for _, v := range n {
			rewriteReferences(v, renames)
		}
	}
}
