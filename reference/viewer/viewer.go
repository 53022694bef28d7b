// Package viewer is the bench's reference viewer (role E, seed 001
// §2.3.4): opened from the XIS with a SMART App Launch 2.0 EHR launch
// (package smart), without a separate log-in, it reads the client's record
// from the XIS's FHIR API with the launch's token and shows it as a midwife
// reads it — client banner, pregnancy, measurements, lab, risk selection,
// medication overview (MP9), referrals, birth and child — with sources and
// dates, as server-rendered Dutch HTML without a client framework. Every
// view is logged as an AuditEvent under the launching professional. With a
// Defect it becomes a mutant with one seeded defect.
package viewer

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bcbench/bcbench/smart"
	"github.com/bcbench/bcbench/token"
)

// DefaultClientID is the client_id the reference viewer registers with.
const DefaultClientID = "bcbench-viewer"

// Launch modes: how the XIS opens a viewer (docs/viewer.md).
const (
	// LaunchSMART is the SMART App Launch 2.0 EHR launch (the default).
	LaunchSMART = "smart"
	// LaunchContextToken opens the viewer with a signed context token in
	// the query parameter ContextTokenParam of its launch address.
	LaunchContextToken = "context-token"
)

// ContextTokenParam is the launch address's query parameter that carries
// the signed context token.
const ContextTokenParam = "context_token"

// LaunchModes are the launch modes a viewer can take.
var LaunchModes = []string{LaunchSMART, LaunchContextToken}

// Paths of the viewer.
const (
	LaunchPath   = "/launch"
	CallbackPath = "/callback"
	DossierPath  = "/dossier"
	AuditPath    = "/fhir/AuditEvent"
)

// Cookies: the pending authorization request and the session.
const (
	flowCookie    = "vwr_flow"
	sessionCookie = "vwr_sessie"
)

// Bounds of what the viewer keeps.
const (
	maxPending  = 1000
	maxSessions = 1000
	flowTTL     = 5 * time.Minute
	sessionTTL  = 30 * time.Minute
)

// Options configure a reference viewer.
type Options struct {
	// URL is the viewer's own base as the browser reaches it; the redirect
	// URI is URL + /callback. Empty: the address each request came to (a
	// container behind a mapped port).
	URL string
	// ClientID is its client_id (DefaultClientID when empty).
	ClientID string
	// HTTP reads the SMART configuration, the token endpoint and the FHIR
	// API; a client with a 20 s timeout when nil.
	HTTP *http.Client
	// Now returns the current time (the viewing day); time.Now when nil.
	Now func() time.Time
	// Defect, when set, names a seeded defect from Mutants.
	Defect string
	// Launch is how the viewer is opened: LaunchSMART or
	// LaunchContextToken; when empty, the Defect's launch mode, else
	// LaunchSMART.
	Launch string
	// Trust is the issuer of the context tokens (required for
	// LaunchContextToken): their signature is checked with its keys and
	// they are exchanged at its token endpoint (issuer + /token).
	Trust *token.Verifier
}

// Server is a reference viewer; it is an http.Handler.
type Server struct {
	opts   Options
	defect *Mutant
	mux    *http.ServeMux
	audit  *auditLog

	mu       sync.Mutex
	pending  map[string]flow
	sessions map[string]*session

	used map[string]time.Time // context tokens' jti, until they expire

	replayCache map[string]*session     // the zonder-launch defect only
	spent       spent                   // the verborgen-naam and lekkende-fetch defects only
	staleCache  map[string]cachedRecord // the verouderd-dossier defect only: by Patient id
}

// cachedRecord is a client's record and when the viewer read it.
type cachedRecord struct {
	rec *record
	at  time.Time
}

type flow struct {
	req     smart.Request
	cfg     smart.Config
	expires time.Time
}

type session struct {
	iss      string
	token    string
	fhirUser string
	patients []string // the context's client; a mutant keeps earlier ones
	expires  time.Time
}

