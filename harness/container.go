package harness

import (
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
	"github.com/testcontainers/testcontainers-go/network"
)

// LabelRun is the Docker label put on every container and network of one
// Launch; CleanupRun removes what carries it.
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
	// Network is a Docker network to join, with the role name as alias.
	Network string
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

// Container returns a target that runs an image with testcontainers-go
// (Ryuk disabled: Stop removes the container explicitly), waits for its
// health endpoint through the published port on 127.0.0.1, and keeps its
// logs.
func Container(cfg ContainerConfig) Target {
	if cfg.HealthPath == "" {
		cfg.HealthPath = DefaultAdapter + "/health"
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 3 * time.Second
	}
	return &containerTarget{cfg: cfg}
}

type containerTarget struct {
	cfg ContainerConfig

	mu       sync.Mutex
	c        *testcontainers.DockerContainer
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
	if t.cfg.Dockerfile == "" {
		// No registry answers here, and a vendor's image is theirs to
		// supply: the bench never pulls.
		if err := imagePresent(ctx, t.cfg.Image); err != nil {
			return fmt.Errorf("starting %s: %w", t.cfg.Role, err)
		}
	}
	disableRyuk()
	port := strconv.Itoa(t.cfg.Port) + "/tcp"
	env := make(map[string]string, len(t.cfg.Env))
	for k, v := range t.cfg.Env {
		env[k] = strings.ReplaceAll(v, "{port}", strconv.Itoa(t.cfg.Port))
	}
	labels := map[string]string{LabelRun: "standalone", "bcbench.role": t.cfg.Role}
	for k, v := range t.cfg.Labels {
		labels[k] = v
	}
	req := testcontainers.ContainerRequest{
		Image:        t.cfg.Image,
		ExposedPorts: []string{port},
		Env:          env,
		Labels:       labels,
		HostConfigModifier: func(hc *container.HostConfig) {
			// Publish on loopback only: a candidate is not for the LAN.
			p, err := mobynet.ParsePort(port)
			if err != nil {
				return
			}
			hc.PortBindings = mobynet.PortMap{p: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: ""}}}
		},
	}
	if t.cfg.Network != "" {
		req.Networks = []string{t.cfg.Network}
		req.NetworkAliases = map[string][]string{t.cfg.Network: {t.cfg.Role}}
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
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: req,
		Started:          true,
		Logger:           t.logger(),
	})
	if err != nil {
		if c != nil {
			_ = c.Terminate(context.WithoutCancel(ctx), testcontainers.StopTimeout(0))
		}
		return fmt.Errorf("starting %s from image %s: %w", t.cfg.Role, t.imageName(), err)
	}
	dc, ok := c.(*testcontainers.DockerContainer)
	if !ok {
		_ = c.Terminate(context.WithoutCancel(ctx), testcontainers.StopTimeout(0))
		return fmt.Errorf("starting %s: unexpected container type %T", t.cfg.Role, c)
	}
	t.c = dc
	if t.image = t.cfg.Image; t.image == "" {
		t.image = dc.Image
	}
	if err := t.startedLocked(ctx, port); err != nil {
		t.logs = t.fetchLogsLocked(context.WithoutCancel(ctx))
		tail := logTail(t.logs)
		t.terminateLocked(context.WithoutCancel(ctx))
		return fmt.Errorf("starting %s from image %s: %w%s", t.cfg.Role, t.imageName(), err, tail)
	}
	return nil
}

func (t *containerTarget) imageName() string {
	if t.cfg.Image != "" {
		return t.cfg.Image
	}
	return filepath.Join(t.cfg.Context, t.cfg.Dockerfile)
}

