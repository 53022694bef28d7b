package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bcbench/bcbench/cert"
	"github.com/bcbench/bcbench/pki"
	certreg "github.com/bcbench/bcbench/register"
	"github.com/bcbench/bcbench/reports"
)

func init() { register(newReportCmd) }

func newReportCmd() *cobra.Command {
	report := &cobra.Command{
		Use:   "report",
		Short: "Rebuild, verify and compare reports offline",
	}
	report.AddCommand(newReportRenderCmd(), newReportVerifyCmd(), newReportDiffCmd(), newReportSchemaCmd(), newReportMergeCmd())
	return report
}

func newReportRenderCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "render RESULTS.JSON",
		Short: "Rebuild junit.xml and report.html from results.json",
		Long: `Rebuild junit.xml and report.html from a results.json, offline. The file is checked against
the results schema first. The signature is not touched: results.dsse.json still covers results.json.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := reports.ReadResults(args[0])
			if err != nil {
				return withCode(exitSetup, err)
			}
			if out == "" {
				out = filepath.Dir(args[0])
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return withCode(exitSetup, fmt.Errorf("making output folder: %w", err))
			}
			x, err := reports.JUnit(res)
			if err != nil {
				return withCode(exitSetup, err)
			}
			h, err := reports.HTMLWith(res, filepath.Dir(args[0]))
			if err != nil {
				return withCode(exitSetup, err)
			}
			for name, data := range map[string][]byte{reports.JUnitFile: x, reports.HTMLFile: h} {
				if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
					return withCode(exitSetup, fmt.Errorf("writing %s: %w", name, err))
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s (verdict %s)\n",
				filepath.Join(out, reports.JUnitFile), filepath.Join(out, reports.HTMLFile), res.Verdict)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "folder to write junit.xml and report.html to (default: the folder of results.json)")
	return cmd
}

// verifyFlags are the options of `bcbench report verify`.
type verifyFlags struct {
	key, cert     string
	root, reg     string
	profile, mode string
	verdict       string
}

func newReportVerifyCmd() *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "verify (--key PUB | --cert CRT) [--require-profile ID] [--require-mode certificering] RESULTS.DSSE.JSON",
		Short: "Check a report's signature, that nothing in it changed, and what it certifies",
		Long: `Check the DSSE signature of results.dsse.json with a public key (bcbench.pub) or a certificate
(bcbench.crt), then re-hash results.json, report.html, junit.xml and every evidence file next to it.
It prints what the signature binds: verdict, profile, mode, candidate, scenarios, packages, limits,
bench, key id, and the certificate's subject and validity.

With --cert the certificate must have been valid when the run was signed and be valid now.
--require-profile ID, --require-mode certificering and --require-verdict pass state what the
report must be; a report that is not is refused.

Exit 0 when intact and every requirement holds; 1 when the signature does not verify, a file was
changed, added or removed, the certificate is expired or not yet valid, or a requirement does not
hold; 2 when the key, certificate or envelope cannot be read or used.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return verifyReport(cmd.OutOrStdout(), f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.key, "key", "", "public key of the signer (bcbench.pub)")
	fl.StringVar(&f.cert, "cert", "", "certificate of the signer (bcbench.crt); must have been valid at signing and be valid now")
	fl.StringVar(&f.profile, "require-profile", "", "refuse the report unless it was judged against this profile ID")
	fl.StringVar(&f.mode, "require-mode", "", "refuse the report unless its mode is this (certificering or zelftest)")
	fl.StringVar(&f.verdict, "require-verdict", "", "refuse the report unless its verdict is this (pass, fail or incomplete)")
	fl.StringVar(&f.root, "root", "", "the bureau's root certificate: the signer's certificate (--cert, default signer.crt beside the envelope) must chain to it and have been valid when the run ended")
	fl.StringVar(&f.reg, "register", "", "with --root: the bureau's register; a revoked operator certificate is refused")
	return cmd
}

