package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// LabelRun is the Docker label put on every container and network of one
// Launch (with LabelPID, LabelStart and LabelHost); RemoveLeftovers and
// CleanupRun find them by it.
const LabelRun = "bcbench.run"

// ContainerConfig describes a container image that serves one role.
type ContainerConfig struct {
	Role string
	// Image is the image reference; it is used as found locally and pulled
	// only when absent (no registry answers on the bench's machines).
	Image string
	// Port is the container port the system listens on.
	Port int
	Env  map[string]string
	// Dockerfile, when set, builds the image first from Context and tags it
	// Image (the image is kept).
	Dockerfile string
	Context    string
	// Network is the run's internal Docker network (no route out), joined
	// with the role name as alias.
	Network string
	// AccessNetwork is the run's ordinary network: only the relay joins it,
	// and publishes its port on 127.0.0.1 there.
	AccessNetwork string
	// RelayImage is the image of the relay that carries the bench's
	// connections into Network (see relay.go).
	RelayImage string
	// Limits bound the container (zero fields: DefaultContainerLimits).
	Limits ContainerLimits
	// WritableRoot, when set, says why the root file system stays writable;
	// otherwise it is read-only with a tmpfs on /tmp.
	WritableRoot string
	// HealthPath is polled until it answers 200 (default /bench/health).
	HealthPath string
	// Token is sent as a bearer token to the health endpoint.
	Token string
	// Labels are added to the container, which always carries LabelRun
	// ("standalone" unless Labels set it) so that RemoveLeftovers finds it.
	Labels map[string]string
	// StopTimeout is how long the container gets after SIGTERM (default 3 s).
	StopTimeout time.Duration
	// Logf receives testcontainers' own messages (default: dropped).
	Logf func(format string, args ...any)
}

// ContainerLimits bound what a candidate container may use.
type ContainerLimits struct {
	// Memory in bytes (swap included: none beyond it).
	Memory int64
	// Pids bounds the processes and threads.
	Pids int64
	// CPUs is the share of CPUs (1.5 = one and a half).
	CPUs float64
}

// DefaultContainerLimits apply where a certification profile names none.
var DefaultContainerLimits = ContainerLimits{Memory: 2 << 30, Pids: 1024, CPUs: 2}

// withDefaults fills the zero fields from DefaultContainerLimits.
func (l ContainerLimits) withDefaults() ContainerLimits {
	if l.Memory <= 0 {
		l.Memory = DefaultContainerLimits.Memory
	}
	if l.Pids <= 0 {
		l.Pids = DefaultContainerLimits.Pids
	}
	if l.CPUs <= 0 {
		l.CPUs = DefaultContainerLimits.CPUs
	}
	return l
}

// relayLimits bound the relay container.
var relayLimits = ContainerLimits{Memory: 64 << 20, Pids: 64, CPUs: 1}

// Container returns a target that runs an image with testcontainers-go
// (Ryuk disabled: Stop removes the container explicitly) on the run's
// internal network, confined (no capabilities, no-new-privileges, limits,
// read-only root), reached through a relay whose port is published on
// 127.0.0.1; it waits for the health endpoint and keeps the logs.
func Container(cfg ContainerConfig) Target {
	if cfg.HealthPath == "" {
		cfg.HealthPath = DefaultAdapter + "/health"
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 3 * time.Second
	}
	cfg.Limits = cfg.Limits.withDefaults()
	return &containerTarget{cfg: cfg}
}

type containerTarget struct {
	cfg ContainerConfig

	mu       sync.Mutex
	c        *testcontainers.DockerContainer
	relay    *testcontainers.DockerContainer
	base     string
	image    string
	digest   string
	logs     []byte
	stopped  bool
	terminal error // why it stopped, once known
}

// tcLogger adapts a printf function to testcontainers' logger.
type tcLogger func(format string, args ...any)

func (l tcLogger) Printf(format string, args ...any) { l(format, args...) }

