package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bcbench/bcbench/cert"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/reports"
)

func init() { register(newMatrixCmd) }

// Bounds of a matrix: the plan file, the runs in it, the runs merged.
const (
	maxPlanSize   = 4 << 20
	maxPlanRuns   = 4096
	maxMatrixRuns = 4096
	// maxRunSearchDepth is how deep matrix merge looks for run folders
	// below each folder it is given (CI artifacts nest a level or two).
	maxRunSearchDepth = 3
)

// matrixPlan is the plan file: the shape of a CI job matrix
// (GitHub's strategy.matrix with an include list; docs/bureau.md). Each
// include item is one job: one chain run, or a shard of several.
type matrixPlan struct {
	Include []planEntry `json:"include"`
}

// planEntry is one job of the matrix.
type planEntry struct {
	Entry int       `json:"entry"`
	Name  string    `json:"name"`
	Runs  []planRun `json:"runs"`
}

// planRun is one chain run: a publisher's manifest with a consumer's
// manifest under a profile. The sha256 of each manifest binds the run to the
// file the plan was made from.
type planRun struct {
	ID              string   `json:"id"`
	Profile         string   `json:"profile"`
	Publisher       string   `json:"publisher"`
	PublisherName   string   `json:"publisherName"`
	PublisherSHA256 string   `json:"publisherSha256"`
	Consumer        string   `json:"consumer"`
	ConsumerName    string   `json:"consumerName"`
	ConsumerSHA256  string   `json:"consumerSha256"`
	Scenarios       []string `json:"scenarios,omitempty"`
}

// consumerRole is the role a consumer manifest brings today: the index,
// which receives what the publishers register and answers the consumers
// (the bench plays the hospital and the JGZ). Viewers and DVZA join when
// they are built (docs/bureau.md).
const consumerRole = "index"

func newMatrixCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "matrix",
		Short: "Plan the interoperability matrix for a CI job matrix, and merge its signed runs into one report",
	}
	cmd.AddCommand(newMatrixPlanCmd(), newMatrixMergeCmd())
	return cmd
}

type planFlags struct {
	publishers, consumers []string
	profiles              []string
	scenarios             []string
	shards                int
	out                   string
}

