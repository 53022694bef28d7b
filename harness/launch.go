package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Launch defaults.
const (
	DefaultStartupTimeout = 60 * time.Second
	DefaultRequestTimeout = 30 * time.Second
	DefaultStopTimeout    = 60 * time.Second
)

// LaunchOptions tune Launch.
type LaunchOptions struct {
	// Builtin gives the handler of the bench's own reference for a role; it
	// is asked for every role the manifest marks `builtin: true` (the run
	// command passes reference handlers; the harness never imports them),
	// with what the role must know of the chain (Wiring).
	Builtin func(role string, w Wiring) (http.Handler, error)
	// StartupTimeout bounds the start of each role until its health
	// endpoint answers (default 60 s).
	StartupTimeout time.Duration
	// RequestTimeout bounds every request the bench sends through a role's
	// Client and the proxy's wait for answers (default 30 s).
	RequestTimeout time.Duration
	// EvidenceDir, when set, receives on Stop one HAR file per role
	// (<role>.har) and the logs of started roles (<role>.log).
	EvidenceDir string
	// MaxBody bounds each body kept in evidence (default 1 MiB).
	MaxBody int
	// BenchVersion is written into HAR files.
	BenchVersion string
	// Logf, when set, receives progress messages (one line each).
	Logf func(format string, args ...any)
	// RunID labels the run's containers and network (default: random).
	RunID string
	// Limits bound every candidate container (zero fields:
	// DefaultContainerLimits); a certification profile names them.
	Limits ContainerLimits
	// Certifying refuses, before anything starts, what may not run in a
	// certifying run (CheckCertifying): command and url candidates and
	// images not pinned by digest.
	Certifying bool
	// RelayBinary is a static Linux bcbench binary for the relay image that
	// reaches container candidates (default: $BCBENCH_RELAY_BIN, else the
	// running executable).
	RelayBinary string
	// IdP is the issuer URL of the bench's test identity provider (on
	// loopback), told to the dvza role (IdPURLEnv).
	IdP string
}

// IndexURLEnv is the environment variable that tells a process or container
// XIS the FHIR base of the chain's index (docs/chain.md).
const IndexURLEnv = "BCBENCH_INDEX_URL"

// IdPURLEnv is the environment variable that tells a process DVZA the
// issuer URL of the bench's test identity provider (docs/medmij.md).
const IdPURLEnv = "BCBENCH_IDP_URL"

// Wiring is what a role is told about the rest of the chain when it starts.
type Wiring struct {
	// Index is the FHIR base of the chain's index as the role reaches it, for
	// an XIS to register what it publishes; "" when the chain has no index.
	Index string
	// IdP is the issuer URL of the bench's test identity provider, for a
	// DVZA whose clients log in there; "" for other roles.
	IdP string
	// Contract is a publisher's adapter contract (RoleSpec.Contract): a
	// built-in publisher with ContractTranslator is the reference
	// translator, publishing into the index like an XIS.
	Contract string
}

// Candidate is a started candidate: every role of its manifest, each behind
// a recording proxy.
type Candidate struct {
	Manifest *Manifest
	// RunID labels the run's containers and network (Docker label bcbench.run).
	RunID string
	// Roles holds the started roles, in the bench's order.
	Roles []*Role

	opts     LaunchOptions
	network  *runNetwork
	relay    string // the relay image, once built or found
	stopOnce sync.Once
	stopErr  error
	warnings []string
	findings *findingLog
	scratch  []string // process candidates' HOME folders

	exposedMu sync.Mutex
	exposed   []func() // back relays (Expose), ended by Stop
}

// findingLog collects what a candidate did that the bench refused (a
// redirect to another host or port), for the report.
type findingLog struct {
	mu   sync.Mutex
	list []string
}

func (f *findingLog) add(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.list) < 100 && !slices.Contains(f.list, s) {
		f.list = append(f.list, s)
	}
}

