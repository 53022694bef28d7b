package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Labels every container and network of a run carries, beside LabelRun:
// which bench process owns it, so that a later run or `bcbench candidate
// cleanup` can tell leftovers (the bench is gone) from live runs.
const (
	// LabelPID is the owning bench's process id.
	LabelPID = "bcbench.pid"
	// LabelStart is the owning bench's start time (clock ticks since boot,
	// from /proc/PID/stat on Linux; empty elsewhere): it tells the bench
	// from a later process that reuses its pid.
	LabelStart = "bcbench.start"
	// LabelHost is the machine the owning bench runs on; a run of another
	// machine sharing the engine is never judged from here.
	LabelHost = "bcbench.host"
)

// runEnv names the variable every process candidate gets: the run id, so
// that its children can be found after the bench was killed.
const runEnv = "BCBENCH_RUN"

// owner is a bench process.
type owner struct {
	PID   int    `json:"pid"`
	Start string `json:"start,omitempty"`
	Host  string `json:"host"`
}

var (
	selfOwnerOnce sync.Once
	selfOwnerVal  owner
)

// selfOwner is this bench process.
func selfOwner() owner {
	selfOwnerOnce.Do(func() {
		h, _ := os.Hostname()
		selfOwnerVal = owner{PID: os.Getpid(), Start: processStart(os.Getpid()), Host: h}
	})
	return selfOwnerVal
}

func (o owner) labels(runID string) map[string]string {
	return map[string]string{LabelRun: runID, LabelPID: strconv.Itoa(o.PID), LabelStart: o.Start, LabelHost: o.Host}
}

// ownerOf reads the owner labels; ok is false when they are missing (a
// bench of an older version labelled only the run).
func ownerOf(labels map[string]string) (owner, bool) {
	pid, err := strconv.Atoi(labels[LabelPID])
	if err != nil || pid <= 0 || labels[LabelHost] == "" {
		return owner{}, false
	}
	return owner{PID: pid, Start: labels[LabelStart], Host: labels[LabelHost]}, true
}

// state says whether a bench process still runs.
type state int

const (
	stateGone    state = iota // the bench process is gone: its run is a leftover
	stateAlive                // it runs: leave its run alone
	stateUnknown              // another machine, or no owner labels: not ours to judge
)

func (o owner) state() state {
	h, _ := os.Hostname()
	if o.Host != h {
		return stateUnknown
	}
	if !processExists(o.PID) {
		return stateGone
	}
	if o.Start != "" {
		if now := processStart(o.PID); now != "" && now != o.Start {
			return stateGone // the pid was reused by another process
		}
	}
	return stateAlive
}

// processExists reports whether a process with this pid exists (also one of
// another user) and is not a zombie.
func processExists(pid int) bool {
	if !pidExists(pid) {
		return false
	}
	if runtime.GOOS == "linux" {
		st, ok := procStat(pid)
		if ok && len(st) > 0 && (st[0] == "Z" || st[0] == "X") {
			return false
		}
	}
	return true
}

// procStat returns the fields of /proc/PID/stat after the command name.
func procStat(pid int) ([]string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, false
	}
	return strings.Fields(string(b[i+1:])), true
}

// processStart returns a process's start time in clock ticks since boot
// (Linux), or "" where the system does not say.
func processStart(pid int) string {
	f, ok := procStat(pid)
	// Field 22 of stat is starttime; f starts at field 3.
	if !ok || len(f) < 20 {
		return ""
	}
	return f[19]
}

// processGroup returns a process's group id, or 0.
func processGroup(pid int) int {
	f, ok := procStat(pid)
	if !ok || len(f) < 3 {
		return 0
	}
	g, _ := strconv.Atoi(f[2])
	return g
}

// Registry of process candidates: one file per run in a per-user state
// folder, so that the processes of a bench that was killed outright can be
// found and ended.

// runRecord is what the registry keeps of one run.
type runRecord struct {
	Run       string          `json:"run"`
	Owner     owner           `json:"owner"`
	Processes []processRecord `json:"processes"`
}

type processRecord struct {
	Role  string `json:"role"`
	PID   int    `json:"pid"`
	Start string `json:"start,omitempty"`
}

// StateDir is where the bench keeps its registry of running process
// candidates: $XDG_STATE_HOME/bcbench, else ~/.local/state/bcbench.
func StateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "bcbench"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the state folder: %w", err)
	}
	return filepath.Join(home, ".local", "state", "bcbench"), nil
}

var registryMu sync.Mutex

func registryPath(runID string) (string, error) {
	d, err := StateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "runs", runID+".json"), nil
}

// registerProcess records a started process candidate of this bench's run.
func registerProcess(runID, role string, pid int) error {
	registryMu.Lock()
	defer registryMu.Unlock()
	p, err := registryPath(runID)
	if err != nil {
		return err
	}
	rec := runRecord{Run: runID, Owner: selfOwner()}
	if b, err := os.ReadFile(p); err == nil {
		_ = json.Unmarshal(b, &rec)
	}
	rec.Processes = append(rec.Processes, processRecord{Role: role, PID: pid, Start: processStart(pid)})
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("registering process candidate: %w", err)
	}
	b, _ := json.MarshalIndent(rec, "", "  ")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("registering process candidate: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("registering process candidate: %w", err)
	}
	return nil
}

