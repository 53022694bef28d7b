package viewer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/bcbench/bcbench/smart"
	"github.com/bcbench/bcbench/token"
)

// FrontOptions configure the XIS side of a viewer that reads a run's own
// XIS (a candidate's or the bench's reference as the role xis).
type FrontOptions struct {
	// Upstream is the XIS's FHIR base (its recording proxy).
	Upstream string
	// Transport reaches Upstream; it must keep the viewer's Authorization.
	Transport http.RoundTripper
	// Issuer signs the access tokens: the issuer the XIS trusts.
	Issuer *token.Issuer
	// Audience is the aud the XIS expects in them (its role key).
	Audience string
	// Viewer is the viewer the authorization server admits.
	Viewer Client
	// Now is the authorization server's clock.
	Now func() time.Time
}

// StartFront starts, on a loopback port, the FHIR base a viewer is
// launched with when it reads a run's XIS: the bench serves the SMART
// configuration under it and its authorization server beside it (at
// AuthPrefix), and forwards every other read to the XIS. The Stack it
// returns has no XIS and no reference viewer of its own.
func StartFront(ctx context.Context, opts FrontOptions) (*Stack, error) {
	up, err := url.Parse(strings.TrimSuffix(opts.Upstream, "/"))
	if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" {
		return nil, fmt.Errorf("starting the viewer's front: the XIS's FHIR base %q is no absolute http(s) URL", opts.Upstream)
	}
	if opts.Issuer == nil || opts.Transport == nil {
		return nil, errors.New("starting the viewer's front: the token issuer and the XIS's transport are required")
	}
	ln, err := listen(ctx)
	if err != nil {
		return nil, err
	}
	st := &Stack{Issuer: opts.Issuer, Viewer: opts.Viewer}
	st.XISURL = "http://" + ln.Addr().String()
	st.Auth, err = smart.NewServer(st.XISURL+AuthPrefix, st.FHIR(), opts.Issuer, opts.Now)
	if err == nil {
		st.Auth.Audience = opts.Audience
		err = st.Auth.Register(smart.Client{ID: opts.Viewer.ClientID, RedirectURI: opts.Viewer.RedirectURI})
	}
	if err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fhir"+smart.ConfigPath, st.Auth.ServeConfig)
	mux.Handle("/fhir/", forward(up, opts.Transport))
	mux.Handle(AuthPrefix+"/", http.StripPrefix(AuthPrefix, st.Auth.Handler()))
	st.serve(ln, mux)
	return st, nil
}

// under checks that the escaped rest of a path after /fhir stays under
// the FHIR base once decoded: no encoded slash or backslash, no "." or ".."
// segment, no bad escape.
func under(rest string) error {
	if l := strings.ToLower(rest); strings.Contains(l, "%2f") || strings.Contains(l, "%5c") || strings.Contains(rest, `\`) {
		return fmt.Errorf("the path %q has an encoded slash or a backslash", rest)
	}
	p, err := url.PathUnescape(rest)
	if err != nil {
		return fmt.Errorf("the path %q: %w", rest, err)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("the path %q has a %q segment", rest, seg)
		}
	}
	return nil
}

// forward passes a viewer's reads under /fhir/ to the XIS's FHIR base with
// the viewer's own token: GET and HEAD, and POST of a _search. Nothing else
// reaches the XIS through the front.
func forward(up *url.URL, rt http.RoundTripper) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			rest := strings.TrimPrefix(pr.In.URL.EscapedPath(), "/fhir")
			u := *up
			u.RawPath = ""
			u.Path = ""
			if p, err := url.PathUnescape(up.EscapedPath() + rest); err == nil {
				u.Path, u.RawPath = p, up.EscapedPath()+rest
			}
			u.RawQuery = pr.In.URL.RawQuery
			pr.Out.URL = &u
			pr.Out.Host = ""
		},
		Transport: rt,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "the bench could not reach the XIS: "+err.Error(), http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		search := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/_search")
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !search {
			w.Header().Set("Allow", "GET, HEAD, POST (_search)")
			http.Error(w, "the viewer reads the XIS: only GET, HEAD and POST _search pass", http.StatusMethodNotAllowed)
			return
		}
		if err := under(strings.TrimPrefix(r.URL.EscapedPath(), "/fhir")); err != nil {
			http.Error(w, "the viewer reads the XIS's FHIR base only: "+err.Error(), http.StatusBadRequest)
			return
		}
		rp.ServeHTTP(w, r)
	})
}