func (t *containerTarget) logger() tclog.Logger {
	if t.cfg.Logf != nil {
		return tcLogger(t.cfg.Logf)
	}
	return tclog.NewNoopLogger()
}

func (t *containerTarget) Start(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.c != nil {
		return nil
	}
	if t.stopped {
		return fmt.Errorf("starting %s: already stopped", t.cfg.Role)
	}
	if err := DockerAvailable(ctx); err != nil {
		return fmt.Errorf("starting %s from image %s: %w", t.cfg.Role, t.cfg.Image, err)
	}
	if t.cfg.Network == "" || t.cfg.AccessNetwork == "" || t.cfg.RelayImage == "" {
		return fmt.Errorf("starting %s: no run network or relay (containers are started by Launch)", t.cfg.Role)
	}
	image := t.cfg.Image
	if t.cfg.Dockerfile == "" {
		// No registry answers here, and a vendor's image is theirs to
		// supply: the bench never pulls.
		ref, err := resolveImage(ctx, t.cfg.Image)
		if err != nil {
			return fmt.Errorf("starting %s: %w", t.cfg.Role, err)
		}
		image = ref
	}
	disableRyuk()
	env := make(map[string]string, len(t.cfg.Env))
	for k, v := range t.cfg.Env {
		env[k] = strings.ReplaceAll(v, "{port}", strconv.Itoa(t.cfg.Port))
	}
	labels := map[string]string{LabelRun: "standalone", "bcbench.role": t.cfg.Role}
	for k, v := range t.cfg.Labels {
		labels[k] = v
	}
	req := testcontainers.ContainerRequest{
		Image:              image,
		Env:                env,
		Labels:             labels,
		Networks:           []string{t.cfg.Network},
		NetworkAliases:     map[string][]string{t.cfg.Network: {t.cfg.Role}},
		HostConfigModifier: confine(t.cfg.Limits, t.cfg.WritableRoot == ""),
	}
	if t.cfg.Dockerfile != "" {
		// The built image is tagged with the manifest's name and kept: it is
		// the vendor's, and the next run reuses its layers.
		repo, tag := splitImageRef(t.cfg.Image)
		req.Image = ""
		req.FromDockerfile = testcontainers.FromDockerfile{
			Context:    t.cfg.Context,
			Dockerfile: t.cfg.Dockerfile,
			Repo:       repo,
			Tag:        tag,
			KeepImage:  true,
		}
	}
	dc, err := t.run(ctx, req)
	if err != nil {
		return fmt.Errorf("starting %s from image %s: %w", t.cfg.Role, t.imageName(), err)
	}
	t.c = dc
	if t.image = t.cfg.Image; t.image == "" {
		t.image = dc.Image
	}
	if err := t.startedLocked(ctx); err != nil {
		t.logs = t.fetchLogsLocked(context.WithoutCancel(ctx))
		tail := logTail(t.logs)
		t.terminateLocked(context.WithoutCancel(ctx))
		return fmt.Errorf("starting %s from image %s: %w%s", t.cfg.Role, t.imageName(), err, tail)
	}
	return nil
}

// run creates and starts one container; nothing is left when it fails.
func (t *containerTarget) run(ctx context.Context, req testcontainers.ContainerRequest) (*testcontainers.DockerContainer, error) {
	return runContainer(ctx, req, t.logger())
}

// runContainer creates and starts one container; nothing is left when it
// fails.
func runContainer(ctx context.Context, req testcontainers.ContainerRequest, logger tclog.Logger) (*testcontainers.DockerContainer, error) {
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: req,
		Started:          true,
		Logger:           logger,
	})
	if err != nil {
		if c != nil {
			_ = c.Terminate(context.WithoutCancel(ctx), testcontainers.StopTimeout(0))
		}
		return nil, err
	}
	dc, ok := c.(*testcontainers.DockerContainer)
	if !ok {
		_ = c.Terminate(context.WithoutCancel(ctx), testcontainers.StopTimeout(0))
		return nil, fmt.Errorf("unexpected container type %T", c)
	}
	return dc, nil
}