// verifyReport verifies one report, prints what it verified and checks the
// requirements.
func verifyReport(w io.Writer, f verifyFlags, envelope string) error {
	if f.reg != "" && f.root == "" {
		return withCode(exitSetup, errors.New("--register needs --root"))
	}
	if f.root != "" && f.key == "" && f.cert == "" {
		f.cert = filepath.Join(filepath.Dir(envelope), cert.SignerCertFile)
	}
	keyPath := f.key
	switch {
	case f.key != "" && f.cert != "":
		return withCode(exitSetup, errors.New("give --key or --cert, not both"))
	case f.cert != "":
		keyPath = f.cert
	case f.key == "":
		return withCode(exitSetup, errors.New("--key (bcbench.pub) or --cert (bcbench.crt) is required"))
	}
	switch f.mode {
	case "", reports.ModeCertification, reports.ModeSelfTest:
	default:
		return withCode(exitSetup, fmt.Errorf("--require-mode %q: want %s or %s", f.mode, reports.ModeCertification, reports.ModeSelfTest))
	}
	switch reports.Verdict(f.verdict) {
	case "", reports.VerdictPass, reports.VerdictFail, reports.VerdictIncomplete:
	default:
		return withCode(exitSetup, fmt.Errorf("--require-verdict %q: want pass, fail or incomplete", f.verdict))
	}
	if filepath.Base(envelope) == reports.MergedEnvelopeFile {
		return verifyMerged(w, f, envelope, keyPath)
	}
	v, err := reports.VerifyReport(envelope, keyPath, time.Now())
	if v != nil {
		printVerified(w, v, err)
	}
	switch {
	case errors.Is(err, reports.ErrUnusable):
		return withCode(exitSetup, err)
	case err != nil:
		fmt.Fprintln(w, "NOT INTACT:", plainText(err.Error()))
		return withCode(exitFail, err)
	}
	p := v.Statement.Predicate
	var unmet []string
	if f.profile != "" && p.Profile.ID != f.profile {
		unmet = append(unmet, fmt.Sprintf("profile is %s, required %s", plainText(p.Profile.ID), f.profile))
	}
	if f.mode != "" && mode(v) != f.mode {
		unmet = append(unmet, fmt.Sprintf("mode is %s, required %s", mode(v), f.mode))
	}
	if f.verdict != "" && string(p.Verdict) != f.verdict {
		unmet = append(unmet, fmt.Sprintf("verdict is %s, required %s", p.Verdict, f.verdict))
	}
	if f.root != "" {
		problem, err := operatorProblem(f, v)
		if err != nil {
			return err
		}
		if problem != "" {
			unmet = append(unmet, problem)
		} else {
			fmt.Fprintf(w, "  %-12s %s\n", "root", "the signer's certificate chains to the bureau's root and was valid when the run ended")
		}
	}
	if len(unmet) > 0 {
		fmt.Fprintln(w, "REFUSED:", strings.Join(unmet, "; "))
		return withCode(exitFail, fmt.Errorf("the report does not meet the requirements: %s", strings.Join(unmet, "; ")))
	}
	fmt.Fprintf(w, "intact: %s and the %d files it covers match the signature\n", envelope, len(v.Covered))
	return nil
}

// verifyMerged verifies a merged report's envelope (report merge): its
// signature and merged.json and merged.html beside it.
func verifyMerged(w io.Writer, f verifyFlags, envelope, keyPath string) error {
	if f.root != "" || f.mode != "" {
		return withCode(exitSetup, errors.New("a merged report: verify it with --key or --cert (each run it merged was checked against the root when it was merged)"))
	}
	st, err := reports.VerifyMerged(envelope, keyPath)
	switch {
	case errors.Is(err, reports.ErrUnusable):
		return withCode(exitSetup, err)
	case err != nil:
		fmt.Fprintln(w, "NOT INTACT:", plainText(err.Error()))
		return withCode(exitFail, err)
	}
	p := st.Predicate
	fmt.Fprintf(w, "%-12s %s (%d pass, %d fail, %d error, %d skip, %d not-tested)\n", "verdict:", p.Verdict, p.Summary.Pass, p.Summary.Fail, p.Summary.Error, p.Summary.Skip, p.Summary.NotTested)
	fmt.Fprintf(w, "%-12s %s\n", "profile:", plainText(p.Profile.ID+" "+p.Profile.Version))
	fmt.Fprintf(w, "%-12s %d\n", "runs:", len(p.Runs))
	for _, m := range p.Mixed {
		fmt.Fprintf(w, "%-12s %s\n", "MIXED:", plainText(m))
	}
	if f.profile != "" && p.Profile.ID != f.profile {
		return withCode(exitFail, fmt.Errorf("the merged report does not meet the requirements: profile is %s, required %s", plainText(p.Profile.ID), f.profile))
	}
	if f.verdict != "" && string(p.Verdict) != f.verdict {
		return withCode(exitFail, fmt.Errorf("the merged report does not meet the requirements: verdict is %s, required %s", p.Verdict, f.verdict))
	}
	fmt.Fprintf(w, "intact: %s, %s and %s match the signature\n", envelope, reports.MergedFile, reports.MergedHTMLFile)
	return nil
}

