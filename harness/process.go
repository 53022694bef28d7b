package harness

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxLog bounds the log kept per process or container; beyond it the oldest
// part is dropped.
const maxLog = 4 << 20

// ProcessConfig describes a local program that serves one role.
type ProcessConfig struct {
	Role string
	// Path is the program (absolute, or a bare name looked up in PATH).
	Path string
	// Args and Env values may hold {port}, replaced by the port.
	Args []string
	Env  map[string]string
	// Port is where the program listens on 127.0.0.1; 0 picks a free one.
	// The program also gets it as $PORT.
	Port int
	// Dir is the working directory (default the bench's).
	Dir string
	// HealthPath is polled until it answers 200 (default /bench/health).
	HealthPath string
	// Token is sent as a bearer token to the health endpoint.
	Token string
	// StopGrace is how long the program gets after SIGTERM (default 3 s).
	StopGrace time.Duration
	// PassEnv names variables of the bench's environment the program gets.
	// Beside them it gets only PATH, HOME and TMPDIR (in Scratch), PORT,
	// BCBENCH_RUN and Env: never the operator's secrets.
	PassEnv []string
	// Scratch is the program's private folder (HOME; TMPDIR is Scratch/tmp).
	// Default: one made at Start and removed at Stop.
	Scratch string
	// RunID marks the program's environment (BCBENCH_RUN) and its entry in
	// the registry of process candidates, so that a later run finds what a
	// killed bench left.
	RunID string
	// IdentityFiles are hashed into the identity (the scripts of an
	// interpreted program); ManifestSHA256 is recorded with them.
	IdentityFiles  []string
	ManifestSHA256 string
}

// Process returns a target that runs a local program in its own process
// group, keeps what it writes, and on Stop ends it together with every
// child it started.
func Process(cfg ProcessConfig) Target {
	if cfg.HealthPath == "" {
		cfg.HealthPath = DefaultAdapter + "/health"
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 3 * time.Second
	}
	return &processTarget{cfg: cfg}
}

type processTarget struct {
	cfg ProcessConfig

	mu      sync.Mutex
	cmd     *exec.Cmd
	port    int
	binary  string
	sum     string
	files   []FileDigest
	ownDir  string // a scratch folder Start made, removed at Stop
	logs    logBuffer
	exited  chan struct{}
	waitErr error
	stopped bool
	killed  bool // by Stop
}

func (p *processTarget) Start(ctx context.Context) error {
	p.mu.Lock()
	if p.cmd != nil {
		p.mu.Unlock()
		return nil
	}
	if p.stopped {
		p.mu.Unlock()
		return fmt.Errorf("starting %s: already stopped", p.cfg.Role)
	}
	bin, err := exec.LookPath(p.cfg.Path)
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("starting %s: %w", p.cfg.Role, err)
	}
	if abs, err := filepath.Abs(bin); err == nil {
		bin = abs
	}
	sum, err := fileSHA256(bin)
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("starting %s: hashing %s: %w", p.cfg.Role, bin, err)
	}
	files, err := identityFiles(p.cfg.IdentityFiles)
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("starting %s: %w", p.cfg.Role, err)
	}
	scratch := p.cfg.Scratch
	if scratch == "" {
		if scratch, err = scratchDir(p.cfg.Role); err != nil {
			p.mu.Unlock()
			return fmt.Errorf("starting %s: %w", p.cfg.Role, err)
		}
		p.ownDir = scratch
	}
	port := p.cfg.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			p.mu.Unlock()
			return fmt.Errorf("starting %s: %w", p.cfg.Role, err)
		}
	} else if err := portFree(port); err != nil {
		// Something else answers there already: its health would pass for
		// the program the bench is about to start.
		p.mu.Unlock()
		return fmt.Errorf("starting %s: %w", p.cfg.Role, err)
	}
	sub := strings.NewReplacer("{port}", strconv.Itoa(port))
	args := make([]string, len(p.cfg.Args))
	for i, a := range p.cfg.Args {
		args[i] = sub.Replace(a)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = p.cfg.Dir
	cmd.Env = p.environment(scratch, port, sub)
	cmd.Stdout = &p.logs
	cmd.Stderr = &p.logs
	cmd.Stdin = nil
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("starting %s: %w", p.cfg.Role, err)
	}
	p.cmd, p.port, p.binary, p.sum, p.files = cmd, port, bin, sum, files
	p.exited = make(chan struct{})
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.exited)
	}()
	p.mu.Unlock()
	if p.cfg.RunID != "" {
		if err := registerProcess(p.cfg.RunID, p.cfg.Role, cmd.Process.Pid); err != nil {
			_ = p.Stop(context.WithoutCancel(ctx))
			return fmt.Errorf("starting %s: %w", p.cfg.Role, err)
		}
	}

	if err := waitHealthy(ctx, p.BaseURL()+p.cfg.HealthPath, p.cfg.Token, p.Alive); err != nil {
		_ = p.Stop(context.WithoutCancel(ctx))
		return fmt.Errorf("starting %s (%s): %w%s", p.cfg.Role, filepath.Base(bin), err, p.logs.tail())
	}
	return nil
}