// startedLocked records the identity and waits for health.
func (t *containerTarget) startedLocked(ctx context.Context, port string) error {
	info, err := t.c.Inspect(ctx)
	if err != nil {
		return fmt.Errorf("inspecting container: %w", err)
	}
	t.digest = info.Image
	// The port is published on the engine's 127.0.0.1 (see the port
	// bindings above): the driver needs a local engine, and never uses
	// testcontainers' guess of the host (a gateway address inside a
	// container), so the bench talks to loopback only.
	host := "127.0.0.1"
	mapped, err := t.c.MappedPort(ctx, port)
	if err != nil {
		if aerr := t.aliveLocked(ctx); aerr != nil {
			return aerr
		}
		return fmt.Errorf("finding the published port: %w", err)
	}
	t.base = "http://" + net.JoinHostPort(host, strconv.Itoa(int(mapped.Num())))
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
	c := t.c
	t.c = nil
	tctx, cancel := context.WithTimeout(ctx, t.cfg.StopTimeout+20*time.Second)
	defer cancel()
	if err := c.Terminate(tctx, testcontainers.StopTimeout(t.cfg.StopTimeout)); err != nil {
		return fmt.Errorf("removing container for %s: %w", t.cfg.Role, err)
	}
	return nil
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
	return dockerDo(ctx, host, http.MethodGet, path)
}

// dockerDo sends one bodiless request to the engine at host.
func dockerDo(ctx context.Context, host, method, path string) (int, []byte, error) {
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
	if method == http.MethodGet {
		client.Timeout = 3 * time.Second
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, _ := readBounded(resp.Body, 1<<20)
	return resp.StatusCode, body, nil
}

// runNetwork is the Docker network the containers of one Launch share.
type runNetwork struct {
	nw *testcontainers.DockerNetwork
}

// newRunNetwork creates a labelled bridge network for one run.
func newRunNetwork(ctx context.Context, runID string) (*runNetwork, error) {
	if err := DockerAvailable(ctx); err != nil {
		return nil, fmt.Errorf("creating the run's Docker network: %w", err)
	}
	disableRyuk()
	nw, err := network.New(ctx, network.WithLabels(map[string]string{LabelRun: runID}))
	if err != nil {
		return nil, fmt.Errorf("creating the run's Docker network: %w", err)
	}
	return &runNetwork{nw: nw}, nil
}

func (n *runNetwork) name() string { return n.nw.Name }

// RemoveLeftovers removes the containers and networks labelled by a run
// (LabelRun=runID), or by any bench run when runID is empty: what a bench
// that was killed outright (SIGKILL) could not remove itself. It returns
// the ids it removed.
func RemoveLeftovers(ctx context.Context, runID string) (removed []string, err error) {
	if err := DockerAvailable(ctx); err != nil {
		return nil, err
	}
	label := LabelRun
	if runID != "" {
		label += "=" + runID
	}
	filters, _ := json.Marshal(map[string][]string{"label": {label}})
	q := url.QueryEscape(string(filters))
	host := dockerHost()
	var errs []error
	list := func(path string) []string {
		status, body, err := dockerGet(ctx, host, path)
		if err != nil || status != http.StatusOK {
			errs = append(errs, fmt.Errorf("listing %s: %v (status %d)", path, err, status))
			return nil
		}
		var items []struct {
			ID string `json:"Id"`
		}
		if err := json.Unmarshal(body, &items); err != nil {
			errs = append(errs, fmt.Errorf("listing %s: %w", path, err))
		}
		ids := make([]string, 0, len(items))
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		return ids
	}
	remove := func(path, id string) {
		status, body, err := dockerDo(ctx, host, http.MethodDelete, path)
		if err != nil || (status != http.StatusNoContent && status != http.StatusOK && status != http.StatusNotFound) {
			errs = append(errs, fmt.Errorf("removing %s: %v (status %d %s)", shortID(id), err, status, snippet(body)))
			return
		}
		removed = append(removed, shortID(id))
	}
	for _, id := range list("/containers/json?all=1&filters=" + q) {
		remove("/containers/"+id+"?force=1&v=1", id)
	}
	for _, id := range list("/networks?filters=" + q) {
		remove("/networks/"+id, id)
	}
	return removed, errors.Join(errs...)
}