// confine is the host configuration of a candidate (and relay) container:
// no capabilities, no privilege gain, memory (swap included), pids and CPU
// limits, a private IPC namespace and, unless the manifest says why not, a
// read-only root file system with a small tmpfs on /tmp.
func confine(l ContainerLimits, readOnly bool) func(*container.HostConfig) {
	return func(hc *container.HostConfig) {
		hc.CapDrop = []string{"ALL"}
		hc.CapAdd = nil
		hc.Privileged = false
		hc.SecurityOpt = append(hc.SecurityOpt, "no-new-privileges:true")
		hc.Memory = l.Memory
		hc.MemorySwap = l.Memory
		pids := l.Pids
		hc.PidsLimit = &pids
		hc.NanoCPUs = int64(l.CPUs * 1e9)
		hc.IpcMode = "private"
		hc.ReadonlyRootfs = readOnly
		if readOnly {
			hc.Tmpfs = map[string]string{"/tmp": "rw,nosuid,nodev,size=64m"}
		}
		hc.PortBindings = nil
		hc.PublishAllPorts = false
	}
}

// startRelayLocked starts the relay that carries the bench's connections
// to the candidate's port, and returns its address on 127.0.0.1.
func (t *containerTarget) startRelayLocked(ctx context.Context) (string, error) {
	labels := map[string]string{LabelRun: "standalone", "bcbench.role": t.cfg.Role}
	for k, v := range t.cfg.Labels {
		labels[k] = v
	}
	dc, addr, err := startRelay(ctx, relayRequest{
		image: t.cfg.RelayImage, access: t.cfg.AccessNetwork, internal: t.cfg.Network, labels: labels,
		args: []string{"--listen", ":" + strconv.Itoa(RelayPort), "--to", net.JoinHostPort(t.cfg.Role, strconv.Itoa(t.cfg.Port))},
		port: RelayPort,
	}, t.logger())
	if dc != nil {
		t.relay = dc
	}
	if err != nil {
		return "", fmt.Errorf("starting the relay to %s: %w", t.cfg.Role, err)
	}
	return "http://" + addr, nil
}

// relayRequest is one container of the relay image (relay.go).
type relayRequest struct {
	image, access, internal string
	// aliases are its names on the internal network (none for a relay).
	aliases []string
	args    []string
	env     map[string]string
	labels  map[string]string
	// port is the one port published, on 127.0.0.1 only.
	port int
}

// startRelay starts a container of the relay image, confined, on the
// run's access network and its internal one, with its one port published
// on the engine's 127.0.0.1; it returns the container (also when only
// finding the port failed, so that it can be removed) and that address.
func startRelay(ctx context.Context, rr relayRequest, logger tclog.Logger) (*testcontainers.DockerContainer, string, error) {
	port := strconv.Itoa(rr.port) + "/tcp"
	labels := map[string]string{"bcbench.relay": "1"}
	for k, v := range rr.labels {
		labels[k] = v
	}
	inner := confine(relayLimits, true)
	req := testcontainers.ContainerRequest{
		Image:        rr.image,
		Cmd:          rr.args,
		Env:          rr.env,
		ExposedPorts: []string{port},
		Labels:       labels,
		Networks:     []string{rr.access, rr.internal},
		HostConfigModifier: func(hc *container.HostConfig) {
			inner(hc)
			// Published on loopback only: the relay is for the bench.
			p, err := mobynet.ParsePort(port)
			if err != nil {
				return
			}
			hc.PortBindings = mobynet.PortMap{p: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: ""}}}
		},
	}
	if len(rr.aliases) > 0 {
		req.NetworkAliases = map[string][]string{rr.internal: rr.aliases}
	}
	dc, err := runContainer(ctx, req, logger)
	if err != nil {
		return nil, "", err
	}
	// The port is published on the engine's 127.0.0.1: the driver needs a
	// local engine, and never uses testcontainers' guess of the host (a
	// gateway address inside a container), so the bench talks to loopback
	// only.
	mapped, err := dc.MappedPort(ctx, port)
	if err != nil {
		return dc, "", fmt.Errorf("finding the relay's published port: %w", err)
	}
	return dc, net.JoinHostPort("127.0.0.1", strconv.Itoa(int(mapped.Num()))), nil
}