// mode is the report's mode as verify judges it: a certification only when
// the statement is v2, the profile certifies and the mode says so.
func mode(v *reports.Verified) string {
	p := v.Statement.Predicate
	if p.Mode == reports.ModeCertification && p.Profile.Certifies && !v.V1() {
		return reports.ModeCertification
	}
	return reports.ModeSelfTest
}

// printVerified writes what the signature binds, one fact a line. Values a
// candidate chose are made safe for a terminal.
func printVerified(w io.Writer, v *reports.Verified, err error) {
	p := v.Statement.Predicate
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-12s %s\n", label+":", plainText(fmt.Sprintf(format, args...)))
	}
	line("verdict", "%s (%d pass, %d fail, %d error, %d skip, %d not-tested)", p.Verdict, p.Summary.Pass, p.Summary.Fail, p.Summary.Error, p.Summary.Skip, p.Summary.NotTested)
	if p.SetupProblem != "" {
		line("nothing judged", "%s", p.SetupProblem)
	}
	certifies := "does not certify"
	if p.Profile.Certifies {
		certifies = "certifies"
	}
	line("profile", "%s %s (%s)", p.Profile.ID, p.Profile.Version, certifies)
	m := mode(v)
	if v.V1() {
		m += " (v1 report: never a certification)"
	}
	line("mode", "%s", m)
	cand := p.Candidate.Name + " " + p.Candidate.Version
	if p.Candidate.Vendor != "" {
		cand += " (" + p.Candidate.Vendor + ")"
	}
	line("candidate", "%s", cand)
	for _, r := range p.Candidate.Roles {
		var id []string
		for _, x := range []string{r.Image, r.Digest, r.Binary, r.SHA256, r.URL, r.Software} {
			if x != "" {
				id = append(id, x)
			}
		}
		line("  "+r.Role, "%s %s", r.Kind, strings.Join(id, " "))
	}
	for _, s := range v.Statement.Subject {
		line("subject", "%s sha256:%s", s.Name, s.Digest["sha256"])
	}
	line("scenarios", "%d: %s", len(p.Scenarios), strings.Join(p.Scenarios, ", "))
	if p.ReferenceDate != "" {
		line("day 0", "%s", p.ReferenceDate)
	}
	if l := p.Limits; l != nil {
		over := ""
		if len(l.Overridden) > 0 {
			over = "; overridden: " + strings.Join(l.Overridden, ", ")
		}
		line("limits", "spec %s, request %s, startup %s; memory %d bytes, pids %d, cpus %g%s", l.SpecTimeout, l.RequestTimeout, l.StartupTimeout, l.Memory, l.PIDs, l.CPUs, over)
	}
	if !v.V1() {
		var pkgs []string
		for _, pk := range p.Packages {
			s := pk.ID + "#" + pk.Version
			if pk.SHA256 != "" {
				s += " sha256:" + pk.SHA256
			}
			pkgs = append(pkgs, s)
		}
		if len(pkgs) == 0 {
			pkgs = []string{"none"}
		}
		line("packages", "%s", strings.Join(pkgs, ", "))
		tx := p.Terminology
		if tx == "" {
			tx = "none"
		}
		line("terminology", "%s", tx)
	}
	bench := p.Bench.Version
	if p.Bench.Revision != "" {
		bench += " revision " + p.Bench.Revision
		if p.Bench.Modified {
			bench += " (modified)"
		}
	}
	if p.Bench.Executable != "" {
		bench += ", executable sha256:" + p.Bench.Executable
	}
	line("bench", "%s, suite sha256:%s, catalogue %s", bench, p.Bench.Suite, p.Bench.Catalogue)
	line("run", "%s – %s", p.Started.UTC().Format(time.RFC3339), p.Finished.UTC().Format(time.RFC3339))
	line("key id", "%s", v.KeyID)
	if c := v.Certificate; c != nil {
		validity := " (valid when the run was signed and now)"
		if err != nil && strings.HasPrefix(err.Error(), "certificate ") {
			validity = " (NOT VALID: see below)"
		}
		line("certificate", "%s, serial %s, valid %s – %s%s", c.Subject, c.SerialNumber, c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), validity)
	} else {
		line("certificate", "none (verified with a public key: give --cert to check validity)")
	}
	if len(v.Uncovered) > 0 {
		line("not signed", "%s (v1 report)", strings.Join(v.Uncovered, ", "))
	}
}

func newReportDiffCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "diff A/results.json B/results.json",
		Short: "List requirements whose status changed; exit 1 if any got worse",
		Long: `List the requirements whose status changed from A to B; exit 1 if any got worse.
A and B are results.json of runs or merged.json of 'report merge' (per candidate, role and
requirement); a run compared with a merged report is read as a merge of that one run.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			changes, before, after, err := diffReports(args[0], args[1])
			if err != nil {
				return withCode(exitSetup, err)
			}
			w := cmd.OutOrStdout()
			if before != after {
				fmt.Fprintf(w, "verdict: %s → %s\n", before, after)
			}
			worse := 0
			for _, c := range changes {
				mark := "  "
				if c.Worse {
					mark = "✗ "
					worse++
				}
				fmt.Fprintf(w, "%s%-10s %-10s %s → %s\n", mark, plainText(c.ID), c.Level, orDash(c.Before), orDash(c.After))
			}
			fmt.Fprintf(w, "%d changed, %d worse\n", len(changes), worse)
			if worse > 0 {
				return withCode(exitFail, fmt.Errorf("%d requirement(s) got worse", worse))
			}
			return nil
		},
	}
}

// diffReports compares two runs, two merged reports, or one of each.
func diffReports(a, b string) (changes []reports.Change, before, after reports.Verdict, err error) {
	read := func(p string) (*reports.Results, *reports.Merged, error) {
		schema, err := reports.SchemaOf(p)
		if err != nil {
			return nil, nil, err
		}
		if schema == reports.MergedSchema {
			m, err := reports.ReadMerged(p)
			return nil, m, err
		}
		r, err := reports.ReadResults(p)
		return r, nil, err
	}
	ra, ma, err := read(a)
	if err != nil {
		return nil, "", "", err
	}
	rb, mb, err := read(b)
	if err != nil {
		return nil, "", "", err
	}
	if ra != nil && rb != nil {
		return reports.Diff(ra, rb), ra.Verdict, rb.Verdict, nil
	}
	if ma == nil {
		ma = reports.MergedOf(ra)
	}
	if mb == nil {
		mb = reports.MergedOf(rb)
	}
	return reports.DiffMerged(ma, mb), ma.Verdict, mb.Verdict, nil
}

type mergeFlags struct {
	out, key   string
	keys       runKeys
	allowMixed bool
}

func newReportMergeCmd() *cobra.Command {
	var f mergeFlags
	cmd := &cobra.Command{
		Use:   "merge RUN... --out DIR [--key KEY] [--verify-key PUB | --cert CRT] [--root CRT [--register DIR]] [--allow-mixed]",
		Short: "Verify signed runs and combine them into one signed report (merged.json, merged.html, merged.dsse.json)",
		Long: `merge verifies each run (RUN is a run folder or its results.dsse.json) as 'report verify' does —
with --verify-key or --cert, else with the signer.crt beside it; with --root the signer's certificate
must chain to the bureau's root and, with --register, not be revoked — and combines them: per
candidate (the manifest that brought the role, or "referentie"), role and requirement the latest
status, with the history and the evidence of every run referenced by path and sha256, not copied.
It writes DIR/merged.json, DIR/merged.html and DIR/merged.dsse.json, signed with --key as a run
is (default: the development key). 'report diff' compares merged reports.

Runs of different bench versions, catalogues or profiles are refused; --allow-mixed merges them
and marks the report as mixed (merged.json "mixed", a warning at the top of merged.html).

Exit 0 when merged; 1 when a run does not verify (nothing is written); 2 on bad input.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return mergeReports(cmd.OutOrStdout(), f, args, time.Now())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "", "folder to write the merged report to (required)")
	fl.StringVar(&f.key, "key", "", "signing key of the merged report (bcbench.key); default: the per-user development key")
	addRunKeyFlags(cmd, &f.keys, "verify-key")
	fl.BoolVar(&f.allowMixed, "allow-mixed", false, "merge runs of different bench versions or profiles, marked as mixed")
	return cmd
}

