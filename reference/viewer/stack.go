package viewer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/reference/xis"
	"github.com/bcbench/bcbench/smart"
	"github.com/bcbench/bcbench/token"
)

// AuthPrefix is where the stack's XIS host serves the authorization server
// and the token issuer's keys.
const AuthPrefix = "/auth"

// StackOptions configure the XIS side a viewer is launched from.
type StackOptions struct {
	// Defect of the reference viewer (none when empty).
	Defect string
	// External, when set, is a candidate viewer: its launch URL, client_id
	// and redirect URI; the stack then starts no reference viewer.
	External *Client
	// Now is the clock of the XIS, the authorization server and the viewer.
	Now func() time.Time
	// Launch is how the reference viewer is opened (LaunchSMART when
	// empty); an External viewer says its own.
	Launch string
	// Host, when set, is the XIS host prepared before the viewer started
	// (PrepareHost): a viewer opened with a context token learns its
	// issuer and keys when it starts.
	Host *Host
	// Inner, when set, is the XIS host as the viewer reaches it
	// (http://host:port), when that is not its loopback address: a viewer
	// in a container reaches the bench only through the run's Docker
	// network. The launch's iss, the token endpoint and the token issuer are
	// then on Inner; the browser (on the bench's host) still reaches the
	// authorization endpoint at XISURL. Not with Host (a host made ahead
	// is on loopback).
	Inner string
}

// Host is the XIS host of a stack made ahead: its loopback listener and the
// token issuer at its URL + AuthPrefix.
type Host struct {
	ln     net.Listener
	Issuer *token.Issuer
}

// PrepareHost listens on a loopback port for the XIS host and makes the
// issuer whose keys a viewer started before the stack trusts. StartStack
// with it serves it; Close releases it when no stack does.
func PrepareHost(ctx context.Context) (*Host, error) { return prepareHost(ctx, "") }

// prepareHost is PrepareHost with the issuer on inner (StackOptions.Inner)
// instead of the loopback address when inner is set.
func prepareHost(ctx context.Context, inner string) (*Host, error) {
	if inner != "" {
		u, err := url.Parse(inner)
		if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("starting the viewer stack: inner address %q is no http://host:port", inner)
		}
	}
	ln, err := listen(ctx)
	if err != nil {
		return nil, err
	}
	if inner == "" {
		inner = "http://" + ln.Addr().String()
	}
	iss, err := token.NewIssuer(strings.TrimSuffix(inner, "/") + AuthPrefix)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return &Host{ln: ln, Issuer: iss}, nil
}

