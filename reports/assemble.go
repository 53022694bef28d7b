package reports

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/bcbench/bcbench/requirements"
)

// Modes of a run, as results.json and the report name them.
const (
	// ModeSelfTest marks a self-test: a profile that does not certify, or a
	// run signed with a development key. Never a certificate.
	ModeSelfTest = "zelftest"
	// ModeCertification marks a run against a certifying profile, under its
	// own scenarios, limits and packages, signed with a key given on purpose.
	ModeCertification = "certificering"
)

// ReasonNotTested is the reason of a requirement that no spec checked.
const ReasonNotTested = "geen spec heeft deze eis gecontroleerd"

// GoalNames are the names of the four outcome goals of the subsidy regulation
// (seed 001 §5.1–5.4).
var GoalNames = map[int]string{
	1: "medicatieveiligheid",
	2: "cliënt centraal",
	3: "gestandaardiseerde gegevensuitwisseling",
	4: "eenmalige vastlegging en hergebruik",
}

// ProfileInput is the certification profile a run is judged against: its
// identity and the requirement IDs it selects.
type ProfileInput struct {
	ID           string
	Title        string
	Version      string
	Certifies    bool
	Requirements []string
}

// SpecOutcome is what one spec reported: the requirements it verifies and how
// it ended.
type SpecOutcome struct {
	Name         string
	Requirements []string
	Status       Status // pass, fail, error or skip; not-tested means it did not run
	Seconds      float64
	Failure      string // the failure, error or skip message
	Location     string // file:line of the failure
	// Evidence lists the evidence files (relative to the output folder) that
	// belong to this spec; they are attached to its requirements.
	Evidence []string
}

// Input is everything Assemble needs to build results.json.
type Input struct {
	// Catalogue is the requirement catalogue; nil means the embedded one.
	Catalogue *requirements.Catalogue
	Profile   ProfileInput
	Specs     []SpecOutcome
	Bench     Bench
	Candidate Candidate
	Started   time.Time
	Finished  time.Time
	Scenarios []string
	// ReferenceDate is day 0 of the scenarios, YYYY-MM-DD.
	ReferenceDate string
	// Limits are the limits in force.
	Limits *Limits
	// Packages are the FHIR packages that judged profile conformance.
	Packages []Package
	// Terminology is the terminology server used, "" when none.
	Terminology string
	// SetupProblem says why nothing could be judged; see Results.
	SetupProblem string
	// Stopped lists roles that stopped during the run; see Results.
	Stopped []Stopped
	// Timeliness is what the clock measured; nil when nothing.
	Timeliness *Timeliness
	// Transfers is the structured coverage of the transfers; nil when none.
	Transfers []Transfer
	// TestScripts is the assert table of the TestScripts run; nil when none.
	TestScripts []ScriptFolder
	// Mode is ModeSelfTest or ModeCertification; Assemble makes it
	// ModeSelfTest unless the profile certifies, and WriteAll does so
	// when the signer is a development key.
	Mode string
	// Problems are errors of the bench itself, not of the candidate.
	Problems []string
	// Evidence lists the evidence files; WriteAll fills missing digests.
	Evidence []Evidence
}