// New returns a reference viewer, or an error for an unknown defect or a
// missing URL.
func New(opts Options) (*Server, error) {
	if opts.URL != "" {
		u, err := url.Parse(opts.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" && u.Path != "/" {
			return nil, fmt.Errorf("creating the viewer: its URL %q is no absolute http(s) URL without a path", opts.URL)
		}
	}
	opts.URL = strings.TrimSuffix(opts.URL, "/")
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 20 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if m, ok := LookupMutant(opts.Defect); ok && opts.Launch == "" {
		opts.Launch = m.LaunchMode() // a defect of a launch mode runs in it
	}
	switch opts.Launch {
	case "":
		opts.Launch = LaunchSMART
	case LaunchSMART:
	case LaunchContextToken:
		if opts.Trust == nil {
			return nil, errors.New("creating the viewer: a context-token launch needs the issuer it trusts (BCBENCH_AUTH_ISSUER and BCBENCH_AUTH_JWKS)")
		}
	default:
		return nil, fmt.Errorf("creating the viewer: unknown launch %q (known: %s)", opts.Launch, strings.Join(LaunchModes, ", "))
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), audit: &auditLog{}, pending: map[string]flow{}, sessions: map[string]*session{}, used: map[string]time.Time{}}
	if opts.Defect != "" {
		m, ok := LookupMutant(opts.Defect)
		if !ok {
			return nil, fmt.Errorf("unknown viewer defect %q (known: %s)", opts.Defect, strings.Join(MutantNames(), ", "))
		}
		if m.LaunchMode() != opts.Launch {
			return nil, fmt.Errorf("viewer defect %q is one of the %s launch, not of %s", opts.Defect, m.LaunchMode(), opts.Launch)
		}
		s.defect = &m
	}
	s.mux.HandleFunc("GET /{$}", s.home)
	s.mux.HandleFunc("GET "+LaunchPath, s.launch)
	s.mux.HandleFunc("GET "+CallbackPath, s.callback)
	s.mux.HandleFunc("GET "+DossierPath, s.dossier)
	s.mux.HandleFunc("GET "+AuditPath, s.auditSearch)
	if s.defect != nil && s.defect.leakFetch {
		s.mux.HandleFunc("GET "+leakPath, s.leaked)
	}
	health := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok","software":"bcbench reference viewer"}`))
	}
	s.mux.HandleFunc("GET /health", health)
	// where bcbench run asks a started role whether it is up (the adapter's)
	s.mux.HandleFunc("GET /bench/health", health)
	return s, nil
}

// ClientID is the viewer's client_id.
func (s *Server) ClientID() string { return s.opts.ClientID }

// Launch is how the viewer is opened (LaunchSMART or LaunchContextToken).
func (s *Server) Launch() string { return s.opts.Launch }

// RedirectURI is where the authorization server sends the browser back.
func (s *Server) RedirectURI() string { return s.opts.URL + CallbackPath }

// LaunchURL is the address the XIS opens with iss and launch.
func (s *Server) LaunchURL() string { return s.opts.URL + LaunchPath }

// ServeHTTP implements http.Handler. Every answer forbids caching and
// framing.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

// home sends a browser with a session to its client's record; without one
// the viewer refuses: it is only opened from the XIS.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(r); ok {
		http.Redirect(w, r, DossierPath, http.StatusSeeOther)
		return
	}
	s.refuse(w, "De viewer is niet vanuit uw eigen systeem geopend.")
}

// launch starts an EHR launch: it reads the SMART configuration of iss and
// sends the browser to the authorization endpoint with a fresh state and
// PKCE verifier, remembered for this browser in a cookie.
func (s *Server) launch(w http.ResponseWriter, r *http.Request) {
	if s.opts.Launch == LaunchContextToken {
		s.launchToken(w, r)
		return
	}
	q := r.URL.Query()
	iss, launch := q.Get("iss"), q.Get("launch")
	if iss == "" || launch == "" || len(iss) > 2048 || len(launch) > 2048 {
		s.refuse(w, "De viewer is geopend zonder context (iss en launch ontbreken).")
		return
	}
	cfg, err := smart.Discover(r.Context(), s.opts.HTTP, iss)
	if err != nil {
		s.refuse(w, "De gegevens van het bronsysteem konden niet worden gelezen.")
		return
	}
	redirect := s.RedirectURI()
	if s.opts.URL == "" {
		redirect = "http://" + r.Host + CallbackPath
	}
	req, err := smart.NewRequest(s.opts.ClientID, redirect, iss, launch)
	if err != nil {
		s.refuse(w, "De viewer kon geen aanvraag maken.")
		return
	}
	to, err := req.AuthorizeURL(cfg)
	if err != nil {
		s.refuse(w, "Het bronsysteem gaf geen bruikbaar autorisatie-adres.")
		return
	}
	s.mu.Lock()
	s.sweep()
	if len(s.pending) >= maxPending {
		s.mu.Unlock()
		s.refuse(w, "De viewer is te druk; probeer het later opnieuw.")
		return
	}
	s.pending[req.State] = flow{req: req, cfg: cfg, expires: s.opts.Now().Add(flowTTL)}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: req.State, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: int(flowTTL.Seconds())})
	http.Redirect(w, r, to, http.StatusFound)
}