// Close releases the listener of a host no stack serves; nil-safe.
func (h *Host) Close() error {
	if h == nil {
		return nil
	}
	err := h.ln.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Client is a viewer as the authorization server knows it.
type Client struct {
	LaunchURL, ClientID, RedirectURI string
	// Launch is how the XIS opens it: LaunchSMART (when empty) or
	// LaunchContextToken (then it has no redirect URI).
	Launch string
}

// contextToken tells whether the client is opened with a context token.
func (c Client) contextToken() bool { return c.Launch == LaunchContextToken }

// Stack is the XIS side of a viewer run on loopback: the reference XIS
// (FHIR API, adapter, access log, SMART configuration), the bench's
// authorization server and token issuer on the same host, and the viewer.
type Stack struct {
	XIS    *xis.Server
	Auth   *smart.Server
	Issuer *token.Issuer
	Viewer Client
	// Reference is the reference viewer (nil for an external one).
	Reference *Server
	// XISURL is the XIS host on loopback (the bench's own FHIR base is
	// XISURL + /fhir), where the browser reaches the authorization
	// endpoint; ViewerURL the reference viewer's base.
	XISURL, ViewerURL string
	// Inner is the XIS host as the viewer reaches it (StackOptions.Inner;
	// XISURL when empty).
	Inner string
	// InnerTarget, when Inner is not XISURL, is the loopback host:port
	// that stands for Inner (where a container viewer's back relay
	// leads): it serves the FHIR base and the authorization server only,
	// not the bench's adapter of the XIS.
	InnerTarget string

	opts    StackOptions
	servers []*http.Server
}

// FHIR is the launch's iss: the FHIR base as the viewer reaches it.
func (s *Stack) FHIR() string {
	if s.Inner == "" {
		return s.XISURL + "/fhir"
	}
	return s.Inner + "/fhir"
}

// LocalFHIR is the FHIR base on loopback, where the bench reads and
// replays.
func (s *Stack) LocalFHIR() string { return s.XISURL + "/fhir" }

// StartStack starts the XIS host and, unless External is set, the
// reference viewer, each on a loopback port.
func StartStack(ctx context.Context, opts StackOptions) (*Stack, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	st := &Stack{opts: opts}
	if opts.Host != nil && opts.Inner != "" {
		return nil, errors.New("starting the viewer stack: a host made ahead is on loopback only, it has no inner address")
	}
	host := opts.Host
	if host == nil {
		var err error
		if host, err = prepareHost(ctx, opts.Inner); err != nil {
			return nil, err
		}
	}
	xisLn := host.ln
	st.XISURL = "http://" + xisLn.Addr().String()
	st.Inner = strings.TrimSuffix(host.Issuer.URL(), AuthPrefix)
	st.Issuer = host.Issuer
	var err error
	st.Auth, err = smart.NewServer(st.Inner+AuthPrefix, st.FHIR(), st.Issuer, opts.Now)
	if err != nil {
		xisLn.Close()
		return nil, err
	}
	if st.Inner != st.XISURL {
		st.Auth.BrowserURL(st.XISURL + AuthPrefix)
	}
	trust, err := token.NewVerifier(st.Issuer.URL(), st.Issuer.JWKS())
	if err != nil {
		xisLn.Close()
		return nil, err
	}
	cfg := st.Auth.Config()
	st.XIS, err = xis.New(xis.Options{Now: opts.Now, Trust: trust, SMART: &cfg})
	if err != nil {
		xisLn.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", st.XIS)
	mux.Handle(AuthPrefix+"/", http.StripPrefix(AuthPrefix, authHandler(st)))
	st.serve(xisLn, mux)
	if st.Inner != st.XISURL {
		innerLn, err := listen(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		st.InnerTarget = innerLn.Addr().String()
		st.serve(innerLn, viewerOnly(mux))
	}

	if opts.External != nil {
		st.Viewer = *opts.External
	} else {
		vLn, err := listen(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		st.ViewerURL = "http://" + vLn.Addr().String()
		st.Reference, err = New(Options{URL: st.ViewerURL, Defect: opts.Defect, Now: opts.Now, Launch: opts.Launch, Trust: trust})
		if err != nil {
			vLn.Close()
			st.Close()
			return nil, err
		}
		st.serve(vLn, st.Reference)
		st.Viewer = Client{LaunchURL: st.Reference.LaunchURL(), ClientID: st.Reference.ClientID(), RedirectURI: st.Reference.RedirectURI(), Launch: st.Reference.Launch()}
	}
	if st.Viewer.contextToken() {
		err = st.Auth.RegisterExchange(st.Viewer.ClientID)
	} else {
		err = st.Auth.Register(smart.Client{ID: st.Viewer.ClientID, RedirectURI: st.Viewer.RedirectURI})
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// viewerOnly is what a viewer elsewhere may reach of the XIS host: the FHIR
// base (a path that stays under it once decoded) and the authorization
// server; the bench's adapter (/bench) and the rest answer 404.
func viewerOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		rest, fhir := strings.CutPrefix(p, "/fhir")
		switch {
		case fhir && (rest == "" || strings.HasPrefix(rest, "/")) && under(rest) == nil:
		case strings.HasPrefix(p, AuthPrefix+"/") && under(strings.TrimPrefix(p, AuthPrefix)) == nil:
		default:
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func authHandler(st *Stack) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", st.Auth.Handler())
	mux.Handle(token.JWKSPath, st.Issuer.Handler())
	return mux
}

// Professional is who the token names for a provider's professional.
func Professional(p fixtures.Provider) token.Professional {
	role := fixtures.ProfessionalRoles[p.Professional.Role]
	return token.Professional{Name: p.Professional.Name, UZI: p.Professional.UZI, AGB: p.Professional.AGB,
		Role: role.Code, RoleDisplay: role.Display, OrgName: p.Name, OrgURA: p.URA, OrgAGB: p.AGB}
}

// LaunchURL creates a launch for the client's Patient id by the
// professional and returns the address the XIS opens the viewer with: a
// SMART launch, or a fresh context token (valid token.ContextTTL).
func (s *Stack) LaunchURL(patient string, p token.Professional) (string, error) {
	if s.Viewer.contextToken() {
		return s.tokenURL(patient, p, s.Viewer.ClientID, s.opts.Now(), token.ContextTTL)
	}
	l, err := s.Auth.Launch(smart.Context{Patient: patient, Professional: p, Client: s.Viewer.ClientID})
	if err != nil {
		return "", err
	}
	return smart.LaunchURL(s.Viewer.LaunchURL, s.FHIR(), l)
}

// tokenURL is the viewer's launch address with a context token for the
// audience, issued at iat.
func (s *Stack) tokenURL(patient string, p token.Professional, audience string, iat time.Time, ttl time.Duration) (string, error) {
	tok, err := s.Issuer.IssueContext(p, token.Context{Patient: patient, FHIRBase: s.FHIR()}, audience, iat, ttl)
	if err != nil {
		return "", err
	}
	return ContextLaunchURL(s.Viewer.LaunchURL, tok)
}

// ContextLaunchURL is how the XIS opens a viewer with a context token: its
// launch URL with the token in ContextTokenParam.
func ContextLaunchURL(viewerLaunch, contextToken string) (string, error) {
	u, err := url.Parse(viewerLaunch)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("building the launch URL: %q is no absolute http(s) URL", viewerLaunch)
	}
	q := u.Query()
	q.Set(ContextTokenParam, contextToken)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Origins are the hosts besides the viewer's that a launch passes through
// in the browser (the authorization server).
func (s *Stack) Origins() []string { return []string{s.XISURL} }

func (s *Stack) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
}

// Close stops every server of the stack.
func (s *Stack) Close() error {
	var errs []error
	for _, srv := range s.servers {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		cancel()
	}
	return errors.Join(errs...)
}

func listen(ctx context.Context) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the viewer stack: %w", err)
	}
	return ln, nil
}

// Refusals are launch addresses the viewer must refuse for the client, by
// name: no context, a tampered launch, an expired one, one made for
// another viewer; with a context token: none, a broken signature, one past
// its exp, one for another viewer (aud).
func (s *Stack) Refusals(patient string, p token.Professional) (map[string]string, error) {
	out := map[string]string{"geen context": s.Viewer.LaunchURL}
	if s.Viewer.contextToken() {
		return s.tokenRefusals(out, patient, p)
	}
	l, err := s.Auth.Launch(smart.Context{Patient: patient, Professional: p, Client: s.Viewer.ClientID})
	if err != nil {
		return nil, err
	}
	tampered := l[:len(l)-4] + "AAAA"
	if tampered == l {
		tampered = l[:len(l)-4] + "BBBB"
	}
	expired, err := s.Auth.LaunchExpired(smart.Context{Patient: patient, Professional: p, Client: s.Viewer.ClientID})
	if err != nil {
		return nil, err
	}
	other, err := s.Auth.Launch(smart.Context{Patient: patient, Professional: p, Client: s.Viewer.ClientID + "-ander"})
	if err != nil {
		return nil, err
	}
	for name, launch := range map[string]string{"gewijzigde opening": tampered, "verlopen opening": expired, "opening voor een andere viewer": other} {
		u, err := smart.LaunchURL(s.Viewer.LaunchURL, s.FHIR(), launch)
		if err != nil {
			return nil, err
		}
		out[name] = u
	}
	return out, nil
}

// tokenRefusals adds the refused context tokens: a broken signature, one
// expired five minutes ago (past any minute of leeway), one for another
// viewer. The token used twice is the spec's (it opens a valid launch
// again).
func (s *Stack) tokenRefusals(out map[string]string, patient string, p token.Professional) (map[string]string, error) {
	now := s.opts.Now()
	good, err := s.Issuer.IssueContext(p, token.Context{Patient: patient, FHIRBase: s.FHIR()}, s.Viewer.ClientID, now, token.ContextTTL)
	if err != nil {
		return nil, err
	}
	broken, err := breakSignature(good)
	if err != nil {
		return nil, err
	}
	if out["gebroken handtekening"], err = ContextLaunchURL(s.Viewer.LaunchURL, broken); err != nil {
		return nil, err
	}
	if out["verlopen token"], err = s.tokenURL(patient, p, s.Viewer.ClientID, now.Add(-5*time.Minute-token.ContextTTL), token.ContextTTL); err != nil {
		return nil, err
	}
	if out["token voor een andere viewer"], err = s.tokenURL(patient, p, s.Viewer.ClientID+"-ander", now, token.ContextTTL); err != nil {
		return nil, err
	}
	return out, nil
}

// breakSignature changes one letter early in a JWT's signature (not the
// last, whose low bits may be padding): the signature no longer verifies.
func breakSignature(jwt string) (string, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || len(parts[2]) < 8 {
		return "", errors.New("breaking the signature: no signed JWT")
	}
	sig := []byte(parts[2])
	if sig[5] == 'A' {
		sig[5] = 'B'
	} else {
		sig[5] = 'A'
	}
	return parts[0] + "." + parts[1] + "." + string(sig), nil
}