// Assemble judges every requirement of the profile from the spec outcomes and
// builds results.json: statuses, summary, outcome goals with their discount,
// and the verdict. It never reports pass for a requirement no spec checked.
func Assemble(in Input) *Results {
	cat := in.Catalogue
	var problems []string
	if cat == nil {
		c, err := requirements.Default()
		if err != nil {
			problems = append(problems, fmt.Sprintf("loading catalogue: %v", err))
			c = &requirements.Catalogue{}
		}
		cat = c
	}
	bench := in.Bench
	if bench.Catalogue == "" {
		bench.Catalogue = cat.Version
	}
	res := &Results{
		Schema:        SchemaVersion,
		Bench:         bench,
		Profile:       Profile{ID: in.Profile.ID, Title: in.Profile.Title, Version: in.Profile.Version, Certifies: in.Profile.Certifies},
		Candidate:     in.Candidate,
		Mode:          in.Mode,
		Scenarios:     nonNil(in.Scenarios),
		ReferenceDate: in.ReferenceDate,
		Limits:        in.Limits,
		Packages:      nonNil(in.Packages),
		Terminology:   in.Terminology,
		SetupProblem:  in.SetupProblem,
		Stopped:       slices.Clone(in.Stopped),
		Timeliness:    in.Timeliness,
		Transfers:     slices.Clone(in.Transfers),
		TestScripts:   slices.Clone(in.TestScripts),
		Started:       in.Started.UTC(),
		Finished:      in.Finished.UTC(),
		Evidence:      slices.Clone(in.Evidence),
	}
	if res.Mode != ModeCertification || !in.Profile.Certifies {
		res.Mode = ModeSelfTest
	}
	if res.Candidate.Roles == nil {
		res.Candidate.Roles = []RoleIdentity{}
	}
	if res.Evidence == nil {
		res.Evidence = []Evidence{}
	}
	slices.SortFunc(res.Evidence, func(a, b Evidence) int { return strings.Compare(a.Path, b.Path) })

	// Specs per requirement, and spec IDs the catalogue does not know.
	byReq := map[string][]SpecOutcome{}
	for _, s := range in.Specs {
		for _, id := range s.Requirements {
			if _, ok := cat.Get(id); !ok {
				problems = append(problems, fmt.Sprintf("spec %q names unknown requirement %s", s.Name, id))
				continue
			}
			byReq[id] = append(byReq[id], s)
		}
	}

	seen := map[string]bool{}
	for _, id := range in.Profile.Requirements {
		if seen[id] {
			continue
		}
		seen[id] = true
		req, ok := cat.Get(id)
		if !ok {
			problems = append(problems, fmt.Sprintf("profile %s selects unknown requirement %s", in.Profile.ID, id))
			res.Requirements = append(res.Requirements, RequirementResult{
				ID: id, Title: id, Text: "onbekende eis", Level: requirements.Must, Role: "xis",
				OutcomeGoal: 0, Source: "onbekend", Status: Error,
				Reason: "het profiel noemt een eis die niet in de catalogus staat", Specs: []SpecRun{},
			})
			continue
		}
		rr := judge(req, byReq[id])
		rr.Evidence = withRoleEvidence(rr.Evidence, req.Role, res.Evidence)
		res.Requirements = append(res.Requirements, rr)
	}
	if res.Requirements == nil {
		res.Requirements = []RequirementResult{}
	}

	res.Summary = summarise(res.Requirements)
	res.OutcomeGoals = outcomeGoals(res.Requirements, res.SetupProblem)
	res.Verdict = verdict(res.Requirements, res.SetupProblem)
	res.Problems = append(slices.Clone(in.Problems), problems...)
	if len(res.Problems) == 0 {
		res.Problems = nil
	}
	return res
}

// judge applies the status rules to one requirement: any failed spec → fail;
// else any error → error; else any spec that could not decide its checks →
// not-tested with its reason; else at least one pass and the rest passed →
// pass (with a passed spec's remark as the reason); only skips → skip; nothing ran → not-tested.
func judge(req requirements.Requirement, specs []SpecOutcome) RequirementResult {
	rr := RequirementResult{
		ID: req.ID, Title: req.Title, Text: req.Text, Level: req.Level, Role: req.Role,
		OutcomeGoal: req.OutcomeGoal, Source: req.Source, Specs: []SpecRun{},
	}
	specs = slices.Clone(specs)
	slices.SortStableFunc(specs, func(a, b SpecOutcome) int { return strings.Compare(a.Name, b.Name) })
	var failed, errored, skipped, undecided, remarked []SpecOutcome
	passed := 0
	evidence := map[string]bool{}
	for _, s := range specs {
		st := s.Status
		switch st {
		case Pass:
			passed++
			if s.Failure != "" {
				remarked = append(remarked, s) // a pass with a remark (undecided checks in a self-test)
			}
		case Fail:
			failed = append(failed, s)
		case Error:
			errored = append(errored, s)
		case Skip:
			skipped = append(skipped, s)
		case NotTested:
			// listed, but it did not check anything; with a message: it
			// could not decide its checks
			if s.Failure != "" {
				undecided = append(undecided, s)
			}
		default:
			st = Error
			s.Failure = fmt.Sprintf("onbekende specstatus %q: %s", s.Status, s.Failure)
			errored = append(errored, s)
		}
		rr.Specs = append(rr.Specs, SpecRun{Name: s.Name, Status: st, Seconds: s.Seconds, Failure: s.Failure, Location: s.Location})
		for _, e := range s.Evidence {
			evidence[e] = true
		}
	}
	for e := range evidence {
		rr.Evidence = append(rr.Evidence, e)
	}
	slices.Sort(rr.Evidence)

	switch {
	case len(failed) > 0:
		rr.Status, rr.Reason = Fail, describe(failed, "faalde", "faalden")
	case len(errored) > 0:
		rr.Status, rr.Reason = Error, describe(errored, "brak af", "braken af")
	case len(undecided) > 0:
		// Undecided checks are never a pass, whatever the other specs say.
		rr.Status, rr.Reason = NotTested, describe(undecided, "kon niet beslissen", "konden niet beslissen")
	case passed > 0:
		rr.Status = Pass
		if len(remarked) > 0 {
			rr.Reason = describe(remarked, "slaagde met kanttekening", "slaagden met kanttekening")
		}
	case len(skipped) > 0:
		rr.Status, rr.Reason = Skip, describe(skipped, "is overgeslagen", "zijn overgeslagen")
	default:
		rr.Status, rr.Reason = NotTested, ReasonNotTested
	}
	return rr
}

// maxReason bounds the reason line; the full messages stay in the specs.
const maxReason = 400