// Alive returns nil while the program runs.
func (p *processTarget) Alive(context.Context) error {
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	if exited == nil {
		return ErrNotStarted
	}
	select {
	case <-exited:
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.killed {
			return fmt.Errorf("process %s was stopped by the bench", filepath.Base(p.binary))
		}
		if p.waitErr != nil {
			return fmt.Errorf("process %s exited: %v", filepath.Base(p.binary), p.waitErr)
		}
		return fmt.Errorf("process %s exited with status 0", filepath.Base(p.binary))
	default:
		return nil
	}
}

func (p *processTarget) Stop(ctx context.Context) error {
	p.mu.Lock()
	p.stopped = true
	cmd, exited := p.cmd, p.exited
	if cmd == nil {
		p.mu.Unlock()
		return nil
	}
	p.killed = true
	p.mu.Unlock()
	pid := cmd.Process.Pid
	select {
	case <-exited:
	default:
		signalGroup(pid, false)
		select {
		case <-exited:
		case <-time.After(p.cfg.StopGrace):
		case <-ctx.Done():
		}
	}
	// Whatever is left of the group (the leader or children it started)
	// is killed, then the leader is reaped.
	signalGroup(pid, true)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("stopping %s: process %d did not end after SIGKILL", p.cfg.Role, pid)
	}
	// Children that left the group but kept the run's mark go too.
	for _, child := range markedProcesses(p.cfg.RunID, p.cfg.Role) {
		killPID(child)
	}
	if p.ownDir != "" {
		if err := os.RemoveAll(p.ownDir); err != nil {
			return fmt.Errorf("stopping %s: removing its scratch folder: %w", p.cfg.Role, err)
		}
	}
	return nil
}

// environment is the program's whole environment: nothing of the bench's
// own beyond PATH and the variables the manifest names (passEnv), so that
// no secret of the operator (a signing key's passphrase, a cloud token)
// reaches the candidate or its logs.
func (p *processTarget) environment(scratch string, port int, sub *strings.Replacer) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + scratch,
		"TMPDIR=" + filepath.Join(scratch, "tmp"),
		"PORT=" + strconv.Itoa(port),
	}
	if p.cfg.RunID != "" {
		env = append(env, runEnv+"="+runMark(p.cfg.RunID, p.cfg.Role))
	}
	for _, k := range p.cfg.PassEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	keys := make([]string, 0, len(p.cfg.Env))
	for k := range p.cfg.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+sub.Replace(p.cfg.Env[k]))
	}
	return env
}

func (p *processTarget) Identity() Identity {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Identity{Role: p.cfg.Role, Kind: "command", Binary: p.binary, SHA256: p.sum,
		Args: slices.Clone(p.cfg.Args), Manifest: p.cfg.ManifestSHA256, Files: slices.Clone(p.files)}
}

func (p *processTarget) BaseURL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.port == 0 {
		return ""
	}
	return "http://127.0.0.1:" + strconv.Itoa(p.port)
}

// Logs returns what the program wrote to stdout and stderr.
func (p *processTarget) Logs(context.Context) ([]byte, error) { return p.logs.bytes(), nil }

// PID returns the program's process id (0 before Start), for tests and
// diagnostics.
func (p *processTarget) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// maxIdentityFiles bounds the files hashed into one identity.
const maxIdentityFiles = 10000

// identityFiles hashes the files a manifest lists under identity; a folder
// stands for every regular file below it, in lexical order.
func identityFiles(paths []string) ([]FileDigest, error) {
	var out []FileDigest
	add := func(path string) error {
		if len(out) >= maxIdentityFiles {
			return fmt.Errorf("hashing identity files: more than %d", maxIdentityFiles)
		}
		sum, err := fileSHA256(path)
		if err != nil {
			return fmt.Errorf("hashing identity file: %w", err)
		}
		out = append(out, FileDigest{Path: path, SHA256: sum})
		return nil
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("hashing identity file: %w", err)
		}
		if !st.IsDir() {
			if err := add(p); err != nil {
				return nil, err
			}
			continue
		}
		err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				return add(path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("hashing identity folder %s: %w", p, err)
		}
	}
	return out, nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("allocating a port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// portFree returns an error when something already listens on the
// loopback port.
func portFree(port int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return fmt.Errorf("port %d is already in use on 127.0.0.1 (a program left running?): %w", port, err)
	}
	return ln.Close()
}

// logBuffer keeps the last maxLog bytes written to it; safe for concurrent use.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int64
}

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(b)
	// Trim only when twice the bound is reached, so that a chatty program
	// costs amortised constant work per byte.
	if l.buf.Len() >= 2*maxLog {
		over := l.buf.Len() - maxLog
		l.dropped += int64(over)
		rest := bytes.Clone(l.buf.Bytes()[over:])
		l.buf.Reset()
		l.buf.Write(rest)
	}
	return len(b), nil
}

func (l *logBuffer) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buf.Bytes()
	dropped := l.dropped
	if over := len(b) - maxLog; over > 0 {
		b, dropped = b[over:], dropped+int64(over)
	}
	if dropped > 0 {
		return append([]byte(fmt.Sprintf("[bcbench: first %d bytes of the log dropped]\n", dropped)), b...)
	}
	return bytes.Clone(b)
}

// tail returns the last lines of the log for an error message.
func (l *logBuffer) tail() string { return logTail(l.bytes()) }

// logTail formats the last few lines of a log for an error message.
func logTail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	t := strings.Join(lines, " | ")
	if len(t) > 500 {
		t = t[len(t)-500:]
	}
	return "; last output: " + t
}