func newMatrixPlanCmd() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan --publishers A.yaml,B.yaml --consumers V.yaml,W.yaml [--profile P] [--shards N] [--out PLAN.json]",
		Short: "Write the chain runs of publisher × consumer × profile as a CI job matrix (JSON)",
		Long: `plan lists one chain run per publisher manifest (roles xis, xis-<suffix>) × consumer manifest
(role index) × profile, and writes them as {"include": [...]}: the shape of GitHub Actions'
strategy.matrix (fromJSON of the file) and of a list GitLab CI or a Kubernetes indexed Job walks by
number. Each include item is one job ("entry"); with --shards N the runs are dealt round-robin into
N jobs. Run one with: bcbench run --matrix PLAN.json --matrix-entry K --out DIR.

Manifest paths are kept as given: run the jobs from the same working folder (the repository root
in CI). Each manifest's sha256 is in the plan; a job refuses a manifest changed since.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			plan, err := makePlan(f)
			if err != nil {
				return withCode(exitSetup, err)
			}
			data, err := json.MarshalIndent(plan, "", "  ")
			if err != nil {
				return withCode(exitSetup, fmt.Errorf("encoding the plan: %w", err))
			}
			data = append(data, '\n')
			if f.out == "" || f.out == "-" {
				_, err = cmd.OutOrStdout().Write(data)
				return err
			}
			if err := os.WriteFile(f.out, data, 0o644); err != nil {
				return withCode(exitSetup, fmt.Errorf("writing the plan: %w", err))
			}
			n := 0
			for _, e := range plan.Include {
				n += len(e.Runs)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: %d chain runs in %d jobs\n", f.out, n, len(plan.Include))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.publishers, "publishers", nil, "publisher manifests (roles xis, xis-<suffix>), comma-separated or repeated")
	fl.StringSliceVar(&f.consumers, "consumers", nil, "consumer manifests (role index), comma-separated or repeated")
	fl.StringSliceVar(&f.profiles, "profile", []string{certification.Chain}, "chain profile(s) to judge each pair against (each must judge xis and index)")
	fl.StringArrayVar(&f.scenarios, "scenario", nil, "scenario ID each run replays (repeatable); default: the profile's scenarios")
	fl.IntVar(&f.shards, "shards", 0, "deal the runs into this many jobs (0: one job per run)")
	fl.StringVar(&f.out, "out", "", "plan file to write (default: stdout)")
	return cmd
}

// planManifest is a manifest named in the plan: its path, name and sha256.
type planManifest struct {
	path, name, sha string
}

// makePlan checks every manifest and profile and lists the runs.
func makePlan(f planFlags) (*matrixPlan, error) {
	if len(f.publishers) == 0 || len(f.consumers) == 0 {
		return nil, errors.New("matrix plan: --publishers and --consumers each need at least one manifest")
	}
	load := func(kind string, paths []string, fits func(role string) bool) ([]planManifest, error) {
		var out []planManifest
		names := map[string]string{}
		for _, p := range paths {
			m, err := harness.LoadManifest(p)
			if err != nil {
				return nil, fmt.Errorf("matrix plan: %s %w", kind, err)
			}
			for _, r := range m.RoleNames() {
				if !fits(r) {
					return nil, fmt.Errorf("matrix plan: %s %s brings role %s; a %s brings only %s", kind, p, r, kind, kindRoles(kind))
				}
			}
			if len(m.Roles) == 0 {
				return nil, fmt.Errorf("matrix plan: %s %s brings no role", kind, p)
			}
			if prev, ok := names[m.Name]; ok {
				return nil, fmt.Errorf("matrix plan: %s %s and %s are both named %q: the matrix could not tell their runs apart", kind, prev, p, m.Name)
			}
			names[m.Name] = p
			out = append(out, planManifest{path: p, name: m.Name, sha: m.SHA256})
		}
		return out, nil
	}
	pubs, err := load("publisher", f.publishers, harness.IsPublisher)
	if err != nil {
		return nil, err
	}
	cons, err := load("consumer", f.consumers, func(r string) bool { return r == consumerRole })
	if err != nil {
		return nil, err
	}
	var profiles []string
	for _, id := range f.profiles {
		p, err := certification.Lookup(id)
		if err != nil {
			return nil, fmt.Errorf("matrix plan: %w", err)
		}
		if !slices.Contains(p.Roles, "xis") || !slices.Contains(p.Roles, consumerRole) {
			return nil, fmt.Errorf("matrix plan: profile %s judges %s; a matrix needs a chain profile that judges xis and %s, such as %s", id, strings.Join(p.Roles, ", "), consumerRole, certification.Chain)
		}
		if !slices.Contains(profiles, id) {
			profiles = append(profiles, id)
		}
	}
	if len(f.scenarios) > 0 {
		if _, err := lookupScenarios(f.scenarios); err != nil {
			return nil, fmt.Errorf("matrix plan: %w", err)
		}
	}
	total := len(pubs) * len(cons) * len(profiles)
	if total > maxPlanRuns {
		return nil, fmt.Errorf("matrix plan: %d runs; at most %d", total, maxPlanRuns)
	}
	if f.shards < 0 || f.shards > total {
		return nil, fmt.Errorf("matrix plan: --shards %d is outside 0–%d (the number of runs)", f.shards, total)
	}
	var runs []planRun
	for _, prof := range profiles {
		for _, p := range pubs {
			for _, c := range cons {
				id := fmt.Sprintf("%03d-%s--%s", len(runs), slug(p.name), slug(c.name))
				if len(profiles) > 1 {
					id += "--" + slug(prof)
				}
				runs = append(runs, planRun{ID: id, Profile: prof,
					Publisher: p.path, PublisherName: p.name, PublisherSHA256: p.sha,
					Consumer: c.path, ConsumerName: c.name, ConsumerSHA256: c.sha,
					Scenarios: f.scenarios})
			}
		}
	}
	plan := &matrixPlan{}
	if f.shards == 0 {
		for i, r := range runs {
			plan.Include = append(plan.Include, planEntry{Entry: i, Name: fmt.Sprintf("%s × %s (%s)", r.PublisherName, r.ConsumerName, r.Profile), Runs: []planRun{r}})
		}
		return plan, nil
	}
	for k := range f.shards {
		plan.Include = append(plan.Include, planEntry{Entry: k, Name: fmt.Sprintf("shard %d/%d", k+1, f.shards)})
	}
	for i, r := range runs {
		plan.Include[i%f.shards].Runs = append(plan.Include[i%f.shards].Runs, r)
	}
	return plan, nil
}

func kindRoles(kind string) string {
	if kind == "publisher" {
		return "xis and xis-<suffix>"
	}
	return consumerRole
}

var slugInvalid = regexp.MustCompile(`[^a-z0-9]+`)

// slug makes a name safe for a folder: lower-case letters, digits, dashes.
func slug(s string) string {
	s = strings.Trim(slugInvalid.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	if s == "" {
		s = "x"
	}
	return s
}

var runIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,127}$`)