// launchToken opens the viewer with a signed context token: its
// signature, issuer, aud (this viewer), exp and iat are checked, its jti
// must be new, and it is exchanged at the issuer's token endpoint for an
// access token of the same professional.
func (s *Server) launchToken(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query().Get(ContextTokenParam)
	if raw == "" {
		s.refuse(w, "De viewer is geopend zonder context (het contexttoken ontbreekt).")
		return
	}
	l, err := s.opts.Trust.VerifyContext(raw, s.opts.ClientID, s.opts.Now())
	if err != nil {
		s.refuse(w, "Het contexttoken is ongeldig, verlopen of niet voor deze viewer bestemd.")
		return
	}
	if s.defect == nil || !s.defect.reuse {
		if msg := s.use(l); msg != "" {
			s.refuse(w, msg)
			return
		}
	}
	tr, err := smart.ExchangeContext(r.Context(), s.opts.HTTP, s.opts.Trust.Issuer()+smart.TokenPath, s.opts.ClientID, raw)
	if err != nil {
		s.refuse(w, "Het bronsysteem gaf geen toegang.")
		return
	}
	s.startSession(w, r, &session{iss: l.Context.FHIRBase, token: tr.AccessToken, fhirUser: tr.FHIRUser, patients: []string{tr.Patient}})
}

// use marks a context token's jti as used until it expires (and the
// minute of leeway after); it answers the refusal when it was used before.
func (s *Server) use(l token.Launch) string {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, until := range s.used {
		if now.After(until) {
			delete(s.used, id)
		}
	}
	if _, seen := s.used[l.ID]; seen {
		return "Dit contexttoken is al gebruikt: open de viewer opnieuw vanuit uw eigen systeem."
	}
	if len(s.used) >= maxPending {
		return "De viewer is te druk; probeer het later opnieuw."
	}
	s.used[l.ID] = l.Expiry.Add(time.Minute)
	return ""
}

// callback takes the authorization server's answer: a code for the state
// this browser started with is exchanged (with its verifier) for the token
// and the context; anything else is refused.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		var leak template.HTML
		if s.defect != nil && s.defect.leakFetch {
			s.mu.Lock()
			f, ok := s.pending[q.Get("state")]
			s.mu.Unlock()
			if ok {
				leak = s.leak(r, "launch:"+f.req.Launch)
			}
		}
		s.refuseWith(w, "Het bronsysteem weigerde de toegang: "+trim(q.Get("error_description"), 200)+" ("+trim(e, 40)+").", leak)
		return
	}
	state, code := q.Get("state"), q.Get("code")
	if s.defect != nil && s.defect.replay {
		if sess, ok := s.replayed(code); ok {
			s.startSession(w, r, sess)
			return
		}
	}
	c, err := r.Cookie(flowCookie)
	if err != nil || state == "" || c.Value != state {
		var leak template.HTML
		if s.defect != nil && s.defect.hiddenName {
			leak = s.leak(r, "code:"+code)
		}
		s.refuseWith(w, "Deze terugkeer hoort niet bij een opening van de viewer in deze browser.", leak)
		return
	}
	s.mu.Lock()
	f, ok := s.pending[state]
	delete(s.pending, state)
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: "", Path: "/", HttpOnly: true, MaxAge: -1})
	if !ok || s.opts.Now().After(f.expires) || code == "" {
		s.refuse(w, "Deze opening van de viewer is verlopen of al gebruikt.")
		return
	}
	tr, err := f.req.Exchange(r.Context(), s.opts.HTTP, f.cfg, code)
	if err != nil {
		s.refuse(w, "Het bronsysteem gaf geen toegang.")
		return
	}
	sess := &session{iss: f.req.ISS, token: tr.AccessToken, fhirUser: tr.FHIRUser, patients: []string{tr.Patient}}
	if s.defect != nil && s.defect.replay {
		s.remember(code, sess)
	}
	if s.leaking() {
		s.rememberSpent(code, f.req.Launch, sess)
	}
	s.startSession(w, r, sess)
}