// Findings lists what a candidate did that the bench refused: a redirect
// to another host or port (never followed), a URL outside its proxy.
func (c *Candidate) Findings() []string {
	c.findings.mu.Lock()
	defer c.findings.mu.Unlock()
	return slices.Clone(c.findings.list)
}

// Role is one started role of a candidate.
type Role struct {
	// Name is xis, translator, index, viewer or dvza.
	Name   string
	Spec   *RoleSpec
	Target Target
	Proxy  *Proxy
	// Token is the bearer token the bench sends (empty for none).
	Token string

	requestTimeout time.Duration
	identity       Identity
	findings       *findingLog
	cand           *Candidate
}

// URL is where the bench reaches the role: its proxy (so every exchange is
// recorded), without a trailing slash.
func (r *Role) URL() string { return r.Proxy.URL() }

// FHIRBase is the role's FHIR base URL through the proxy.
func (r *Role) FHIRBase() string { return r.Proxy.URL() + r.Spec.FHIRBase }

// AdapterBase is the role's adapter base URL through the proxy.
func (r *Role) AdapterBase() string { return r.Proxy.URL() + r.Spec.Adapter }

// Identity says exactly what runs in the role, for the report.
func (r *Role) Identity() Identity { return r.identity }

// Entries returns what the bench exchanged with the role so far.
func (r *Role) Entries() []Entry { return r.Proxy.Entries() }

// Alive returns nil while the role's target runs (always nil for targets
// that cannot tell, such as an attached URL).
func (r *Role) Alive(ctx context.Context) error {
	if p, ok := r.Target.(Prober); ok {
		return p.Alive(ctx)
	}
	return nil
}

// diagnose says why the role stopped answering, when its target can tell.
// A target that just died may take a moment to be reaped, so it asks for up
// to a second.
func (r *Role) diagnose() error {
	p, ok := r.Target.(Prober)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	deadline := time.Now().Add(time.Second)
	for {
		err := p.Alive(ctx)
		if err != nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Client returns an HTTP client for the role: requests time out after the
// request timeout, carry the role's bearer token unless they set their own
// Authorization, and a candidate that cannot be reached (crashed, killed,
// hanging) yields an *UnreachableError instead of the proxy's 502.
//
// Every request stays on the role's recording proxy: a URL on the
// candidate's own address (an absolute next link or a redirect it built
// from its own base) goes through the proxy instead, and one anywhere else
// is refused. A redirect to another host or port is never followed and is
// kept as a finding (Candidate.Findings).
func (r *Role) Client() *http.Client {
	return &http.Client{
		Timeout:       r.requestTimeout,
		Transport:     &roleTransport{role: r, base: benchTransport},
		CheckRedirect: r.checkRedirect,
	}
}

// RedirectError is a redirect the bench refused to follow.
type RedirectError struct {
	Role     string
	From, To string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("role %s redirected the bench from %s to %s, another host or port: not followed", e.Role, e.From, e.To)
}

func (r *Role) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("role %s: more than 10 redirects", r.Name)
	}
	if r.onCandidate(req.URL) {
		return nil
	}
	err := &RedirectError{Role: r.Name, From: RedactURL(via[len(via)-1].URL.String()), To: RedactURL(req.URL.String())}
	if r.findings != nil {
		r.findings.add(err.Error())
	}
	return err
}

// onCandidate reports whether u is on the role's proxy or the candidate's
// own address.
func (r *Role) onCandidate(u *url.URL) bool {
	if r.Proxy == nil {
		return false
	}
	return u.Host == r.Proxy.host() || u.Host == r.Proxy.upstream.Host
}

// benchTransport carries the bench's requests to the proxies on loopback:
// never through an outside proxy, connections reused.
var benchTransport = &http.Transport{
	Proxy:               nil,
	DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	MaxIdleConns:        64,
	MaxIdleConnsPerHost: 16,
	IdleConnTimeout:     60 * time.Second,
}