// readPlan reads and checks a plan file.
func readPlan(path string) (*matrixPlan, error) {
	data, err := readRegular(path, maxPlanSize)
	if err != nil {
		return nil, fmt.Errorf("reading matrix plan: %w", err)
	}
	var plan matrixPlan
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&plan); err != nil {
		return nil, fmt.Errorf("reading matrix plan %s: not a plan of bcbench matrix plan: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("reading matrix plan %s: data after the plan", path)
	}
	if len(plan.Include) == 0 {
		return nil, fmt.Errorf("reading matrix plan %s: no entries (\"include\" is empty or missing)", path)
	}
	ids := map[string]bool{}
	total := 0
	for k, e := range plan.Include {
		if e.Entry != k {
			return nil, fmt.Errorf("reading matrix plan %s: include[%d] says entry %d", path, k, e.Entry)
		}
		if len(e.Runs) == 0 {
			return nil, fmt.Errorf("reading matrix plan %s: entry %d has no runs", path, k)
		}
		for _, r := range e.Runs {
			total++
			switch {
			case !runIDPattern.MatchString(r.ID):
				return nil, fmt.Errorf("reading matrix plan %s: entry %d: run id %q is not lower-case letters, digits and dashes", path, k, r.ID)
			case ids[r.ID]:
				return nil, fmt.Errorf("reading matrix plan %s: run id %s is in the plan twice", path, r.ID)
			case r.Publisher == "" || r.Consumer == "" || r.Profile == "":
				return nil, fmt.Errorf("reading matrix plan %s: run %s lacks a publisher, consumer or profile", path, r.ID)
			}
			ids[r.ID] = true
		}
	}
	if total > maxPlanRuns {
		return nil, fmt.Errorf("reading matrix plan %s: %d runs; at most %d", path, total, maxPlanRuns)
	}
	return &plan, nil
}