// describe makes a one-line reason: the first spec's message first (what a
// reader needs), then which spec(s) said so.
func describe(specs []SpecOutcome, one, many string) string {
	first := specs[0]
	var who string
	if len(specs) == 1 {
		who = fmt.Sprintf("spec %q %s", first.Name, one)
	} else {
		who = fmt.Sprintf("%d specs %s, o.a. %q", len(specs), many, first.Name)
	}
	msg := headline(first.Failure)
	if msg == "" {
		return truncate(who, maxReason)
	}
	return truncate(msg+" ("+who+")", maxReason)
}

// headline is the first line of a message, joined with the next one when the
// first only introduces it ("2 verschillen:"), marked with … when more follows.
func headline(s string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	head, n := lines[0], 1
	if strings.HasSuffix(head, ":") && len(lines) > 1 {
		head, n = head+" "+lines[1], 2
	}
	if len(lines) > n {
		head += " …"
	}
	return head
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func summarise(rs []RequirementResult) Summary {
	var s Summary
	for _, r := range rs {
		switch r.Status {
		case Pass:
			s.Pass++
		case Fail:
			s.Fail++
		case Error:
			s.Error++
		case Skip:
			s.Skip++
		case NotTested:
			s.NotTested++
		}
	}
	s.Total = len(rs)
	return s
}

// verdict: incomplete when a setup problem kept the bench from judging; fail
// when any MOET requirement failed or errored; pass when every MOET
// requirement passed (and there is at least one); incomplete otherwise.
func verdict(rs []RequirementResult, setupProblem string) Verdict {
	if setupProblem != "" {
		return VerdictIncomplete
	}
	must, passed, bad := 0, 0, 0
	for _, r := range rs {
		if r.Level != requirements.Must {
			continue
		}
		must++
		switch r.Status {
		case Pass:
			passed++
		case Fail, Error:
			bad++
		}
	}
	switch {
	case bad > 0:
		return VerdictFail
	case must > 0 && passed == must:
		return VerdictPass
	default:
		return VerdictIncomplete
	}
}

// outcomeGoals counts the requirements of each goal; a goal is assessed
// when it has requirements and no setup problem kept the bench from judging
// (then every goal is unassessed, with no requirements counted).
func outcomeGoals(rs []RequirementResult, setupProblem string) []OutcomeGoal {
	goals := make([]OutcomeGoal, 4)
	for i := range goals {
		goals[i] = OutcomeGoal{Goal: i + 1, Name: GoalNames[i+1]}
	}
	if setupProblem != "" {
		return goals // nothing was judged: no goal is assessed, no discount follows
	}
	for _, r := range rs {
		if r.OutcomeGoal < 1 || r.OutcomeGoal > 4 {
			continue
		}
		g := &goals[r.OutcomeGoal-1]
		g.Requirements++
		if r.Status == Pass {
			g.Passed++
		}
	}
	for i := range goals {
		g := &goals[i]
		if g.Requirements == 0 {
			continue
		}
		g.Assessed = true
		pct := Realisation(g.Passed, g.Requirements)
		disc := Discount(g.Goal, pct)
		g.Realisation, g.Discount = &pct, &disc
	}
	return goals
}

// Realisation is passed out of total as a percent (0–100).
func Realisation(passed, total int) float64 {
	if total <= 0 {
		return 0
	}
	return float64(passed*100) / float64(total)
}

// discountBands is the table of the beleidsregel VIPP Babyconnect (seed 001
// §5.5): from a lower bound of realisation (percent) the discount per
// outcome goal 1–4 (percent of the subsidy).
var discountBands = []struct {
	from     float64
	discount [4]float64
}{
	{68, [4]float64{0, 0, 0, 0}},
	{60, [4]float64{2.5, 10, 10, 2.5}},
	{55, [4]float64{5, 20, 20, 5}},
	{50, [4]float64{7.5, 30, 30, 7.5}},
	{0, [4]float64{10, 40, 40, 10}},
}

// Discount returns the subsidy discount (percent) for an outcome goal (1–4)
// realised to the given percent, from the table of seed 001 §5.5. An unknown
// goal gets no discount.
func Discount(goal int, realisation float64) float64 {
	if goal < 1 || goal > 4 {
		return 0
	}
	for _, b := range discountBands {
		if realisation >= b.from {
			return b.discount[goal-1]
		}
	}
	return discountBands[len(discountBands)-1].discount[goal-1]
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return slices.Clone(s)
}

// withRoleEvidence adds the evidence files of a requirement's role to the
// files its specs named: those marked with the role, or unmarked files named
// after it (evidence/xis.har for role xis).
func withRoleEvidence(paths []string, role string, all []Evidence) []string {
	for _, e := range all {
		stem := strings.TrimSuffix(path.Base(e.Path), path.Ext(e.Path))
		if (e.Role == role || (e.Role == "" && stem == role)) && !slices.Contains(paths, e.Path) {
			paths = append(paths, e.Path)
		}
	}
	slices.Sort(paths)
	return paths
}