// Adapter returns the adapter client for the role (through the proxy).
func (r *Role) Adapter() *Adapter {
	return &Adapter{Base: r.AdapterBase(), Client: r.Client(), Token: r.Token}
}

// UnreachableError says that a role did not answer; Cause says why when the
// bench can tell (for example the container's exit code).
type UnreachableError struct {
	Role   string
	Detail string
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("candidate role %s unreachable: %s", e.Role, e.Detail)
}

type roleTransport struct {
	role *Role
	base http.RoundTripper
}

func (t *roleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := t.role
	switch {
	case r.Proxy == nil:
		return nil, fmt.Errorf("role %s has no recording proxy yet", r.Name)
	case req.URL.Host == r.Proxy.host():
	case req.URL.Host == r.Proxy.upstream.Host:
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host, req.URL.User, req.Host = "http", r.Proxy.host(), nil, ""
	default:
		msg := fmt.Sprintf("role %s sent the bench to %s, outside its recording proxy: refused", r.Name, RedactURL(req.URL.String()))
		if r.findings != nil {
			r.findings.add(msg)
		}
		return nil, errors.New(msg)
	}
	if r.Token != "" && req.Header.Get("Authorization") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusBadGateway && resp.Header.Get(ProxyErrorHeader) != "" {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, &UnreachableError{Role: t.role.Name, Detail: strings.TrimSpace(string(b))}
	}
	return resp, nil
}