// runMatrixEntry runs the chain runs of one entry of a plan, each into
// OUT/<run id>; the exit code is the worst of them.
func runMatrixEntry(ctx context.Context, f runFlags, planPath string, entry int, stderr, stdout io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if len(f.candidates) > 0 || f.profile != "" || len(f.scenarios) > 0 {
		return withCode(exitSetup, errors.New("--matrix takes the candidates, profile and scenarios from the plan: leave out --candidate, --profile and --scenario"))
	}
	plan, err := readPlan(planPath)
	if err != nil {
		return withCode(exitSetup, err)
	}
	if entry < 0 || entry >= len(plan.Include) {
		return withCode(exitSetup, fmt.Errorf("--matrix-entry %d: the plan %s has entries 0–%d", entry, planPath, len(plan.Include)-1))
	}
	e := plan.Include[entry]
	for _, r := range e.Runs {
		for _, m := range []struct{ path, sum string }{{r.Publisher, r.PublisherSHA256}, {r.Consumer, r.ConsumerSHA256}} {
			if got := fileSHA256(m.path); got != m.sum {
				return withCode(exitSetup, fmt.Errorf("run %s: manifest %s is not the one the plan was made from (sha256 %q, plan %s): make the plan again", r.ID, m.path, got, m.sum))
			}
		}
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return withCode(exitSetup, fmt.Errorf("making output folder: %w", err))
	}
	runs := e.Runs
	if f.matrixRun != "" {
		i := slices.IndexFunc(runs, func(r planRun) bool { return r.ID == f.matrixRun })
		if i < 0 {
			return withCode(exitSetup, fmt.Errorf("--matrix-run %s is not in entry %d", f.matrixRun, entry))
		}
		runs = runs[i : i+1]
	}
	if len(runs) > 1 {
		// Ctrl-C or SIGTERM (a CI job cancelled) stops the run in flight
		// the way it stops a run: its child gets SIGTERM, stops the
		// candidate and writes its report; the runs after it do not start.
		var stop context.CancelFunc
		ctx, stop = harness.InterruptContext(ctx)
		defer stop()
	}
	worst := exitPass
	var errs []string
	for _, r := range runs {
		var err error
		if len(runs) == 1 {
			fmt.Fprintf(stdout, "matrix entry %d, run %s: %s × %s (%s)\n", entry, r.ID, plainText(r.PublisherName), plainText(r.ConsumerName), r.Profile)
			one := f
			one.candidates = []string{r.Publisher, r.Consumer}
			one.profile = r.Profile
			one.scenarios = r.Scenarios
			one.out = filepath.Join(f.out, r.ID)
			err = run(ctx, one, stderr, stdout)
		} else {
			// The specs run once per process (Ginkgo): each run of a shard
			// is this command again, limited to that run.
			err = runMatrixChild(ctx, r.ID, stderr, stdout)
		}
		code := exitPass
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		} else if err != nil {
			code = exitSetup
		}
		if err != nil {
			errs = append(errs, r.ID+": "+err.Error())
		}
		worst = max(worst, code)
		if ctx.Err() != nil {
			break
		}
	}
	if worst != exitPass {
		return withCode(worst, fmt.Errorf("matrix entry %d: %s", entry, strings.Join(errs, "; ")))
	}
	return nil
}

// runMatrixChild runs one run of a shard as a child process: this
// process's own command line with --matrix-run ID added.
func runMatrixChild(ctx context.Context, id string, stderr, stdout io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	exe, err := os.Executable()
	if err != nil {
		return withCode(exitSetup, fmt.Errorf("finding the bench's own executable: %w", err))
	}
	if !slices.Contains(os.Args[1:], "--matrix") && !slices.ContainsFunc(os.Args[1:], func(a string) bool { return strings.HasPrefix(a, "--matrix=") }) {
		return withCode(exitSetup, errors.New("a shard of several runs needs the bench's own command line (--matrix …)"))
	}
	cmd := exec.CommandContext(ctx, exe, append(slices.Clone(os.Args[1:]), "--matrix-run", id)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) } // the run stops its candidate and writes its report
	cmd.WaitDelay = 2 * time.Minute
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && ee.ExitCode() > 0:
		return withCode(ee.ExitCode(), fmt.Errorf("exit %d", ee.ExitCode()))
	default:
		return withCode(exitSetup, fmt.Errorf("running %s: %w", id, err))
	}
}

type matrixMergeFlags struct {
	out, plan string
	keys      runKeys
}

