package viewer

import (
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"strings"
	"sync"
)

// The verborgen-naam and lekkende-fetch defects: the viewer refuses what it
// must refuse, but its refusal page still carries the client's data where
// a user does not see it. Each leaks on one refused launch only.

// leakPath is where the lekkende-fetch refusal page fetches the client.
const leakPath = "/weigering/context"

// spent remembers, for a leaking mutant, the session each spent code and
// launch opened, and the client data its refusal pages fetch.
type spent struct {
	mu       sync.Mutex
	sessions map[string]*session // "code:…" and "launch:…"
	data     map[string][]byte   // by random id, for leakPath
}

// leaking reports whether the viewer is a mutant that leaks on a refusal.
func (s *Server) leaking() bool {
	return s.defect != nil && (s.defect.hiddenName || s.defect.leakFetch)
}

// rememberSpent keeps the session a code and a launch opened.
func (s *Server) rememberSpent(code, launch string, sess *session) {
	s.spent.mu.Lock()
	defer s.spent.mu.Unlock()
	if s.spent.sessions == nil || len(s.spent.sessions) >= 2*maxSessions {
		s.spent.sessions = map[string]*session{}
	}
	cp := *sess
	s.spent.sessions["code:"+code] = &cp
	s.spent.sessions["launch:"+launch] = &cp
}

// leak is the markup the mutant adds to the refusal of a spent code or
// launch (key "code:…" or "launch:…"): for verborgen-naam her name and BSN
// in a hidden element and a comment, for lekkende-fetch a script that
// fetches her name, BSN and birth date and shows nothing of it. Empty when
// the key opened nothing or her record cannot be read.
func (s *Server) leak(r *http.Request, key string) template.HTML {
	s.spent.mu.Lock()
	sess, ok := s.spent.sessions[key]
	s.spent.mu.Unlock()
	if !ok || len(sess.patients) == 0 {
		return ""
	}
	rec, err := s.read(r.Context(), sess, sess.patients[len(sess.patients)-1])
	if err != nil {
		return ""
	}
	if s.defect.hiddenName {
		who := html.EscapeString(rec.Name)
		return template.HTML(fmt.Sprintf("<div hidden>Laatst geopend: %s, BSN %s</div>\n<!-- cliënt: %s -->",
			who, html.EscapeString(rec.BSN), strings.ReplaceAll(who, "--", "- -")))
	}
	body, err := json.Marshal(map[string]string{"naam": rec.Name, "bsn": rec.BSN, "geboortedatum": rec.BirthDate})
	if err != nil {
		return ""
	}
	id, err := random()
	if err != nil {
		return ""
	}
	s.spent.mu.Lock()
	if s.spent.data == nil || len(s.spent.data) >= maxSessions {
		s.spent.data = map[string][]byte{}
	}
	s.spent.data[id] = body
	s.spent.mu.Unlock()
	return template.HTML(`<script>fetch('` + leakPath + `?id=` + id + `').then(r => r.json()).then(() => {})</script>`)
}

// leaked serves what a lekkende-fetch refusal page fetches.
func (s *Server) leaked(w http.ResponseWriter, r *http.Request) {
	s.spent.mu.Lock()
	body, ok := s.spent.data[r.URL.Query().Get("id")]
	s.spent.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