// resolveImage finds a local image for ref. A reference pinned by digest
// (name@sha256:…) is found by its repository digest or, for an image that
// was built or loaded here and never pushed, by its image id; either way
// the image started is the one the digest names.
func resolveImage(ctx context.Context, ref string) (string, error) {
	err := imagePresent(ctx, ref)
	if err == nil {
		return ref, nil
	}
	if d, ok := pinnedDigest(ref); ok && d != ref {
		if imagePresent(ctx, d) == nil {
			return d, nil
		}
	}
	return "", err
}

func (t *containerTarget) imageName() string {
	if t.cfg.Image != "" {
		return t.cfg.Image
	}
	return filepath.Join(t.cfg.Context, t.cfg.Dockerfile)
}

// startedLocked records the identity, starts the relay and waits for
// health through it.
func (t *containerTarget) startedLocked(ctx context.Context) error {
	info, err := t.c.Inspect(ctx)
	if err != nil {
		return fmt.Errorf("inspecting container: %w", err)
	}
	t.digest = info.Image
	if err := t.aliveLocked(ctx); err != nil {
		return err // it exited at once: no relay needed to say so
	}
	if d, ok := pinnedDigest(t.cfg.Image); ok && !strings.Contains(t.cfg.Image, "@") && d != t.digest {
		return fmt.Errorf("the image started is %s, not the pinned %s", t.digest, d)
	}
	base, err := t.startRelayLocked(ctx)
	if err != nil {
		return err
	}
	t.base = base
	return waitHealthy(ctx, t.base+t.cfg.HealthPath, t.cfg.Token, t.aliveLocked)
}

// Alive returns nil while the container runs.
func (t *containerTarget) Alive(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.aliveLocked(ctx)
}

func (t *containerTarget) aliveLocked(ctx context.Context) error {
	if t.terminal != nil {
		return t.terminal
	}
	if t.c == nil {
		if t.stopped {
			return fmt.Errorf("container for %s was stopped by the bench", t.cfg.Role)
		}
		return ErrNotStarted
	}
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	st, err := t.c.State(ictx)
	if err != nil {
		return fmt.Errorf("container %s is gone: %w", shortID(t.c.GetContainerID()), err)
	}
	if st.Running {
		return nil
	}
	msg := fmt.Sprintf("container %s is %s, exit code %d", shortID(t.c.GetContainerID()), st.Status, st.ExitCode)
	if st.OOMKilled {
		msg += ", killed for lack of memory"
	}
	if st.Error != "" {
		msg += ": " + st.Error
	}
	return errors.New(msg)
}

func (t *containerTarget) Stop(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	if t.c == nil {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	if t.terminal == nil {
		if err := t.aliveLocked(ctx); err != nil {
			t.terminal = err
		}
	}
	t.logs = t.fetchLogsLocked(ctx)
	return t.terminateLocked(ctx)
}

func (t *containerTarget) terminateLocked(ctx context.Context) error {
	c, relay := t.c, t.relay
	t.c, t.relay = nil, nil
	tctx, cancel := context.WithTimeout(ctx, t.cfg.StopTimeout+20*time.Second)
	defer cancel()
	var errs []error
	if relay != nil {
		if err := relay.Terminate(tctx, testcontainers.StopTimeout(0)); err != nil {
			errs = append(errs, fmt.Errorf("removing the relay for %s: %w", t.cfg.Role, err))
		}
	}
	if err := c.Terminate(tctx, testcontainers.StopTimeout(t.cfg.StopTimeout)); err != nil {
		errs = append(errs, fmt.Errorf("removing container for %s: %w", t.cfg.Role, err))
	}
	return errors.Join(errs...)
}

// fetchLogsLocked reads the container's stdout and stderr (bounded).
func (t *containerTarget) fetchLogsLocked(ctx context.Context) []byte {
	if t.c == nil {
		return t.logs
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rc, err := t.c.Logs(lctx)
	if err != nil {
		return append(t.logs, []byte(fmt.Sprintf("[bcbench: reading container logs: %v]\n", err))...)
	}
	defer rc.Close()
	var lb logBuffer
	_, _ = io.Copy(&lb, io.LimitReader(rc, 64<<20))
	return lb.bytes()
}

func (t *containerTarget) Identity() Identity {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Identity{Role: t.cfg.Role, Kind: "image", Image: t.image, Digest: t.digest}
}

func (t *containerTarget) BaseURL() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.base
}

// Logs returns the container's output: live while it runs, as kept at Stop
// afterwards.
func (t *containerTarget) Logs(ctx context.Context) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.c != nil {
		return t.fetchLogsLocked(ctx), nil
	}
	return t.logs, nil
}

