// Package browser drives Debian's chromium through the DevTools protocol
// (chromedp): one headless browser per run, a fresh incognito browser context
// for every page, a time and size budget per page, the network log as HAR,
// and the browser with all its child processes killed when the run ends.
//
// A page that misbehaves — never finishes loading, opens pop-ups, navigates
// to another host, starts a download, runs an endless script or is too large
// — is stopped within its budget and leaves a Finding; it never hangs the
// bench.
package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultPath is where Debian's chromium package puts its launcher.
const DefaultPath = "/usr/bin/chromium"

// ErrNoBrowser is returned by Find and Launch when no chromium can be found.
var ErrNoBrowser = errors.New("chromium not found: install Debian's chromium (apt-get install -y chromium) or set BCBENCH_CHROMIUM")

// Options bound a browser and the pages it opens. The zero value gives the
// defaults below.
type Options struct {
	// Path of the chromium executable; default $BCBENCH_CHROMIUM, then
	// /usr/bin/chromium, then chromium on PATH.
	Path string
	// PageTimeout bounds everything done with one page, from opening it to
	// the last check (default 30 s).
	PageTimeout time.Duration
	// MaxPageBytes bounds what one page may load over the network, all
	// resources together (default 20 MiB).
	MaxPageBytes int64
	// MaxEntries bounds the network log of one page (default 2000 entries).
	MaxEntries int
	// Width and Height of the viewport in CSS pixels (default 1280 × 1024).
	Width, Height int
}

func (o Options) withDefaults() Options {
	if o.PageTimeout <= 0 {
		o.PageTimeout = 30 * time.Second
	}
	if o.MaxPageBytes <= 0 {
		o.MaxPageBytes = 20 << 20
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 2000
	}
	if o.Width <= 0 {
		o.Width = 1280
	}
	if o.Height <= 0 {
		o.Height = 1024
	}
	return o
}

// Find returns the chromium executable to use: path when given, else
// $BCBENCH_CHROMIUM when set, else /usr/bin/chromium, or chromium /
// chromium-browser on PATH.
func Find(path string) (string, error) {
	if path == "" {
		path = os.Getenv("BCBENCH_CHROMIUM")
	}
	candidates := []string{path}
	if path == "" {
		candidates = []string{DefaultPath, "chromium", "chromium-browser"}
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	if path != "" {
		return "", fmt.Errorf("finding chromium at %s: %w", path, ErrNoBrowser)
	}
	return "", ErrNoBrowser
}

// Browser is one running headless chromium. It is safe for concurrent use:
// every Open gets its own tab in its own incognito browser context.
type Browser struct {
	opts        Options
	scratch     string // HOME, TMPDIR and the profile of this browser only
	profile     string
	allocCancel context.CancelFunc
	ctx         context.Context // the browser's root chromedp context
	cancel      context.CancelFunc
	closeOnce   sync.Once
}

// Launch starts a headless chromium with the bench's flags, a scratch
// profile, HOME and TMPDIR. Close kills it and every process it started;
// ctx being cancelled does the same.
func Launch(ctx context.Context, opts Options) (*Browser, error) {
	opts = opts.withDefaults()
	path, err := Find(opts.Path)
	if err != nil {
		return nil, err
	}
	scratch, err := os.MkdirTemp("", "bcbench-browser-")
	if err != nil {
		return nil, fmt.Errorf("creating the browser's scratch directory: %w", err)
	}
	tmp := filepath.Join(scratch, "tmp")
	profile := filepath.Join(scratch, "profile")
	for _, d := range []string{tmp, profile} {
		if err := os.Mkdir(d, 0o700); err != nil {
			os.RemoveAll(scratch)
			return nil, fmt.Errorf("creating the browser's scratch directory: %w", err)
		}
	}
	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("js-flags", "--max-old-space-size=512"),
		chromedp.WindowSize(opts.Width, opts.Height),
		chromedp.NoInheritEnv,
		chromedp.Env("PATH="+os.Getenv("PATH"), "HOME="+scratch, "TMPDIR="+tmp),
	)
	// The browser's life is bound to the Browser, not to ctx's deadline; ctx
	// being cancelled still kills it (see below).
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.WithoutCancel(ctx), allocOpts...)
	bctx, cancel := chromedp.NewContext(allocCtx)
	b := &Browser{opts: opts, scratch: scratch, profile: profile, allocCancel: allocCancel, ctx: bctx, cancel: cancel}
	if err := chromedp.Do(bctx); err != nil {
		b.Close()
		return nil, fmt.Errorf("starting chromium (%s): %w", path, err)
	}
	go func() {
		select {
		case <-ctx.Done():
			b.Close()
		case <-bctx.Done():
		}
	}()
	return b, nil
}

// Options returns the bounds this browser applies to its pages.
func (b *Browser) Options() Options { return b.opts }

// Close kills the browser and every process that runs with its profile, and
// removes its scratch directory. It is safe to call more than once.
func (b *Browser) Close() {
	b.closeOnce.Do(func() {
		b.cancel()
		b.allocCancel()
		killProfile(b.profile)
		os.RemoveAll(b.scratch)
	})
}

// killProfile kills every process whose command line names profile as its
// user data directory, until none is found a few times in a row: chromium's
// zygote and utility processes can outlive the main process for a moment.
func killProfile(profile string) {
	deadline := time.Now().Add(3 * time.Second)
	for quiet := 0; quiet < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		pids := Processes(profile)
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if len(pids) == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
}

// Processes lists the live processes started with --user-data-dir=profile.
func Processes(profile string) []int {
	want := []byte("--user-data-dir=" + profile)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		for arg := range bytes.SplitSeq(cmdline, []byte{0}) {
			if bytes.Equal(arg, want) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// Profile returns the user data directory of this browser (tests use it to
// prove that nothing is left running).
func (b *Browser) Profile() string { return b.profile }