func newMatrixMergeCmd() *cobra.Command {
	var f matrixMergeFlags
	cmd := &cobra.Command{
		Use:   "merge RUNDIR... --out DIR [--plan PLAN.json] [--key PUB | --cert CRT] [--root CRT [--register DIR]]",
		Short: "Verify the signed chain runs and build the interoperability matrix (matrix.html, matrix.json)",
		Long: `merge finds every run folder (one holding results.dsse.json) in the folders given, up to three
levels down, verifies each as 'report verify' does — with --key or --cert, else with the signer.crt
beside it; with --root the signer's certificate must chain to the bureau's root (and, with
--register, not be revoked) — and places it by what its signature binds: the publisher (the
manifest that brought xis), the consumer (the manifest that brought index) and the profile.

Each pair is pass, fail or incomplete after the latest verified run of it; a pair whose runs do
not verify is "invalid" and never counts as pass; a pair of the plan without a run is "missing".
It writes DIR/matrix.html (one page, no script, each cell linking to its run's report.html) and
DIR/matrix.json, and prints the matrix.

Exit 0 when the matrix was written and every run verified (failing pairs are results, not
errors); 1 when a run did not verify; 2 on bad input.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return mergeMatrix(cmd.OutOrStdout(), f, args, time.Now())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "", "folder to write matrix.html and matrix.json to (required)")
	fl.StringVar(&f.plan, "plan", "", "the plan the runs were made from: its pairs are the cells, a pair without a run is missing")
	addRunKeyFlags(cmd, &f.keys, "key")
	return cmd
}

// findRuns lists the run folders (holding results.dsse.json) at or below
// each folder given.
func findRuns(dirs []string) ([]string, error) {
	var runs []string
	seen := map[string]bool{}
	for _, d := range dirs {
		st, err := os.Stat(d)
		if err != nil {
			return nil, fmt.Errorf("run folder %s: %w", d, err)
		}
		if !st.IsDir() {
			if filepath.Base(d) == reports.EnvelopeFile {
				d = filepath.Dir(d)
			} else {
				return nil, fmt.Errorf("run folder %s is not a folder", d)
			}
		}
		base := strings.Count(filepath.Clean(d), string(filepath.Separator))
		err = filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !de.IsDir() {
				return nil
			}
			if strings.Count(filepath.Clean(p), string(filepath.Separator))-base > maxRunSearchDepth || de.Name() == reports.EvidenceDir {
				return filepath.SkipDir
			}
			if st, err := os.Lstat(filepath.Join(p, reports.EnvelopeFile)); err == nil && st.Mode().IsRegular() {
				if !seen[p] {
					seen[p] = true
					runs = append(runs, p)
				}
				if len(runs) > maxMatrixRuns {
					return fmt.Errorf("more than %d runs", maxMatrixRuns)
				}
				return filepath.SkipDir
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("looking for runs in %s: %w", d, err)
		}
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("no run (a folder with %s) in %s", reports.EnvelopeFile, strings.Join(dirs, ", "))
	}
	return runs, nil
}

// mergeMatrix verifies and places every run and writes the matrix.
func mergeMatrix(w io.Writer, f matrixMergeFlags, dirs []string, now time.Time) error {
	if f.out == "" {
		return withCode(exitSetup, errors.New("--out DIR is required"))
	}
	if err := f.keys.check("key"); err != nil {
		return err
	}
	var pairs []reports.MatrixPair
	if f.plan != "" {
		plan, err := readPlan(f.plan)
		if err != nil {
			return withCode(exitSetup, err)
		}
		for _, e := range plan.Include {
			for _, r := range e.Runs {
				pairs = append(pairs, reports.MatrixPair{Profile: r.Profile, Publisher: r.PublisherName, Consumer: r.ConsumerName})
			}
		}
	}
	runDirs, err := findRuns(dirs)
	if err != nil {
		return withCode(exitSetup, err)
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return withCode(exitSetup, fmt.Errorf("making output folder: %w", err))
	}
	var runs []reports.MatrixRun
	invalid := 0
	for _, d := range runDirs {
		r := matrixRun(f, d, now)
		if !r.Verified {
			invalid++
		}
		runs = append(runs, r)
	}
	m := reports.BuildMatrix(runs, pairs, now)
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return withCode(exitSetup, fmt.Errorf("encoding the matrix: %w", err))
	}
	h, err := m.HTML()
	if err != nil {
		return withCode(exitSetup, err)
	}
	if err := os.WriteFile(filepath.Join(f.out, reports.MatrixJSONFile), append(data, '\n'), 0o644); err != nil {
		return withCode(exitSetup, fmt.Errorf("writing the matrix: %w", err))
	}
	if err := os.WriteFile(filepath.Join(f.out, reports.MatrixHTMLFile), h, 0o644); err != nil {
		return withCode(exitSetup, fmt.Errorf("writing the matrix: %w", err))
	}
	fmt.Fprint(w, plainTextLines(m.Text()))
	n := m.Count()
	fmt.Fprintf(w, "%d pairs: %d pass, %d fail, %d incomplete, %d invalid, %d missing; %d runs, %d not verified — %s\n",
		len(m.Cells), n[reports.CellPass], n[reports.CellFail], n[reports.CellIncomplete], n[reports.CellInvalid], n[reports.CellMissing],
		len(runs), invalid, filepath.Join(f.out, reports.MatrixHTMLFile))
	for _, r := range runs {
		if !r.Verified {
			fmt.Fprintf(w, "NOT VERIFIED: %s: %s\n", r.Dir, plainText(r.Problem))
		}
	}
	if invalid > 0 {
		return withCode(exitFail, fmt.Errorf("%d of %d runs did not verify", invalid, len(runs)))
	}
	return nil
}

// plainTextLines is plainText per line.
func plainTextLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = plainText(l)
	}
	return strings.Join(lines, "\n")
}

// matrixRun verifies one run folder and says which pair it is. A run that
// does not verify is placed by its (unsigned) results.json when that can be
// read, so the matrix shows it as invalid in its cell.
func matrixRun(f matrixMergeFlags, dir string, now time.Time) reports.MatrixRun {
	envelope := filepath.Join(dir, reports.EnvelopeFile)
	r := reports.MatrixRun{Dir: relTo(f.out, dir), Report: relTo(f.out, filepath.Join(dir, reports.HTMLFile)), Envelope: fileSHA256(envelope)}
	place := func(p reports.Certification) {
		r.Profile = p.Profile.ID
		r.Verdict = p.Verdict
		r.Finished = p.Finished
		r.Publisher, r.Consumer = pairOf(p.Candidate)
	}
	if res, err := reports.ReadResults(filepath.Join(dir, reports.ResultsFile)); err == nil {
		place(reports.Certification{Profile: res.Profile, Verdict: res.Verdict, Finished: res.Finished, Candidate: res.Candidate})
		for _, req := range res.Requirements {
			if req.Status != reports.Pass {
				r.NotPassed = append(r.NotPassed, req.ID+"="+string(req.Status))
			}
		}
	}
	v, problem, err := verifyRun(f.keys, envelope, now)
	switch {
	case err != nil:
		r.Problem = err.Error()
	case problem != "":
		r.Problem = problem
	default:
		// What counts is what the signature binds; results.json was
		// checked against it too.
		place(v.Statement.Predicate)
		r.Verified = true
	}
	return r
}

// runKeys say how the runs of a merge are verified.
type runKeys struct{ key, cert, root, reg string }

// addRunKeyFlags declares the flags of runKeys; keyFlag names the public
// key's flag (report merge's --key is its signing key, as run's is).
func addRunKeyFlags(cmd *cobra.Command, k *runKeys, keyFlag string) {
	fl := cmd.Flags()
	fl.StringVar(&k.key, keyFlag, "", "public key every run was signed with (bcbench.pub)")
	fl.StringVar(&k.cert, "cert", "", "certificate every run was signed with (bcbench.crt)")
	fl.StringVar(&k.root, "root", "", "the bureau's root certificate: each run's signer.crt must chain to it")
	fl.StringVar(&k.reg, "register", "", "with --root: the bureau's register; runs of a revoked operator do not count")
}

// check refuses flags that do not go together.
func (k runKeys) check(keyFlag string) error {
	if k.key != "" && k.cert != "" {
		return withCode(exitSetup, fmt.Errorf("give --%s or --cert, not both", keyFlag))
	}
	if k.reg != "" && k.root == "" {
		return withCode(exitSetup, errors.New("--register needs --root"))
	}
	return nil
}

// describe says, for a merged report, what the runs were verified
// against: only a bureau's root says who signed them.
func (k runKeys) describe() string {
	switch {
	case k.root != "" && k.reg != "":
		return "the bureau's root " + k.root + " and its register " + k.reg + " (operator chain and revocation)"
	case k.root != "":
		return "the bureau's root " + k.root + " (operator chain; revocation not checked)"
	case k.key != "" || k.cert != "":
		return "the key or certificate given: " + k.key + k.cert + " (not chained to a bureau's root)"
	}
	return "each run's own signer.crt only: the files are intact, but who signed them is not checked against a bureau's root"
}

// verifyRun verifies one run: its signature and files with the public key or
// certificate given, else with the signer.crt beside it, and with the root
// its operator's chain (and revocation, with the register). problem says why
// the run does not verify; err is input that cannot be used at all.
func verifyRun(k runKeys, envelope string, now time.Time) (v *reports.Verified, problem string, err error) {
	keyPath := k.key
	if keyPath == "" {
		keyPath = k.cert
	}
	if keyPath == "" {
		keyPath = filepath.Join(filepath.Dir(envelope), cert.SignerCertFile)
		if _, err := os.Stat(keyPath); err != nil {
			return nil, "", fmt.Errorf("no key to verify it with: no %s beside it (give the runs' public key or certificate)", cert.SignerCertFile)
		}
	}
	v, err = reports.VerifyReport(envelope, keyPath, now)
	switch {
	case errors.Is(err, reports.ErrUnusable):
		return nil, "", err
	case err != nil:
		return v, plainText(err.Error()), nil
	case k.root == "":
		return v, "", nil
	}
	problem, err = operatorProblem(verifyFlags{root: k.root, reg: k.reg}, v)
	return v, problem, err
}

// pairOf names the publisher (the manifests that brought xis roles) and the
// consumer (the manifest that brought the index) of a chain run; a role the
// bench played is "referentie".
func pairOf(c reports.Candidate) (publisher, consumer string) {
	const reference = "referentie"
	var pubs []string
	for _, r := range c.Roles {
		name := r.Candidate
		if name == "" {
			name = c.Name
		}
		if r.Source == reports.SourceReference {
			name = reference
		}
		switch {
		case harness.IsPublisher(r.Role):
			if name != reference && !slices.Contains(pubs, name) {
				pubs = append(pubs, name)
			}
		case r.Role == consumerRole:
			consumer = name
		}
	}
	if len(pubs) == 0 {
		pubs = []string{reference}
	}
	return strings.Join(pubs, " + "), consumer
}

// relTo is target relative to base when it can be, else target made
// absolute.
func relTo(base, target string) string {
	ab, err1 := filepath.Abs(base)
	at, err2 := filepath.Abs(target)
	if err1 == nil && err2 == nil {
		if rel, err := filepath.Rel(ab, at); err == nil {
			return filepath.ToSlash(rel)
		}
	}
	if err2 == nil {
		return filepath.ToSlash(at)
	}
	return filepath.ToSlash(target)
}

// readRegular reads a whole regular file (never a FIFO or device), refusing
// one larger than limit bytes.
func readRegular(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}