// mergeReports verifies every run and writes the merged report.
func mergeReports(w io.Writer, f mergeFlags, args []string, now time.Time) error {
	if f.out == "" {
		return withCode(exitSetup, errors.New("--out DIR is required"))
	}
	if err := f.keys.check("verify-key"); err != nil {
		return err
	}
	if len(args) > maxMatrixRuns {
		return withCode(exitSetup, fmt.Errorf("%d runs; at most %d", len(args), maxMatrixRuns))
	}
	signer, err := loadSigner(f.key)
	if err != nil {
		return withCode(exitSetup, err)
	}
	var inputs []reports.MergeInput
	var refused []string
	for _, a := range args {
		env := a
		if st, err := os.Stat(a); err == nil && st.IsDir() {
			env = filepath.Join(a, reports.EnvelopeFile)
		}
		dir := filepath.Dir(env)
		v, problem, err := verifyRun(f.keys, env, now)
		if err != nil {
			return withCode(exitSetup, fmt.Errorf("run %s: %w", dir, err))
		}
		if problem != "" {
			refused = append(refused, fmt.Sprintf("%s: %s", dir, problem))
			continue
		}
		// results.json was re-hashed against the signature above.
		res, err := reports.ReadResults(filepath.Join(dir, reports.ResultsFile))
		if err != nil {
			return withCode(exitSetup, fmt.Errorf("run %s: %w", dir, err))
		}
		signer := ""
		if v.Certificate != nil {
			signer = v.Certificate.Subject.String()
		}
		inputs = append(inputs, reports.MergeInput{Dir: relTo(f.out, dir), Envelope: fileSHA256(env), KeyID: v.KeyID, Signer: signer,
			Results: res, ResultsSHA256: v.Statement.Predicate.Results.SHA256})
	}
	if len(refused) > 0 {
		for _, r := range refused {
			fmt.Fprintln(w, "NOT VERIFIED:", r)
		}
		return withCode(exitFail, fmt.Errorf("%d of %d runs do not verify; nothing merged", len(refused), len(args)))
	}
	m, err := reports.Merge(inputs, f.allowMixed, now)
	if err != nil {
		return withCode(exitSetup, err)
	}
	m.VerifiedWith = f.keys.describe()
	if err := reports.WriteMerged(f.out, m, signer); err != nil {
		return withCode(exitSetup, err)
	}
	for _, x := range m.Mixed {
		fmt.Fprintln(w, "MIXED:", plainText(x))
	}
	fmt.Fprintf(w, "merged %d runs: %d requirements of %d candidate roles — %d pass, %d fail, %d error, %d skip, %d not-tested; verdict %s — %s\n",
		len(m.Runs), len(m.Requirements), candidateRoles(m), m.Summary.Pass, m.Summary.Fail, m.Summary.Error, m.Summary.Skip, m.Summary.NotTested,
		m.Verdict, filepath.Join(f.out, reports.MergedFile))
	return nil
}

func candidateRoles(m *reports.Merged) int {
	seen := map[string]bool{}
	for _, r := range m.Requirements {
		seen[r.Candidate+"\x00"+r.Role] = true
	}
	return len(seen)
}

func orDash(s reports.Status) string {
	if s == "" {
		return "(absent)"
	}
	return string(s)
}

func newReportSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of results.json",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(reports.Schema())
			return err
		},
	}
}

// operatorProblem checks the signer's certificate against the bureau's root
// (and register): "" when it holds, else what does not.
func operatorProblem(f verifyFlags, v *reports.Verified) (string, error) {
	root, err := pki.ReadCertificate(f.root)
	if err != nil {
		return "", withCode(exitSetup, err)
	}
	if !root.IsCA {
		return "", withCode(exitSetup, fmt.Errorf("%s is not the bureau's root (not a CA certificate)", f.root))
	}
	if v.Certificate == nil {
		return "signed without a certificate: nothing chains to the root", nil
	}
	var reg *certreg.Log
	if f.reg != "" {
		if reg, err = openRegister(f.reg, root); err != nil {
			return "", err
		}
	}
	if err := cert.CheckOperator(v.Certificate, root, v.Statement.Predicate.Finished, reg); err != nil {
		return plainText(err.Error()), nil
	}
	return "", nil
}