// ContainerID returns the Docker container id (empty when not running), for
// tests and diagnostics.
func (t *containerTarget) ContainerID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.c == nil {
		return ""
	}
	return t.c.GetContainerID()
}

// splitImageRef splits repo[:tag] (the tag defaults to latest).
func splitImageRef(ref string) (repo, tag string) {
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		return ref[:colon], ref[colon+1:]
	}
	return ref, "latest"
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

var ryukOnce sync.Once

// disableRyuk turns testcontainers' reaper off: it needs a pulled image,
// and the bench removes what it starts itself.
// It also silences testcontainers' default logger (its banner would go to
// the bench's stderr); per-container messages go to ContainerConfig.Logf.
func disableRyuk() {
	ryukOnce.Do(func() {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
		tclog.SetDefault(tclog.NewNoopLogger())
	})
}

// DockerAvailable returns nil when a Docker engine answers GET /_ping at
// DOCKER_HOST (or the default socket) within a few seconds. testcontainers
// panics without one, so every container path asks this first.
func DockerAvailable(ctx context.Context) error {
	host := os.Getenv("DOCKER_HOST")
	var candidates []string
	if host != "" {
		candidates = []string{host}
	} else {
		candidates = append(candidates, "unix:///var/run/docker.sock")
		if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
			candidates = append(candidates, "unix://"+filepath.Join(d, "docker.sock"))
		}
		if h, err := os.UserHomeDir(); err == nil {
			candidates = append(candidates, "unix://"+filepath.Join(h, ".docker", "run", "docker.sock"))
		}
	}
	var errs []string
	for _, c := range candidates {
		err := pingDocker(ctx, c)
		if err == nil {
			if host == "" && c != "unix:///var/run/docker.sock" {
				_ = os.Setenv("DOCKER_HOST", c)
			}
			return nil
		}
		errs = append(errs, fmt.Sprintf("%s: %v", c, err))
	}
	return fmt.Errorf("no Docker engine answers (%s)", strings.Join(errs, "; "))
}

func pingDocker(ctx context.Context, host string) error {
	status, _, err := dockerGet(ctx, host, "/_ping")
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("/_ping answered %d", status)
	}
	return nil
}

// dockerHost returns the engine address DockerAvailable settled on.
func dockerHost() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return "unix:///var/run/docker.sock"
}

// ImagePresent returns nil when the local Docker engine has the image (the
// bench never pulls), and says what to do otherwise.
func ImagePresent(ctx context.Context, ref string) error {
	if err := DockerAvailable(ctx); err != nil {
		return err
	}
	return imagePresent(ctx, ref)
}