// unregisterRun drops a run's registry file.
func unregisterRun(runID string) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if p, err := registryPath(runID); err == nil {
		_ = os.Remove(p)
	}
}

// readRegistry returns every run the registry holds.
func readRegistry() ([]runRecord, error) {
	d, err := StateDir()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(d, "runs"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the registry of process candidates: %w", err)
	}
	var out []runRecord
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, "runs", e.Name()))
		if err != nil {
			continue
		}
		var rec runRecord
		if json.Unmarshal(b, &rec) != nil || rec.Run == "" {
			continue
		}
		out = append(out, rec)
	}
	return out, nil
}

// killRunProcesses ends what is left of a run's process candidates: the
// process group of every recorded program that still is the one the bench
// started, and on Linux every process of this user that carries the run's
// marker in its environment (children that left the group). It returns
// the pids it signalled.
func killRunProcesses(rec runRecord) []string {
	var killed []string
	seen := map[int]bool{}
	for _, p := range rec.Processes {
		if !processExists(p.PID) {
			continue
		}
		if p.Start != "" && processStart(p.PID) != p.Start {
			continue // another process has the pid now
		}
		if g := processGroup(p.PID); g == p.PID || runtime.GOOS != "linux" {
			signalGroup(p.PID, true)
		}
		killPID(p.PID)
		seen[p.PID] = true
		killed = append(killed, strconv.Itoa(p.PID))
	}
	for _, pid := range markedProcesses(rec.Run, "") {
		if seen[pid] {
			continue
		}
		killPID(pid)
		killed = append(killed, strconv.Itoa(pid))
	}
	return killed
}

// runMark is the value of BCBENCH_RUN for one role of a run.
func runMark(runID, role string) string { return runID + "/" + role }