// startSession stores the session, sets its cookie and shows the record.
// A new launch replaces the browser's earlier session: only the new
// context's client is shown.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, sess *session) {
	sess.expires = s.opts.Now().Add(sessionTTL)
	if s.defect != nil && s.defect.keepOld {
		if old, ok := s.session(r); ok {
			sess.patients = append(append([]string(nil), old.patients...), sess.patients...)
		}
	}
	id, err := random()
	if err != nil {
		s.refuse(w, "De viewer kon geen sessie maken.")
		return
	}
	s.mu.Lock()
	s.sweep()
	if old, err := r.Cookie(sessionCookie); err == nil {
		delete(s.sessions, old.Value)
	}
	if len(s.sessions) >= maxSessions {
		s.mu.Unlock()
		s.refuse(w, "De viewer is te druk; probeer het later opnieuw.")
		return
	}
	s.sessions[id] = sess
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: int(sessionTTL.Seconds())})
	http.Redirect(w, r, DossierPath, http.StatusSeeOther)
}

// session returns the browser's live session.
func (s *Server) session(r *http.Request) (*session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[c.Value]
	if !ok || s.opts.Now().After(sess.expires) {
		return nil, false
	}
	return sess, true
}

// sweep drops expired flows and sessions; s.mu is held.
func (s *Server) sweep() {
	now := s.opts.Now()
	for k, f := range s.pending {
		if now.After(f.expires) {
			delete(s.pending, k)
		}
	}
	for k, v := range s.sessions {
		if now.After(v.expires) {
			delete(s.sessions, k)
		}
	}
}

// dossier shows the session's client.
func (s *Server) dossier(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(r)
	if !ok {
		s.refuse(w, "Er is geen geldige opening van de viewer vanuit uw eigen systeem.")
		return
	}
	var views []*record
	for _, pid := range sess.patients {
		rec, err := s.recordOf(r.Context(), sess, pid)
		if err != nil {
			s.refuse(w, "De gegevens van de cliënt konden niet worden gelezen.")
			return
		}
		views = append(views, rec)
		s.logView(sess, rec, r)
	}
	s.render(w, views)
}

// recordOf reads the client's record from the XIS; the verouderd-dossier
// defect serves a record it read less than StaleFor ago again.
func (s *Server) recordOf(ctx context.Context, sess *session, pid string) (*record, error) {
	if s.defect == nil || !s.defect.stale {
		return s.read(ctx, sess, pid)
	}
	s.mu.Lock()
	c, ok := s.staleCache[pid]
	s.mu.Unlock()
	if ok && s.opts.Now().Sub(c.at) < StaleFor {
		return c.rec, nil
	}
	rec, err := s.read(ctx, sess, pid)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.staleCache == nil || len(s.staleCache) >= maxSessions {
		s.staleCache = map[string]cachedRecord{}
	}
	s.staleCache[pid] = cachedRecord{rec: rec, at: s.opts.Now()}
	s.mu.Unlock()
	return rec, nil
}

func random() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func trim(s string, n int) string {
	if len([]rune(s)) > n {
		return string([]rune(s)[:n]) + "…"
	}
	return s
}

// replayCache is the "zonder-launch" defect: it keeps the session of every
// code it exchanged and serves it again for the same code.
var replayMu sync.Mutex

func (s *Server) remember(code string, sess *session) {
	replayMu.Lock()
	defer replayMu.Unlock()
	if s.replayCache == nil {
		s.replayCache = map[string]*session{}
	}
	if len(s.replayCache) < maxSessions {
		cp := *sess
		s.replayCache[code] = &cp
	}
}

func (s *Server) replayed(code string) (*session, bool) {
	replayMu.Lock()
	defer replayMu.Unlock()
	sess, ok := s.replayCache[code]
	if !ok {
		return nil, false
	}
	cp := *sess
	return &cp, true
}