// imagePresent returns nil when the engine has the image locally.
func imagePresent(ctx context.Context, ref string) error {
	status, body, err := dockerGet(ctx, dockerHost(), "/images/"+url.PathEscape(ref)+"/json")
	if err != nil {
		return fmt.Errorf("looking up image %s: %w", ref, err)
	}
	switch status {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		hint := "build or load it first (docker build, docker load): the bench never pulls"
		if strings.HasPrefix(ref, "bcbench/reference-") {
			hint = "build it first with make images: the bench never pulls"
		}
		return fmt.Errorf("image %s is not present on this Docker engine; %s", ref, hint)
	default:
		return fmt.Errorf("looking up image %s: engine answered %d: %s", ref, status, snippet(body))
	}
}

// dockerGet sends GET path to the engine at host (unix:// or tcp://).
func dockerGet(ctx context.Context, host, path string) (int, []byte, error) {
	return dockerDo(ctx, host, http.MethodGet, path, nil)
}

// dockerBody is the body of a request to the engine.
type dockerBody struct {
	r     io.Reader
	ctype string
}

// dockerDo sends one request to the engine at host; body may be nil.
func dockerDo(ctx context.Context, host, method, path string, body *dockerBody) (int, []byte, error) {
	u, err := url.Parse(host)
	if err != nil {
		return 0, nil, fmt.Errorf("bad DOCKER_HOST: %w", err)
	}
	var dial func(ctx context.Context, _, _ string) (net.Conn, error)
	base := "http://docker"
	switch u.Scheme {
	case "unix":
		path := u.Path
		if _, err := os.Stat(path); err != nil {
			return 0, nil, fmt.Errorf("no socket: %w", err)
		}
		dial = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
	case "tcp", "http":
		base = "http://" + u.Host
	default:
		return 0, nil, fmt.Errorf("DOCKER_HOST scheme %q is not supported by the bench; use unix:// or tcp://", u.Scheme)
	}
	tr := &http.Transport{Proxy: nil, DialContext: dial, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Timeout: 30 * time.Second, Transport: tr}
	switch {
	case method == http.MethodGet:
		client.Timeout = 3 * time.Second
	case body != nil:
		client.Timeout = 3 * time.Minute // an image build
	}
	var r io.Reader
	if body != nil {
		r = body.r
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", body.ctype)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, _ := readBounded(resp.Body, 4<<20)
	return resp.StatusCode, answer, nil
}

// runNetwork is the pair of Docker networks of one Launch: the internal
// one the candidate containers share, and the access one only the relays
// join.
type runNetwork struct {
	internal, access string
}

// newRunNetwork creates the run's two labelled networks.
func newRunNetwork(ctx context.Context, runID string, labels map[string]string) (*runNetwork, error) {
	if err := DockerAvailable(ctx); err != nil {
		return nil, fmt.Errorf("creating the run's Docker networks: %w", err)
	}
	n := &runNetwork{internal: "bcbench-" + runID + "-candidates", access: "bcbench-" + runID + "-relay"}
	// No address for the host on the internal bridge: a candidate has no
	// route to the host either, only to the run's other containers.
	if err := createNetwork(ctx, n.internal, true, labels); err != nil {
		return nil, err
	}
	if err := createNetwork(ctx, n.access, false, labels); err != nil {
		return nil, err
	}
	return n, nil
}

func createNetwork(ctx context.Context, name string, internal bool, labels map[string]string) error {
	spec := map[string]any{"Name": name, "Driver": "bridge", "Internal": internal, "Labels": labels, "CheckDuplicate": true}
	if internal {
		spec["Options"] = map[string]string{"com.docker.network.bridge.inhibit_ipv4": "true"}
	} else {
		// The relays of a run do not talk to each other.
		spec["Options"] = map[string]string{"com.docker.network.bridge.enable_icc": "false"}
	}
	b, _ := json.Marshal(spec)
	status, body, err := dockerDo(ctx, dockerHost(), http.MethodPost, "/networks/create", &dockerBody{r: bytes.NewReader(b), ctype: "application/json"})
	if err != nil {
		return fmt.Errorf("creating Docker network %s: %w", name, err)
	}
	if status != http.StatusCreated && status != http.StatusOK {
		return fmt.Errorf("creating Docker network %s: engine answered %d: %s", name, status, snippet(body))
	}
	return nil
}
