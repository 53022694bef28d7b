package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/bcbench/bcbench/cert"
	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/reports"
	"github.com/bcbench/bcbench/requirements"
	"github.com/bcbench/bcbench/suites"
	"github.com/bcbench/bcbench/suites/profile"
	"github.com/bcbench/bcbench/suites/spec"
	"github.com/bcbench/bcbench/token"
)

func init() { register(newRunCmd) }

// runFlags are the options of `bcbench run`.
type runFlags struct {
	candidates []string // manifests, combined
	profile    string
	out        string
	scenarios  []string
	key        string
	force      bool // clear a non-empty output folder of an earlier run
	packages   []string
	tx         string // terminology server base URL
	manual     bool
	reference  string // day 0 of the scenarios, YYYY-MM-DD
	quiet      bool
	verbose    bool
	// a generated population replayed after the named scenarios
	population int
	seed       uint64
	// overrides of the profile's limits
	requestTimeout, startupTimeout, specTimeout time.Duration
	timeliness                                  []string // hop=duration
	// scenarios replayed at once
	concurrency int
	// a plan of `bcbench matrix plan` and the entry of it to run
	matrix      string
	matrixEntry int
	matrixRun   string // one run of the entry (a shard runs each in a process of its own)
	// FHIR TestScripts run for TS-01 (docs/testscript.md)
	testscripts, testscriptVariables string
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Replay scenarios through a candidate, check it, and write a signed report",
		Long: `run starts (or attaches to) the candidate's systems, replays the scenarios of the
certification profile through its adapter, runs the specs of the profile's requirements,
and writes results.json, junit.xml, report.html, evidence/ and results.dsse.json.

Exit code: 0 verdict pass, 1 verdict fail or incomplete, 2 the bench could not run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.matrix != "" || cmd.Flags().Changed("matrix-entry") {
				if f.matrix == "" || !cmd.Flags().Changed("matrix-entry") {
					return withCode(exitSetup, errors.New("--matrix PLAN.json and --matrix-entry K go together"))
				}
				return runMatrixEntry(cmd.Context(), f, f.matrix, f.matrixEntry, cmd.ErrOrStderr(), cmd.OutOrStdout())
			}
			return run(cmd.Context(), f, cmd.ErrOrStderr(), cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.candidates, "candidate", nil, "candidate manifest (YAML), repeatable: the manifests are combined, each role named once; every role the profile needs that none brings is played by the bench's reference (default: the reference for every role)")
	fl.StringVar(&f.profile, "profile", "", "certification profile ID; default: "+certification.Default+" with --key, "+certification.DefaultSelfTest+" (the same content, no certificate) without")
	fl.StringVar(&f.out, "out", "bcbench-out", "output folder; must be empty or absent")
	fl.BoolVar(&f.force, "force", false, "clear the output folder of an earlier run first (never /, the home folder, the working folder, or a folder holding other files)")
	fl.StringArrayVar(&f.scenarios, "scenario", nil, "scenario ID to replay (repeatable); default: the profile's scenarios")
	fl.StringVar(&f.key, "key", "", "signing key (bcbench.key from 'bcbench keys init'); default: a per-user development key, report marked zelftest")
	fl.StringArrayVar(&f.packages, "package", nil, "FHIR package (folder, .tgz or NAME#VERSION in the cache) added to the embedded ones, or replacing the one of the same name; \"none\" leaves the embedded ones out (repeatable)")
	fl.StringVar(&f.tx, "tx", "", txFlagHelp)
	fl.BoolVar(&f.manual, "manual", false, "projectathon mode: print each registration for an operator instead of using the adapter")
	fl.StringVar(&f.reference, "reference-date", "", "day 0 of the scenarios (first day of the last menstruation), YYYY-MM-DD; default: the date that puts the last event of the scenarios yesterday")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress on stderr")
	fl.IntVar(&f.population, "population", 0, "also replay this many generated pregnancies (0–8000), for coverage and load")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the generated population (same seed, same pregnancies)")
	fl.BoolVar(&f.verbose, "verbose", false, "progress on stderr as timestamped lines, also when it is not a terminal")
	fl.DurationVar(&f.requestTimeout, "request-timeout", 0, "time one request to the candidate may take (default: the profile's limit)")
	fl.DurationVar(&f.startupTimeout, "startup-timeout", 0, "time the candidate may take to become ready (default: the profile's limit)")
	fl.DurationVar(&f.specTimeout, "spec-timeout", 0, "time one spec may take (default: the profile's limit)")
	fl.StringArrayVar(&f.timeliness, "timeliness-limit", nil, "HOP=DURATION: override the profile's timeliness limit of a hop (publication, index, consumer, viewer, dvza), e.g. publication=2s (repeatable; self-tests only)")
	fl.StringVar(&f.matrix, "matrix", "", "a plan of 'bcbench matrix plan': run one entry of it (--matrix-entry), each chain run into OUT/<run id>")
	fl.IntVar(&f.matrixEntry, "matrix-entry", 0, "with --matrix: the entry (job, or shard) K of the plan to run, from 0")
	fl.StringVar(&f.matrixRun, "matrix-run", "", "with --matrix-entry: only this run of the entry")
	_ = fl.MarkHidden("matrix-run")
	fl.StringVar(&f.testscripts, "testscripts", "", "folder of FHIR TestScripts (your copy of Nictiz's qualification scripts) run against the XIS for TS-01; the profile's testscripts paths are relative to it, else the folder itself is run")
	fl.StringVar(&f.testscriptVariables, "testscript-variables", "", "YAML or JSON map of TestScript variable values (tokens, identifiers) over the scripts' defaults and the profile's")
	fl.IntVar(&f.concurrency, "concurrency", defaultConcurrency, fmt.Sprintf("scenarios replayed at once, each in order (1–%d); also bounds the timeliness polls in flight (twice this)", maxConcurrency))
	return cmd
}

// run does one bench run; its error carries the exit code.
func run(ctx context.Context, f runFlags, stderr, stdout io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	progress := progressPrinter(stderr, f.quiet, f.verbose)

	// 1. Everything that can be wrong with the input is found before anything starts.
	cat, err := requirements.Default()
	if err != nil {
		return withCode(exitSetup, err)
	}
	if f.profile == "" {
		f.profile = certification.DefaultSelfTest
		if f.key != "" {
			f.profile = certification.Default
		}
	}
	profile, err := certification.Lookup(f.profile)
	if err != nil {
		return withCode(exitSetup, err)
	}
	if err := refuseForCertification(profile, f); err != nil {
		return withCode(exitSetup, err)
	}
	var overridden []string
	for _, o := range []struct {
		name string
		flag time.Duration
		dst  *time.Duration
	}{
		{"requestTimeout", f.requestTimeout, &profile.Limits.RequestTimeout},
		{"startupTimeout", f.startupTimeout, &profile.Limits.StartupTimeout},
		{"specTimeout", f.specTimeout, &profile.Limits.SpecTimeout},
	} {
		if o.flag > 0 {
			*o.dst = o.flag
			overridden = append(overridden, o.name)
		}
	}
	timely, err := timelinessOverrides(f.timeliness, &profile.Limits.Timeliness)
	if err != nil {
		return withCode(exitSetup, err)
	}
	overridden = append(overridden, timely...)
	if f.concurrency < 1 || f.concurrency > maxConcurrency {
		return withCode(exitSetup, fmt.Errorf("--concurrency %d is outside 1–%d", f.concurrency, maxConcurrency))
	}
	scenarioIDs := f.scenarios
	if len(scenarioIDs) == 0 {
		scenarioIDs = profile.Scenarios
	}
	scenarios, err := lookupScenarios(scenarioIDs)
	if err != nil {
		return withCode(exitSetup, err)
	}
	if f.population < 0 || f.population > maxPopulation {
		return withCode(exitSetup, fmt.Errorf("--population %d is outside 0–%d", f.population, maxPopulation))
	}
	softMemoryLimit(f.population > 0)
	for _, s := range fixtures.Generate(f.seed, f.population) {
		scenarios = append(scenarios, s)
		scenarioIDs = append(scenarioIDs, s.ID)
	}
	scriptSets, err := qualificationSets(profile, f.testscripts, f.testscriptVariables)
	if err != nil {
		return withCode(exitSetup, err)
	}
	manifest, err := loadCandidates(f.candidates, profile.Roles, profile.ID)
	if err != nil {
		return withCode(exitSetup, err)
	}
	trustingRoles, err := trusting(manifest)
	if err != nil {
		return withCode(exitSetup, err)
	}
	withAuth := len(trustingRoles) > 0
	if err := checkViewedXIS(manifest, trustingRoles, scenarios); err != nil {
		return withCode(exitSetup, err)
	}
	if err := checkFixedTokens(manifest, scenarios); err != nil {
		return withCode(exitSetup, err)
	}
	if err := checkTranslatorScenarios(manifest, scenarios); err != nil {
		return withCode(exitSetup, err)
	}
	// A run that can certify (a certifying profile, a key given) starts only
	// what cannot reach the bench: built-in references and images pinned by
	// digest or built from the manifest's folder.
	certifying := profile.Certifies && f.key != ""
	if certifying {
		if err := harness.CheckCertifying(manifest); err != nil {
			return withCode(exitSetup, fmt.Errorf("profile %s certifies: %w", profile.ID, err))
		}
	}
	day0, err := referenceDate(f.reference, scenarios)
	if err != nil {
		return withCode(exitSetup, err)
	}
	base, err := profilePackages(profile, "4.0.1")
	if err != nil {
		return withCode(exitSetup, err)
	}
	var stu3Pins []string // the STU3 packages a profile pins (keurmerk-vertaler)
	if len(profile.Packages) > 0 {
		if stu3Pins, err = profilePackages(profile, "3.0.1"); err != nil {
			return withCode(exitSetup, err)
		}
	}
	packages, err := packageSources(base, f.packages, "")
	if err != nil {
		return withCode(exitSetup, err)
	}
	if err := checkKeyPlace(f.key, f.candidates, f.out); err != nil {
		return withCode(exitSetup, err)
	}
	signer, err := signerForRun(profile, f.key)
	if err != nil {
		return withCode(exitSetup, err)
	}
	signerCert := signerCertificate(f.key, signer)
	txURL := txBase(f.tx)
	if err := checkTx(txURL); err != nil {
		return withCode(exitSetup, err)
	}
	// Ctrl-C and SIGTERM cancel the run from here on, so that the candidate
	// is stopped and the results are written. Before, nothing was started
	// and their default (end the process) is right, also when reading an
	// input blocks (a FIFO without writer, a hung network mount).
	ctx, stop := harness.InterruptContext(ctx)
	defer stop()
	if err := prepareOutput(f.out, f.force); err != nil {
		return withCode(exitSetup, err)
	}

	bi, _ := debug.ReadBuildInfo()
	exe := ""
	if p, err := os.Executable(); err == nil {
		exe = fileSHA256(p)
	}
	suiteDigest, revision, modified := reports.BuildDigest(bi, exe)
	in := reports.Input{
		Catalogue: cat,
		Profile: reports.ProfileInput{ID: profile.ID, Title: profile.Title, Version: profile.Version,
			Certifies: profile.Certifies, Requirements: profile.Requirements},
		Bench:         reports.Bench{Version: version, Catalogue: cat.Version, Suite: suiteDigest, Revision: revision, Modified: modified, Executable: exe},
		Candidate:     reports.Candidate{Name: manifest.Name, Vendor: manifest.Vendor, Version: manifest.Version},
		Started:       time.Now().UTC(),
		Scenarios:     scenarioIDs,
		ReferenceDate: day0.Format(fixtures.DateLayout),
		Limits:        limitsInForce(profile.Limits, overridden),
		Packages:      []reports.Package{},
		Mode:          reports.ModeSelfTest,
	}
	if profile.Certifies {
		in.Mode = reports.ModeCertification // WriteAll keeps it only with a key given on purpose
	}
	evidenceDir := filepath.Join(f.out, "evidence")
	var txs *txSession
	// finish writes whatever results exist, always, after the last evidence
	// file is written: everything in evidence/ is signed.
	finish := func(code int, cause error) error {
		if _, err := txs.finish(evidenceDir); err != nil {
			in.Problems = append(in.Problems, "terminologieserver: "+plainText(err.Error()))
		}
		in.Evidence = evidence(f.out)
		in.Finished = time.Now().UTC()
		res := reports.Assemble(in)
		if err := reports.WriteAll(f.out, res, signer); err != nil {
			return withCode(exitSetup, fmt.Errorf("writing the report: %w", err))
		}
		if signerCert != nil {
			if err := os.WriteFile(filepath.Join(f.out, cert.SignerCertFile), signerCert, 0o644); err != nil {
				return withCode(exitSetup, fmt.Errorf("writing the report: %w", err))
			}
		}
		progress("") // clear the progress line before the verdict
		fmt.Fprintf(stdout, "verdict %s — %d pass, %d fail, %d error, %d skip, %d not-tested — report: %s\n",
			res.Verdict, res.Summary.Pass, res.Summary.Fail, res.Summary.Error, res.Summary.Skip, res.Summary.NotTested,
			filepath.Join(f.out, "report.html"))
		printReasons(stdout, res)
		if cause != nil {
			return withCode(code, cause)
		}
		if res.Verdict != reports.VerdictPass {
			return withCode(exitFail, fmt.Errorf("verdict %s", res.Verdict))
		}
		return nil
	}

	// Limits no system can meet (a self-test's --request-timeout 1ns) judge
	// the bench's setting, not the candidate: nothing is started.
	if bad := profile.Limits.Unmeetable(); len(bad) > 0 {
		in.SetupProblem = "de grenzen van deze run zijn door geen systeem te halen (" + strings.Join(bad, "; ") + ")"
		return finish(exitSetup, fmt.Errorf("limits no system can meet: %s", strings.Join(bad, "; ")))
	}
	// The FHIR packages are loaded before the candidate starts: a certifying
	// run whose pinned packages are not all there judges nothing.
	progress("FHIR-pakketten laden")
	txs, err = startTx(txURL)
	if err != nil {
		in.Problems = append(in.Problems, "terminologieserver: "+err.Error())
	}
	defer func() { _, _ = txs.finish(evidenceDir) }() // on early returns: stop the proxy
	if txs != nil {
		in.Terminology = txs.client.Base()
	}
	validator, validatorProblem := loadValidator(packages, txs.remote())
	if len(packages) == 0 && len(base) == 0 && len(stu3Pins) > 0 {
		validatorProblem = "het profiel pint geen R4-pakketten; R4-profielconformiteit is niet getoetst"
	}
	in.Packages = loadedPackages(validator)
	// The STU3 packages a profile pins are loaded here too, so that their
	// pins are checked before anything starts; the others when a DVZA or a
	// translator needs them.
	stu3 := stu3Loader{flags: f.packages}
	if len(stu3Pins) > 0 {
		progress("STU3-pakketten laden (de vastgepinde pakketten van het profiel)")
		stu3.load(stu3Pins)
		in.Packages = append(in.Packages, stu3.record()...)
	}
	if profile.Certifies {
		if missing := checkPins(profile.Packages, in.Packages); len(missing) > 0 {
			in.SetupProblem = "de vastgepinde FHIR-pakketten van het profiel zijn niet geladen (" + strings.Join(missing, "; ") + ")"
			return finish(exitSetup, fmt.Errorf("the profile's pinned FHIR packages are not loaded: %s", strings.Join(missing, "; ")))
		}
	}

	// 2. Start what must be started, with a recording proxy in front; the
	// bench's authorization server first, when the XIS trusts it.
	var auth *benchAuth
	if withAuth {
		if auth, err = startAuth(ctx, manifest); err != nil {
			in.SetupProblem = "de autorisatieserver van de bench is niet gestart (" + err.Error() + ")"
			return finish(exitSetup, err)
		}
		defer auth.close()
	}
	// The bench's test identity provider (in place of DigiD), when a DVZA
	// is judged: the bench logs each client in there as her app.
	var idpURL string
	if _, ok := manifest.Roles["dvza"]; ok {
		idp, err := token.StartIdP(ctx, testClient)
		if err != nil {
			in.SetupProblem = "de test-identiteitsprovider van de bench is niet gestart (" + err.Error() + ")"
			return finish(exitSetup, err)
		}
		defer idp.Close()
		idpURL = idp.URL()
	}
	// A viewer opened with a context token learns the issuer of the XIS
	// the bench plays for it when it starts: that host is made first.
	vhost, err := prepareViewerHost(ctx, manifest)
	if err != nil {
		in.SetupProblem = "de viewer kan niet geopend worden (" + err.Error() + ")"
		return finish(exitSetup, err)
	}
	defer vhost.close()
	progress("kandidaat starten: " + manifest.Name)
	cand, err := launch(ctx, manifest, profile.Limits, certifying, evidenceDir, stderr, func(format string, args ...any) { progress(fmt.Sprintf(format, args...)) }, auth.verifier(), vhost.verifier(), idpURL)
	if err != nil {
		err = errors.New(plainText(harness.RedactUserinfo(err.Error()))) // it may quote the candidate's output
		in.Problems = append(in.Problems, "starting the candidate: "+err.Error())
		in.SetupProblem = "de kandidaat is niet gestart (" + err.Error() + ")"
		in.Evidence = evidence(f.out)
		return finish(exitSetup, fmt.Errorf("starting the candidate: %w", err))
	}
	stopped := false
	stopCandidate := func() {
		if stopped {
			return
		}
		stopped = true
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := cand.Stop(stopCtx); err != nil {
			in.Problems = append(in.Problems, "stopping the candidate: "+plainText(harness.RedactUserinfo(err.Error())))
		}
		for _, f := range cand.Findings() {
			in.Problems = append(in.Problems, "bevinding: "+plainText(f))
		}
		in.Evidence = evidence(f.out)
	}
	defer stopCandidate()
	in.Candidate.Roles = identities(manifest, cand.Identities())
	access, err := auth.readAs(cand, scenarios)
	if err != nil {
		in.SetupProblem = "de bench kan niet als zorgverlener lezen (" + err.Error() + ")"
		stopCandidate()
		return finish(exitSetup, err)
	}
	// A role that dies mid-run stops the others at once: what was judged
	// before is kept, the rest is error (judgedBefore), and nothing waits
	// for timeouts of a chain that is no longer whole.
	var death *harness.Death // read after endWatch, which waits for the watch
	endWatch := cand.Watch(ctx, watchInterval, func(d harness.Death) {
		death = &d
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = cand.Stop(stopCtx) // its error is reported by stopCandidate
	})
	defer endWatch()

	// The viewer reads the run's XIS through the bench's front, or the XIS
	// the bench plays for it, in the run's one browser (closed with the run).
	var vr *viewerRun
	if cand.Viewer != nil {
		progress("viewer: XIS en browser starten")
		if vr, err = startViewer(ctx, cand.Viewer, profile.Limits, scenarios, evidenceDir, viewedXISOf(cand, auth), vhost.prepared()); err != nil {
			err = errors.New(plainText(harness.RedactUserinfo(err.Error())))
			in.SetupProblem = "de viewer kan niet geopend worden (" + err.Error() + ")"
			stopCandidate()
			return finish(exitSetup, err)
		}
		defer vr.close()
		if vr.spec.Problem != "" {
			in.Problems = append(in.Problems, "viewer: "+plainText(vr.spec.Problem))
		}
		if vr.xis != nil {
			cand.FHIR, cand.Adapter = vr.xis, vr.adapter
		}
	}

	// 3. Replay the scenarios, 4. run the specs.
	env := &spec.Env{
		Scenarios: scenarios, Reference: day0,
		XIS: cand.FHIR, Adapter: cand.Adapter,
		Index: cand.Index, Publishers: cand.Publishers, DVZA: cand.DVZA, Translator: cand.Translator,
		Undecided:   string(profile.Undecided),
		Access:      access,
		Concurrency: f.concurrency,
	}
	if vr != nil {
		env.Viewer = vr.spec
	}
	env.Validator, env.ValidatorProblem = validator, validatorProblem
	quals := &qualification{sets: scriptSets, servers: map[string]*harness.FHIR{}, timeout: profile.Limits.RequestTimeout,
		evidence: evidenceDir, validators: embeddedValidator}
	for _, p := range cand.Publishers {
		quals.servers[p.Role] = p.XIS
	}
	env.Qualification = quals.spec()
	if env.DVZA != nil {
		progress("STU3-pakketten laden (MedMij Geboortezorg)")
		env.DVZA.Validator, env.DVZA.ValidatorProblem = stu3.validator()
		env.DVZA.Availability = profile.Limits.Timeliness.DVZA
	}
	if env.Translator != nil {
		progress("STU3-pakketten laden (de profielen van de vertaling)")
		env.STU3Validator, env.STU3ValidatorProblem = stu3.validator()
		in.Packages = append(in.Packages, stu3.record()...) // VRT-06 validates with them
	}
	if f.manual {
		events := 0
		for _, s := range scenarios {
			events += len(s.Events)
		}
		op := harness.NewOperator(os.Stdin, stdout, 0, events)
		env.Manual = func(ctx context.Context, r fixtures.Registration) error {
			_, err := op.Register(ctx, r)
			return err
		}
	}
	spec.SetTimeout(profile.Limits.SpecTimeout)
	env.Clock = newClock(profile.Limits.Timeliness, day0, env, f.concurrency)
	if err := replayUnlessTranslatorOnly(ctx, env, func(s string) { progress("registreren: " + s) }); err != nil {
		err = errors.New(plainText(err.Error()))
		in.Problems = append(in.Problems, "replaying the scenarios: "+err.Error())
		in.SetupProblem = "de scenario's konden niet afgespeeld worden (" + err.Error() + ")"
		stopCandidate()
		return finish(exitSetup, err)
	}
	in.Timeliness = timelinessFigures(env.Clock, scenarios)
	outcomes, err := suites.Run(env, suites.Options{
		Requirements: profile.Requirements,
		Progress:     func(s string) { progress("controleren: " + s) },
	})
	if errors.Is(err, suites.ErrUnknownRequirement) {
		return withCode(exitSetup, err) // nothing ran: a defect of the bench's specs
	}
	in.TestScripts = quals.Table()
	if err != nil {
		in.Problems = append(in.Problems, "running the specs: "+plainText(err.Error()))
	}
	in.Transfers = transferCoverage(env.Transfers())
	endWatch() // a role that dies from here on is found by stoppedRoles
	var others []string
	if death != nil {
		for _, r := range cand.Roles {
			if r.Name != death.Role {
				others = append(others, r.Name)
			}
		}
	}
	for _, o := range judgedBefore(outcomes, death, others) {
		in.Specs = append(in.Specs, reports.SpecOutcome{
			Name: o.Name, Requirements: o.Requirements, Status: reports.Status(o.Status),
			Seconds: o.Seconds, Failure: o.Failure, Location: o.Location,
			Evidence: vr.evidenceFor(o.Requirements),
		})
	}
	if p := vr.problem(); p != "" {
		in.Problems = append(in.Problems, "viewer: "+plainText(p))
	}
	vr.close() // the browser ends with the specs
	if ctx.Err() != nil {
		in.Problems = append(in.Problems, "interrupted: "+ctx.Err().Error())
	}
	if summary, err := txs.finish(evidenceDir); summary != "" || err != nil {
		progress(summary)
		if err != nil {
			in.Problems = append(in.Problems, "terminologieserver: "+err.Error())
		}
		if why := txs.client.GaveUp(); why != "" {
			in.Problems = append(in.Problems, "terminologieserver: "+why)
		}
	}
	endWatch()
	aliveCtx, cancelAlive := context.WithTimeout(context.WithoutCancel(ctx), aliveTimeout)
	gone := stoppedRoles(aliveCtx, cand, env, scenarios, death)
	cancelAlive()
	progress("kandidaat stoppen")
	stopCandidate()
	in.Stopped = withLogTails(f.out, gone)
	progress("rapport schrijven")
	err = finish(exitFail, nil)
	progress("klaar")
	return err
}

// limitsInForce is how results.json records the limits a run ran under.
func limitsInForce(l certification.Limits, overridden []string) *reports.Limits {
	return &reports.Limits{
		SpecTimeout: l.SpecTimeout.String(), RequestTimeout: l.RequestTimeout.String(), StartupTimeout: l.StartupTimeout.String(),
		Memory: int64(l.Memory), PIDs: l.PIDs, CPUs: l.CPUs, Overridden: overridden,
		Timeliness: timelinessLimits(l.Timeliness),
	}
}

// loadedPackages lists the FHIR packages the validator loaded, with the
// sha256 of each one loaded from a .tgz file ("" for a folder).
func loadedPackages(v spec.Validator) []reports.Package {
	out := []reports.Package{}
	e, ok := v.(profile.Engine)
	if !ok || e.V == nil {
		return out
	}
	for _, p := range e.V.Registry().Packages() {
		id := p.Name
		if id == "" { // a folder of definitions without package.json
			id = filepath.Base(p.Source)
		}
		sum := p.SHA256 // of the tarball: embedded packages and .tgz files
		if sum == "" {
			sum = fileSHA256(p.Source)
		}
		out = append(out, reports.Package{ID: id, Version: p.Version, SHA256: sum})
	}
	return out
}

// fileSHA256 is the hex sha256 of a regular file, or "" for anything else
// (a folder, a cache reference).
func fileSHA256(path string) string {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// plainText makes a message that may quote a candidate (its output, its
// answers) safe for a terminal and for one line: control characters, such as
// the escape that starts a terminal command, become spaces.
func plainText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

// printReasons prints, under a verdict other than pass, each MOET
// requirement that did not pass with the first line of its reason, so the
// terminal says why without opening the report.
func printReasons(w io.Writer, res *reports.Results) {
	if res.Verdict == reports.VerdictPass {
		return
	}
	for _, r := range res.Requirements {
		if r.Status == reports.Pass || r.Level != requirements.Must {
			continue
		}
		reason, _, _ := strings.Cut(r.Reason, "\n")
		if reason == "" {
			for _, s := range r.Specs {
				if s.Failure != "" {
					reason, _, _ = strings.Cut(s.Failure, "\n")
					break
				}
			}
		}
		if reason = plainText(reason); len([]rune(reason)) > 160 {
			reason = string([]rune(reason)[:159]) + "…"
		}
		fmt.Fprintf(w, "  %s %s: %s\n", r.ID, r.Status, reason)
	}
}

// stu3Loader loads the run's STU3 validator once (a DVZA and a translator
// share it): from the packages a profile pins, or every embedded STU3
// package.
type stu3Loader struct {
	flags            []string // --package
	loaded, recorded bool
	v                spec.Validator
	problem          string
}

// load loads the validator from base (see loadSTU3Validator).
func (l *stu3Loader) load(base []string) {
	l.v, l.problem = loadSTU3Validator(l.flags, base)
	l.loaded = true
}

// record returns the packages the validator loaded the first time it is
// called, nothing after: results.json names each package once.
func (l *stu3Loader) record() []reports.Package {
	if l.recorded || !l.loaded {
		return nil
	}
	l.recorded = true
	return loadedPackages(l.v)
}

// validator returns the STU3 validator, loading every embedded STU3
// package when nothing was loaded yet.
func (l *stu3Loader) validator() (spec.Validator, string) {
	if !l.loaded {
		l.load(nil)
	}
	return l.v, l.problem
}

// replayUnlessTranslatorOnly replays the scenarios into the run's XIS (or
// DVZA); a run with only a translator has nothing to replay into: the
// translator specs send each event to it as ADA themselves.
func replayUnlessTranslatorOnly(ctx context.Context, env *spec.Env, progress func(string)) error {
	if env.Translator != nil && env.Adapter == nil && len(env.Publishers) == 0 && env.Manual == nil {
		return nil
	}
	return env.Replay(ctx, progress)
}

// testClient says who may log in at the bench's test identity provider:
// synthetic clients only (a BSN of the 9999… test range that passes the
// elfproef).
func testClient(bsn string) bool { return strings.HasPrefix(bsn, "9999") && fixtures.ValidBSN(bsn) }

// maxPopulation bounds --population: each pregnancy is a few dozen requests,
// and the test range of BSNs holds about 8,180 numbers for generated clients.
const maxPopulation = 8000

func lookupScenarios(ids []string) ([]*fixtures.Scenario, error) {
	var out []*fixtures.Scenario
	for _, id := range ids {
		s, ok := fixtures.Lookup(id)
		if !ok {
			var known []string
			for _, g := range fixtures.Golden() {
				known = append(known, g.ID)
			}
			return nil, fmt.Errorf("unknown scenario %q (known: %s)", id, strings.Join(known, ", "))
		}
		out = append(out, s)
	}
	return out, nil
}

// maxReferenceYears bounds how far --reference-date may lie from today.
const maxReferenceYears = 100

// referenceDate reads --reference-date; without one it is the date that
// puts every event of the run's scenarios in the past (fixtures.PastReference).
func referenceDate(s string, scenarios []*fixtures.Scenario) (time.Time, error) {
	if s == "" {
		return fixtures.PastReference(time.Now(), scenarios), nil
	}
	t, err := time.ParseInLocation(fixtures.DateLayout, s, fixtures.Amsterdam)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading --reference-date: %w", err)
	}
	// The scenarios' events lie within a few years of day 0; far from today
	// their dates leave what FHIR and JSON can carry (year 10000) and the
	// bench, not the candidate, would break.
	if now := time.Now(); t.Before(now.AddDate(-maxReferenceYears, 0, 0)) || t.After(now.AddDate(maxReferenceYears, 0, 0)) {
		return time.Time{}, fmt.Errorf("reading --reference-date: %s is more than %d years from today", s, maxReferenceYears)
	}
	return t, nil
}

func loadSigner(path string) (reports.Signer, error) {
	if path == "" {
		s, err := reports.DevSigner()
		if err != nil {
			return nil, fmt.Errorf("loading the development key: %w", err)
		}
		return s, nil
	}
	s, err := reports.LoadSigner(path)
	if err != nil {
		return nil, fmt.Errorf("loading --key: %w", err)
	}
	return s, nil
}

// progressPrinter writes one updating line to stderr when it is a terminal,
// and nothing otherwise.
func progressPrinter(w io.Writer, quiet, verbose bool) func(string) {
	if verbose {
		start := time.Now()
		return func(s string) {
			if s != "" {
				fmt.Fprintf(w, "%7.3fs %s\n", time.Since(start).Seconds(), plainText(s))
			}
		}
	}
	f, ok := w.(*os.File)
	if quiet || !ok || !term.IsTerminal(int(f.Fd())) {
		return func(string) {}
	}
	return lineProgress(w)
}

// lineProgress rewrites one terminal line: each message replaces the last,
// and "" clears it (before the verdict is printed). Messages may quote the
// candidate's manifest: control characters are not printed.
func lineProgress(w io.Writer) func(string) {
	return func(s string) {
		s = plainText(s)
		if r := []rune(s); len(r) > 100 {
			s = string(r[:99]) + "…"
		}
		fmt.Fprintf(w, "\r\033[K%s", s)
	}
}

// populationMemory is the soft memory limit of a population run when the
// operator set none (GOMEMLIMIT): the garbage collector then works harder
// instead of letting the heap double past what is live, so that a run of
// a thousand pregnancies stays within a laptop's memory (docs/timeliness.md).
const populationMemory = 1536 << 20

// runMemory is the soft memory limit of a run of the named scenarios: what
// a run holds live stays far below it, but a hostile candidate's huge
// answers (decoded one at a time, harness.FHIR) would otherwise let the
// heap grow to twice what is live before the collector runs.
const runMemory = 768 << 20

// softMemoryLimit sets populationMemory (a population run) or runMemory
// unless GOMEMLIMIT is set.
func softMemoryLimit(population bool) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if population {
		debug.SetMemoryLimit(populationMemory)
		return
	}
	debug.SetMemoryLimit(runMemory)
}