// Role returns the started role with the given name, or nil.
func (c *Candidate) Role(name string) *Role {
	for _, r := range c.Roles {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Identities returns the identity of every role, for results.json.
func (c *Candidate) Identities() []Identity {
	out := make([]Identity, len(c.Roles))
	for i, r := range c.Roles {
		out[i] = r.identity
	}
	return out
}

// Warnings lists what went less than perfectly at launch (for instance an
// attached system without a readable CapabilityStatement).
func (c *Candidate) Warnings() []string { return append([]string(nil), c.warnings...) }

// Entries returns every recorded exchange of every role, per role in order.
func (c *Candidate) Entries() []Entry {
	var out []Entry
	for _, r := range c.Roles {
		out = append(out, r.Proxy.Entries()...)
	}
	return out
}

// Alive returns an error naming every role that no longer runs.
func (c *Candidate) Alive(ctx context.Context) error {
	var errs []error
	for _, r := range c.Roles {
		if err := r.Alive(ctx); err != nil {
			errs = append(errs, fmt.Errorf("role %s: %w", r.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Launch starts every role of the manifest, each behind a recording proxy,
// and returns once all answer their health endpoint. When anything fails,
// or ctx ends, everything already started is stopped before it returns.
func Launch(ctx context.Context, m *Manifest, opts LaunchOptions) (*Candidate, error) {
	if m == nil {
		return nil, errors.New("launching candidate: no manifest")
	}
	if opts.StartupTimeout <= 0 {
		opts.StartupTimeout = DefaultStartupTimeout
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.RunID == "" {
		opts.RunID = newRunID()
	}
	if opts.Certifying {
		if err := CheckCertifying(m); err != nil {
			return nil, err
		}
	}
	if ps := m.pathProblems(); len(ps) > 0 {
		return nil, &ManifestError{Source: m.Source, Problems: ps}
	}
	c := &Candidate{Manifest: m, RunID: opts.RunID, opts: opts, findings: &findingLog{}}
	fail := func(err error) (*Candidate, error) {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultStopTimeout)
		defer cancel()
		if serr := c.Stop(stopCtx); serr != nil {
			err = fmt.Errorf("%w (and while cleaning up: %v)", err, serr)
		}
		return nil, err
	}
	for _, name := range m.RoleNames() {
		if err := ctx.Err(); err != nil {
			return fail(fmt.Errorf("launching candidate: %w", err))
		}
		spec := m.Roles[name]
		token, err := spec.Auth.Token()
		if err != nil {
			return fail(fmt.Errorf("launching %s: %w", name, err))
		}
		w, err := c.wiring(name, spec)
		if err != nil {
			return fail(fmt.Errorf("launching %s: %w", name, err))
		}
		target, err := c.target(ctx, name, spec, token, w)
		if err != nil {
			return fail(err)
		}
		role := &Role{Name: name, Spec: spec, Target: target, Token: token, requestTimeout: opts.RequestTimeout, findings: c.findings, cand: c}
		// The role is listed before it starts, so that Stop reaches it even
		// when Start fails half-way.
		c.Roles = append(c.Roles, role)
		c.logf("starting %s (%s)", name, spec.Kind())
		began := time.Now()
		sctx, cancel := context.WithTimeout(ctx, opts.StartupTimeout)
		err = target.Start(sctx)
		timedOut := errors.Is(sctx.Err(), context.DeadlineExceeded)
		cancel()
		if err != nil {
			if ctx.Err() == nil && timedOut {
				err = fmt.Errorf("%w (startup timeout %s)", err, opts.StartupTimeout)
			}
			return fail(fmt.Errorf("launching %s: %w", name, err))
		}
		var secrets []string
		if token != "" {
			secrets = append(secrets, token)
		}
		for _, t := range spec.Tokens { // fixed client tokens of a DVZA
			secrets = append(secrets, t)
		}
		if pw := urlPassword(spec.URL); pw != "" {
			secrets = append(secrets, pw)
		}
		proxy, err := NewProxy(target.BaseURL(), ProxyOptions{
			Role: name, MaxBody: opts.MaxBody, Secrets: secrets,
			RequestTimeout: opts.RequestTimeout, BenchVersion: opts.BenchVersion,
			Diagnose: func() error { return role.diagnose() },
		})
		if err != nil {
			return fail(fmt.Errorf("launching %s: %w", name, err))
		}
		role.Proxy = proxy
		role.identity = target.Identity()
		if role.identity.Software == "" {
			sw, err := software(ctx, role.Client(), role.FHIRBase()+"/metadata", "")
			if err != nil {
				c.warnings = append(c.warnings, fmt.Sprintf("%s: no software in identity: %v", name, err))
			}
			role.identity.Software = sw
		}
		c.logf("%s ready at %s in %s", name, RedactURL(target.BaseURL()), time.Since(began).Round(time.Millisecond))
	}
	return c, nil
}

// wiring says where a publisher reaches the chain's index, which starts
// before every XIS: through the index's recording proxy on loopback for a
// built-in or process XIS, by its network alias for a container XIS (the
// run's internal network has no route to the bench's proxies, so the index
// must then run in a container too). An XIS attached at a URL cannot be told:
// it is configured by its vendor, which the launch log says.
func (c *Candidate) wiring(name string, spec *RoleSpec) (Wiring, error) {
	if name == "dvza" {
		if spec.Kind() == "image" && c.opts.IdP != "" {
			c.warnings = append(c.warnings, "dvza: a container cannot reach the bench's test identity provider on loopback; run the DVZA as a command or at a URL")
		}
		return Wiring{IdP: c.opts.IdP}, nil
	}
	idx := c.Role("index")
	if idx == nil || !IsPublisher(name) {
		return Wiring{}, nil
	}
	switch spec.Kind() {
	case "image":
		if idx.Spec.Kind() != "image" {
			return Wiring{}, fmt.Errorf("a container XIS reaches the index only on the run's internal network, so the index must run in a container too (it is %s); give both roles as images, or run the XIS as a command", idx.Spec.Kind())
		}
		return Wiring{Index: fmt.Sprintf("http://index:%d%s", idx.Spec.Image.Port, idx.Spec.FHIRBase)}, nil
	case "url":
		c.warnings = append(c.warnings, fmt.Sprintf("%s: attached at a URL, so the bench cannot tell it where the index is; its vendor points it at %s", name, idx.FHIRBase()))
		c.logf("%s: attached at a URL; point it at the index yourself: %s", name, idx.FHIRBase())
		return Wiring{}, nil
	default:
		return Wiring{Index: idx.FHIRBase()}, nil
	}
}

// withIndex returns env with IndexURLEnv set when the role is wired to an
// index; the manifest's own map is never changed.
func withIndex(env map[string]string, w Wiring) map[string]string {
	if w.Index == "" && w.IdP == "" {
		return env
	}
	out := make(map[string]string, len(env)+1)
	for k, v := range env {
		out[k] = v
	}
	if w.Index != "" {
		out[IndexURLEnv] = w.Index
	}
	if w.IdP != "" {
		out[IdPURLEnv] = w.IdP
	}
	return out
}

// target builds the driver for one role.
func (c *Candidate) target(ctx context.Context, name string, spec *RoleSpec, token string, w Wiring) (Target, error) {
	m := c.Manifest
	health := spec.Adapter + "/health"
	labels := selfOwner().labels(c.RunID)
	labels["bcbench.role"] = name
	switch spec.Kind() {
	case "image":
		if c.network == nil {
			nw, err := newRunNetwork(ctx, c.RunID, selfOwner().labels(c.RunID))
			if err != nil {
				return nil, fmt.Errorf("launching %s: %w", name, err)
			}
			c.network = nw
		}
		if c.relay == "" {
			bin := c.opts.RelayBinary
			if bin == "" {
				bin = os.Getenv("BCBENCH_RELAY_BIN")
			}
			if bin == "" {
				self, err := os.Executable()
				if err != nil {
					return nil, fmt.Errorf("launching %s: finding the bench's own binary for the relay: %w", name, err)
				}
				bin = self
			}
			img, err := relayImage(ctx, bin)
			if err != nil {
				return nil, fmt.Errorf("launching %s: %w", name, err)
			}
			c.relay = img
		}
		cfg := ContainerConfig{
			Role: name, Image: spec.Image.Name, Port: spec.Image.Port, Env: withIndex(spec.Image.Env, w),
			Network: c.network.internal, AccessNetwork: c.network.access, RelayImage: c.relay,
			HealthPath: health, Token: token, Labels: labels, Logf: c.opts.Logf,
			Limits: c.opts.Limits, WritableRoot: spec.Image.WritableRoot,
		}
		if spec.Image.Dockerfile != "" {
			ctxDir, dockerfile, err := m.home(spec).buildPaths(spec)
			if err != nil {
				return nil, fmt.Errorf("launching %s: %w", name, err)
			}
			cfg.Dockerfile, cfg.Context = dockerfile, ctxDir
		}
		if spec.Image.WritableRoot != "" {
			c.logf("%s: writable root file system (%s)", name, spec.Image.WritableRoot)
		}
		return Container(cfg), nil
	case "command":
		dir := spec.Command.Dir
		if dir == "" {
			dir = "."
		}
		home := m.home(spec)
		files := make([]string, len(spec.Command.Identity))
		for i, f := range spec.Command.Identity {
			files[i] = home.resolve(f)
		}
		scratch, err := scratchDir(name)
		if err != nil {
			return nil, fmt.Errorf("launching %s: %w", name, err)
		}
		c.scratch = append(c.scratch, scratch)
		return Process(ProcessConfig{
			Role: name, Path: m.CommandPath(spec), Args: spec.Command.Args, Env: withIndex(spec.Command.Env, w),
			PassEnv: spec.Command.PassEnv, Scratch: scratch, RunID: c.RunID,
			IdentityFiles: files, ManifestSHA256: home.SHA256,
			Port: spec.Command.Port, Dir: home.resolve(dir), HealthPath: health, Token: token,
		}), nil
	case "url":
		return Attach(AttachConfig{Role: name, URL: spec.URL, FHIRBase: spec.FHIRBase, Adapter: spec.Adapter, Token: token}), nil
	default:
		if c.opts.Builtin == nil {
			return nil, fmt.Errorf("launching %s: the manifest asks for the builtin reference, but none is available", name)
		}
		w.Contract = spec.Contract
		h, err := c.opts.Builtin(name, w)
		if err != nil {
			return nil, fmt.Errorf("launching builtin %s: %w", name, err)
		}
		return Serve(name, h), nil
	}
}

// Stop ends every role: it writes the evidence (HAR and logs, when
// EvidenceDir is set), stops the proxies and targets, and removes the run's
// Docker network. It is idempotent and does its work even when ctx is
// already cancelled (an interrupted run), bounded by DefaultStopTimeout.
func (c *Candidate) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultStopTimeout)
		defer cancel()
		var errs []error
		c.exposedMu.Lock()
		for _, end := range c.exposed {
			end()
		}
		c.exposed = nil
		c.exposedMu.Unlock()
		for i := len(c.Roles) - 1; i >= 0; i-- {
			r := c.Roles[i]
			if r.Proxy != nil {
				if err := r.Proxy.Close(); err != nil {
					errs = append(errs, err)
				}
			}
			if err := r.Target.Stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stopping %s: %w", r.Name, err))
			}
			if c.opts.EvidenceDir != "" {
				errs = append(errs, c.writeEvidence(ctx, r))
			}
		}
		if c.network != nil {
			// One sweep by the run's label removes the networks and anything
			// a start cut short left behind (a container created while its
			// start was cancelled).
			if _, err := removeRun(ctx, c.RunID); err != nil {
				errs = append(errs, fmt.Errorf("removing the run's Docker networks and leftovers: %w", err))
			}
		}
		for _, d := range c.scratch {
			if err := os.RemoveAll(d); err != nil {
				errs = append(errs, fmt.Errorf("removing a scratch folder: %w", err))
			}
		}
		unregisterRun(c.RunID)
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// EvidenceFiles returns the paths Stop writes (or wrote) for each role.
func (c *Candidate) EvidenceFiles() []string {
	if c.opts.EvidenceDir == "" {
		return nil
	}
	var out []string
	for _, r := range c.Roles {
		out = append(out, filepath.Join(c.opts.EvidenceDir, r.Name+".har"))
		if _, ok := r.Target.(Logger); ok {
			out = append(out, filepath.Join(c.opts.EvidenceDir, r.Name+".log"))
		}
	}
	return out
}

func (c *Candidate) writeEvidence(ctx context.Context, r *Role) error {
	if err := os.MkdirAll(c.opts.EvidenceDir, 0o755); err != nil {
		return fmt.Errorf("writing evidence: %w", err)
	}
	var errs []error
	if r.Proxy != nil {
		errs = append(errs, r.Proxy.WriteHAR(filepath.Join(c.opts.EvidenceDir, r.Name+".har")))
	}
	if l, ok := r.Target.(Logger); ok {
		logs, err := l.Logs(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %s logs: %w", r.Name, err))
		}
		if err := os.WriteFile(filepath.Join(c.opts.EvidenceDir, r.Name+".log"), logs, 0o644); err != nil {
			errs = append(errs, fmt.Errorf("writing %s logs: %w", r.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Candidate) logf(format string, args ...any) {
	if c.opts.Logf != nil {
		c.opts.Logf(format, args...)
	}
}

func newRunID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// InterruptContext returns a context that ends on Ctrl-C (SIGINT), SIGTERM
// or SIGHUP (the terminal closed), and a release function. The run command launches and runs under
// it; Launch cleans up when it ends mid-start, and the run's deferred
// Candidate.Stop (which ignores cancellation) removes everything after.
// A second signal while cleaning up is ignored until release is called.
func InterruptContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			cancel()
			// Keep catching signals so that a second Ctrl-C does not kill
			// the bench half-way through its cleanup.
			for {
				select {
				case <-ch:
				case <-done:
					return
				}
			}
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel()
		})
	}
}