// markedProcesses lists (on Linux) the processes whose environment holds
// BCBENCH_RUN=runID/role (any role when role is empty): a process
// candidate and whatever it started.
func markedProcesses(runID, role string) []int {
	if runtime.GOOS != "linux" || runID == "" {
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	marker := []byte("\x00" + runEnv + "=" + runMark(runID, role))
	if role != "" {
		marker = append(marker, 0)
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue // another user's, or gone
		}
		if bytes.Contains(append([]byte{0}, env...), marker) && processExists(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// Leftover is one thing a run left behind.
type Leftover struct {
	Run  string
	Kind string // container, network, process
	ID   string
}

func (l Leftover) String() string { return fmt.Sprintf("%s %s of run %s", l.Kind, l.ID, l.Run) }

// Sweep is what RemoveLeftovers did.
type Sweep struct {
	// Removed lists what was removed, of runs whose bench is gone.
	Removed []Leftover
	// Live lists runs left alone because their bench still runs ("run (pid N)").
	Live []string
	// Foreign counts containers and networks of runs this bench cannot
	// judge (another machine, or a bench too old to label its pid).
	Foreign int
}

// RemoveLeftovers removes the containers, networks and processes of every
// run whose bench process is gone (killed outright: SIGKILL, a crash, a
// power cut), and leaves live runs of other benches and users alone. A run
// calls it before it starts anything; `bcbench candidate cleanup` too.
// Without a Docker engine only processes are looked at.
func RemoveLeftovers(ctx context.Context) (Sweep, error) {
	var sw Sweep
	var errs []error
	live := map[string]bool{}
	if DockerAvailable(ctx) == nil {
		items, err := labelledObjects(ctx, LabelRun)
		if err != nil {
			errs = append(errs, err)
		}
		gone := map[string]bool{}
		for _, it := range items {
			run := it.labels[LabelRun]
			o, ok := ownerOf(it.labels)
			if !ok {
				sw.Foreign++
				continue
			}
			switch o.state() {
			case stateGone:
				gone[run] = true
			case stateAlive:
				if !live[run] {
					live[run] = true
					sw.Live = append(sw.Live, fmt.Sprintf("%s (pid %d)", run, o.PID))
				}
			default:
				sw.Foreign++
			}
		}
		for _, run := range slices.Sorted(maps.Keys(gone)) {
			removed, err := removeRun(ctx, run)
			sw.Removed = append(sw.Removed, removed...)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	recs, err := readRegistry()
	if err != nil {
		errs = append(errs, err)
	}
	for _, rec := range recs {
		switch rec.Owner.state() {
		case stateAlive:
			if !live[rec.Run] {
				live[rec.Run] = true
				sw.Live = append(sw.Live, fmt.Sprintf("%s (pid %d)", rec.Run, rec.Owner.PID))
			}
			continue
		case stateUnknown:
			continue
		}
		for _, pid := range killRunProcesses(rec) {
			sw.Removed = append(sw.Removed, Leftover{Run: rec.Run, Kind: "process", ID: pid})
		}
		unregisterRun(rec.Run)
	}
	return sw, errors.Join(errs...)
}

// ErrRunAlive is returned by CleanupRun for a run whose bench still runs.
var ErrRunAlive = errors.New("the run's bench still runs")

// CleanupRun removes everything of one run (`bcbench candidate cleanup
// --run ID`), but refuses while the bench that owns it still runs: a live
// run is stopped by its own bench (Ctrl-C), never from outside.
func CleanupRun(ctx context.Context, runID string) ([]Leftover, error) {
	if runID == "" {
		return nil, errors.New("cleaning up: no run id")
	}
	dockerOK := DockerAvailable(ctx) == nil
	if dockerOK {
		items, err := labelledObjects(ctx, LabelRun+"="+runID)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if o, ok := ownerOf(it.labels); ok && o.state() == stateAlive {
				return nil, fmt.Errorf("cleaning up run %s: %w (pid %d on %s); stop it there", runID, ErrRunAlive, o.PID, o.Host)
			}
		}
	}
	recs, err := readRegistry()
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		if rec.Run == runID && rec.Owner.state() == stateAlive {
			return nil, fmt.Errorf("cleaning up run %s: %w (pid %d on %s); stop it there", runID, ErrRunAlive, rec.Owner.PID, rec.Owner.Host)
		}
	}
	var out []Leftover
	var errs []error
	if dockerOK {
		out, err = removeRun(ctx, runID)
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, rec := range recs {
		if rec.Run != runID {
			continue
		}
		for _, pid := range killRunProcesses(rec) {
			out = append(out, Leftover{Run: runID, Kind: "process", ID: pid})
		}
		unregisterRun(runID)
	}
	return out, errors.Join(errs...)
}

// labelled is a Docker container or network with its labels.
type labelled struct {
	kind, id string
	labels   map[string]string
}

// labelledObjects lists containers (also stopped ones) and networks that
// carry a label filter ("key" or "key=value").
func labelledObjects(ctx context.Context, label string) ([]labelled, error) {
	filters, _ := json.Marshal(map[string][]string{"label": {label}})
	q := url.QueryEscape(string(filters))
	host := dockerHost()
	var out []labelled
	var errs []error
	for _, l := range []struct{ kind, path string }{
		{"container", "/containers/json?all=1&filters=" + q},
		{"network", "/networks?filters=" + q},
	} {
		status, body, err := dockerGet(ctx, host, l.path)
		if err != nil || status != http.StatusOK {
			errs = append(errs, fmt.Errorf("listing %ss: %v (status %d)", l.kind, err, status))
			continue
		}
		var items []struct {
			ID     string            `json:"Id"`
			Labels map[string]string `json:"Labels"`
		}
		if err := json.Unmarshal(body, &items); err != nil {
			errs = append(errs, fmt.Errorf("listing %ss: %w", l.kind, err))
			continue
		}
		for _, it := range items {
			out = append(out, labelled{kind: l.kind, id: it.ID, labels: it.Labels})
		}
	}
	return out, errors.Join(errs...)
}

// removeRun removes every container, then every network, of one run,
// whoever owns it.
func removeRun(ctx context.Context, runID string) ([]Leftover, error) {
	items, err := labelledObjects(ctx, LabelRun+"="+runID)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	host := dockerHost()
	var removed []Leftover
	for _, kind := range []string{"container", "network"} {
		for _, it := range items {
			if it.kind != kind {
				continue
			}
			path := "/networks/" + it.id
			if kind == "container" {
				path = "/containers/" + it.id + "?force=1&v=1"
			}
			status, body, err := dockerDo(ctx, host, http.MethodDelete, path, nil)
			if err == nil && status == http.StatusConflict && kind == "container" && bytes.Contains(body, []byte("already in progress")) {
				// the engine is removing it already (an auto-removed
				// relay whose process died with the run): wait until it is
				// gone rather than report a leftover that is on its way out
				status = awaitGone(ctx, host, "/containers/"+it.id+"/json")
			}
			if err != nil || (status != http.StatusNoContent && status != http.StatusOK && status != http.StatusNotFound) {
				errs = append(errs, fmt.Errorf("removing %s %s: %v (status %d %s)", kind, shortID(it.id), err, status, snippet(body)))
				continue
			}
			removed = append(removed, Leftover{Run: runID, Kind: kind, ID: shortID(it.id)})
		}
	}
	return removed, errors.Join(errs...)
}

// awaitGone polls a Docker object until the engine answers 404 for it
// (gone: http.StatusNotFound) or 15 s pass (the last status, or 409 when
// the engine did not answer).
func awaitGone(ctx context.Context, host, path string) int {
	deadline := time.Now().Add(15 * time.Second)
	last := http.StatusConflict
	for time.Now().Before(deadline) && ctx.Err() == nil {
		status, _, err := dockerGet(ctx, host, path)
		if err == nil {
			if status == http.StatusNotFound {
				return status
			}
			last = http.StatusConflict
		}
		time.Sleep(200 * time.Millisecond)
	}
	return last
}
