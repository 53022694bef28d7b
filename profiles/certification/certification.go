// Package certification holds the certification profiles: which
// requirements, which scenarios, which FHIR packages and which limits a run is
// judged by, and whether a run against the profile can certify at all.
package certification

import (
	"embed"
	"fmt"
	"io/fs"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/bcbench/bcbench/requirements"
)

// Profile is one certification profile.
type Profile struct {
	ID      string `yaml:"id"`
	Title   string `yaml:"title"`
	Version string `yaml:"version"`
	// Certifies says whether a run against this profile can be a
	// certification. A certifying run replays exactly the profile's
	// scenarios under exactly its limits with the pinned packages, signed
	// with a key given on purpose; anything else is refused. A profile that
	// does not certify is always a self-test ("zelftest — geen certificaat").
	Certifies bool `yaml:"certifies"`
	// Packages are the FHIR packages the profile pins for profile validation.
	Packages []Package `yaml:"packages"`
	// Undecided says how specs treat checks the validation engine could not
	// decide (an unknown code system without a terminology server, …).
	Undecided    Undecided `yaml:"undecided"`
	Roles        []string  `yaml:"roles"`
	Scenarios    []string  `yaml:"scenarios"`
	Requirements []string  `yaml:"requirements"`
	Limits       Limits    `yaml:"limits"`
	// TestScripts are the FHIR TestScript folders (or files) run for the
	// TS-* requirements, each relative to the folder the vendor gives with
	// --testscripts (its copy of Nictiz's TestScripts); without any, that
	// folder itself is run against the XIS.
	TestScripts []ScriptSet `yaml:"testscripts"`
}

// ScriptSet is a folder (or file) of TestScripts a profile runs against a
// role, with variable values that replace the scripts' defaults.
type ScriptSet struct {
	// Role is the role the scripts test (its FHIR base is the server); xis
	// when empty.
	Role string `yaml:"role"`
	// Path is relative to the --testscripts folder, forward slashes, no "..".
	Path      string            `yaml:"path"`
	Variables map[string]string `yaml:"variables"`
}

// Package is a FHIR package pinned by a profile: its package id (the name in
// package.json), version, and the sha256 of the package .tgz as shipped.
type Package struct {
	ID      string `yaml:"id"`
	Version string `yaml:"version"`
	SHA256  string `yaml:"sha256"`
}

// String is "id#version", the FHIR package cache notation.
func (p Package) String() string { return p.ID + "#" + p.Version }

// Undecided is how a spec treats a check the engine could not decide.
type Undecided string

// The two treatments of undecided checks.
const (
	// UndecidedNotTested: the requirement is not-tested (never pass). The
	// only choice for a certifying profile.
	UndecidedNotTested Undecided = "not-tested"
	// UndecidedReport: the spec may pass, and its reason says how many
	// checks were undecided ("N onbeslist"). Self-tests only.
	UndecidedReport Undecided = "report"
)

// Limits bound a run. The timeouts bound the bench's waiting; Memory, PIDs
// and CPUs bound each container of a candidate.
type Limits struct {
	SpecTimeout    time.Duration `yaml:"specTimeout"`
	RequestTimeout time.Duration `yaml:"requestTimeout"`
	StartupTimeout time.Duration `yaml:"startupTimeout"`
	// Memory is the memory limit of a container, in bytes; written in the
	// profile as "512MiB", "1GiB", "800MB" or a number of bytes.
	Memory ByteSize `yaml:"memory"`
	// PIDs is the most processes (and threads) a container may run.
	PIDs int64 `yaml:"pids"`
	// CPUs is the CPU share of a container (1.0 = one core).
	CPUs float64 `yaml:"cpus"`
	// Timeliness holds the most time each hop of the chain may take
	// (requirements TIJ-*; docs/timeliness.md says why these values).
	Timeliness Timeliness `yaml:"timeliness"`
}

// Timeliness are the limits per hop: an event's facts available at the
// publisher's FHIR API (publication, from the registration), the client
// registered in the index (index, from the publication) and the facts
// found by a consumer through the index (consumer, from the registration).
// Zero leaves a hop unjudged; a profile that names its requirement must set it.
type Timeliness struct {
	Publication time.Duration `yaml:"publication"`
	Index       time.Duration `yaml:"index"`
	Consumer    time.Duration `yaml:"consumer"`
	// Viewer: a fact registered at the XIS visible in the viewer, from
	// the registration (VWR-08).
	Viewer time.Duration `yaml:"viewer"`
	// DVZA is the availability limit of the client's own app (MedMij): a
	// fact registered after her app read her record is served by the DVZA
	// within it (seed 001 C2: one week; MM-16, docs/medmij.md).
	DVZA time.Duration `yaml:"dvza"`
}

// TimelinessRequirements names, per hop, the requirement that judges it.
var TimelinessRequirements = map[string]string{"publication": "TIJ-01", "index": "TIJ-02", "consumer": "TIJ-03", "viewer": "VWR-08", "dvza": "MM-16"}

// TimelinessHops lists the hops a profile may limit, in chain order.
var TimelinessHops = []string{"publication", "index", "consumer", "viewer", "dvza"}

// maxAvailability bounds the DVZA's availability limit (the seed's week
// and then some); the other hops are bounded by maxTimeout.
const maxAvailability = 31 * 24 * time.Hour

// Hop returns the limit of a hop by name, and a pointer to change it.
func (t *Timeliness) Hop(name string) (*time.Duration, bool) {
	switch name {
	case "publication":
		return &t.Publication, true
	case "index":
		return &t.Index, true
	case "consumer":
		return &t.Consumer, true
	case "viewer":
		return &t.Viewer, true
	case "dvza":
		return &t.DVZA, true
	}
	return nil, false
}

// MinTimeliness is the smallest limit of a hop: below it the bench's own
// polling, not the candidate, decides.
const MinTimeliness = 100 * time.Millisecond

// Defaults of limits a profile leaves out, and the bounds of every limit.
const (
	DefaultSpecTimeout    = 2 * time.Minute
	DefaultRequestTimeout = 30 * time.Second
	DefaultStartupTimeout = time.Minute
	DefaultMemory         = ByteSize(1 << 30)
	DefaultPIDs           = 512
	DefaultCPUs           = 1.0

	// The smallest limits any system can meet: below them a run judges the
	// bench's setting, not the candidate.
	MinSpecTimeout    = time.Second
	MinRequestTimeout = 100 * time.Millisecond
	MinStartupTimeout = time.Second

	maxTimeout = 24 * time.Hour
	minMemory  = ByteSize(6 << 20) // Docker's smallest memory limit
	maxMemory  = ByteSize(64 << 30)
	minPIDs    = 8
	maxPIDs    = 1 << 20
	minCPUs    = 0.01
	maxCPUs    = 256
)

// ByteSize is an amount of memory in bytes.
type ByteSize int64

var byteUnits = map[string]int64{
	"": 1, "B": 1,
	"KB": 1e3, "MB": 1e6, "GB": 1e9,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
}

var byteSizePattern = regexp.MustCompile(`^([0-9]{1,12})\s*([KMG]i?B|B)?$`)

// ParseByteSize reads "512MiB", "1GiB", "800MB", "1048576" or "1048576B".
func ParseByteSize(s string) (ByteSize, error) {
	m := byteSizePattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("reading memory %q: want a number of bytes or a number with KiB, MiB, GiB, KB, MB or GB", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading memory %q: %w", s, err)
	}
	unit := byteUnits[m[2]]
	if n > math.MaxInt64/unit {
		return 0, fmt.Errorf("reading memory %q: too large", s)
	}
	return ByteSize(n * unit), nil
}

// UnmarshalYAML reads a ByteSize written as a string or an integer.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: memory must be a size such as 512MiB", n.Line)
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = v
	return nil
}

// String writes the size in the largest binary unit that divides it.
func (b ByteSize) String() string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if int64(b) != 0 && int64(b)%u.size == 0 {
			return fmt.Sprintf("%d%s", int64(b)/u.size, u.name)
		}
	}
	return fmt.Sprintf("%dB", int64(b))
}

// Default is the profile a run uses when none is named and a signing key is
// given; DefaultSelfTest when no key is given (a run with the development key
// can never certify, so it runs the same content as a self-test).
const (
	Default         = "keurmerk-niveau1"
	DefaultSelfTest = "zelftest-niveau1"
	// Chain is the self-test of a whole chain: publishers, index, the bench
	// as consumer (issue 10).
	Chain = "zelftest-keten"
	// ChainTranslator is the chain self-test with a translator as a
	// publisher (contract: translator, docs/translator.md): the chain's
	// scenarios the legacy ADA can tell (no consent withdrawal, no
	// deletion).
	ChainTranslator = "zelftest-keten-vertaler"
)

// certifyingPrefix and selfTestPrefix name a certifying profile and its
// self-test twin: keurmerk-<x> and zelftest-<x>.
const (
	certifyingPrefix = "keurmerk-"
	selfTestPrefix   = "zelftest-"
)

// SelfTest is the ID of the self-test twin of a profile: zelftest-<x> for a
// certifying keurmerk-<x> (the same roles, scenarios, requirements and
// limits, no certificate), the profile itself when it does not certify, and
// DefaultSelfTest for a certifying profile named otherwise.
func (p Profile) SelfTest() string {
	switch {
	case !p.Certifies:
		return p.ID
	case strings.HasPrefix(p.ID, certifyingPrefix):
		return selfTestPrefix + strings.TrimPrefix(p.ID, certifyingPrefix)
	}
	return DefaultSelfTest
}

//go:embed *.yaml
var files embed.FS

// All returns every embedded profile, ordered by ID.
func All() ([]Profile, error) {
	entries, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("listing profiles: %w", err)
	}
	var out []Profile
	for _, name := range entries {
		data, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading profile %s: %w", name, err)
		}
		p, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", name, err)
		}
		if p.ID+".yaml" != path.Base(name) {
			return nil, fmt.Errorf("profile %s: id %q does not match the file name", name, p.ID)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Profile) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Lookup returns the embedded profile with the given ID.
func Lookup(id string) (Profile, error) {
	all, err := All()
	if err != nil {
		return Profile{}, err
	}
	var ids []string
	for _, p := range all {
		if p.ID == id {
			return p, nil
		}
		ids = append(ids, p.ID)
	}
	return Profile{}, fmt.Errorf("unknown profile %q (known: %s)", id, strings.Join(ids, ", "))
}

var (
	sha256Pattern    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	packageIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
)

// Parse reads a profile, checks its requirement IDs against the catalogue,
// its packages, undecided treatment and limits, and fills the defaults.
func Parse(data []byte) (Profile, error) {
	var p Profile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return Profile{}, fmt.Errorf("reading profile: %w", err)
	}
	if p.ID == "" || p.Title == "" || len(p.Requirements) == 0 || len(p.Scenarios) == 0 {
		return Profile{}, fmt.Errorf("reading profile: id, title, requirements and scenarios are required")
	}
	cat, err := requirements.Default()
	if err != nil {
		return Profile{}, err
	}
	if err := cat.Check(p.Requirements...); err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", p.ID, err)
	}
	if err := p.checkRoles(); err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", p.ID, err)
	}
	if err := p.checkTestScripts(); err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", p.ID, err)
	}
	if err := p.checkPackages(); err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", p.ID, err)
	}
	switch p.Undecided {
	case "":
		p.Undecided = UndecidedReport
		if p.Certifies {
			p.Undecided = UndecidedNotTested
		}
	case UndecidedNotTested:
	case UndecidedReport:
		if p.Certifies {
			return Profile{}, fmt.Errorf("profile %s: a certifying profile cannot pass undecided checks (undecided: report); use not-tested", p.ID)
		}
	default:
		return Profile{}, fmt.Errorf("profile %s: undecided %q, want not-tested or report", p.ID, p.Undecided)
	}
	if err := p.Limits.fill(); err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", p.ID, err)
	}
	for _, hop := range TimelinessHops {
		limit, _ := p.Limits.Timeliness.Hop(hop)
		if id := TimelinessRequirements[hop]; *limit == 0 && slices.Contains(p.Requirements, id) {
			return Profile{}, fmt.Errorf("profile %s: requirement %s needs limits.timeliness.%s", p.ID, id, hop)
		}
	}
	return p, nil
}

// rolePattern is a role key: xis, index, translator, viewer, dvza, or
// xis-<suffix> (one of several publishers).
var rolePattern = regexp.MustCompile(`^(xis|index|translator|viewer|dvza)(-[a-z0-9]+)?$`)

// checkRoles: the roles a profile judges are role keys, each once; a profile
// that names none judges the XIS.
func (p *Profile) checkRoles() error {
	if len(p.Roles) == 0 {
		p.Roles = []string{"xis"}
	}
	seen := map[string]bool{}
	for _, r := range p.Roles {
		if !rolePattern.MatchString(r) {
			return fmt.Errorf("role %q is not a role of the chain (xis, xis-<suffix>, index, translator, viewer, dvza)", r)
		}
		if seen[r] {
			return fmt.Errorf("role %s is named twice", r)
		}
		seen[r] = true
	}
	return nil
}

// checkTestScripts: each set names a path inside the --testscripts folder
// and a role of the profile that serves FHIR to a client (an XIS).
func (p *Profile) checkTestScripts() error {
	for i := range p.TestScripts {
		set := &p.TestScripts[i]
		if set.Role == "" {
			set.Role = "xis"
		}
		if !slices.Contains(p.Roles, set.Role) || !strings.HasPrefix(set.Role, "xis") {
			return fmt.Errorf("testscripts %d: role %q is not an XIS role of the profile (%s)", i+1, set.Role, strings.Join(p.Roles, ", "))
		}
		clean := path.Clean(set.Path)
		if set.Path == "" || clean != set.Path || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(set.Path, "\\") {
			return fmt.Errorf("testscripts %d: path %q must be a clean relative path inside the --testscripts folder", i+1, set.Path)
		}
	}
	return nil
}

// checkPackages: each pinned package has an id and a version, appears once,
// and has a well-formed sha256 when one is given; a certifying profile pins
// at least one package.
func (p *Profile) checkPackages() error {
	if p.Certifies && len(p.Packages) == 0 {
		return fmt.Errorf("a certifying profile must pin its FHIR packages (packages: id, version, sha256)")
	}
	seen := map[string]bool{}
	for i, pkg := range p.Packages {
		if !packageIDPattern.MatchString(pkg.ID) || pkg.Version == "" || strings.ContainsAny(pkg.Version, "#/\\ ") {
			return fmt.Errorf("package %d: id %q and version %q must be a FHIR package id and version", i+1, pkg.ID, pkg.Version)
		}
		if seen[pkg.ID] {
			return fmt.Errorf("package %s is pinned twice", pkg.ID)
		}
		seen[pkg.ID] = true
		if pkg.SHA256 != "" && !sha256Pattern.MatchString(pkg.SHA256) {
			return fmt.Errorf("package %s: sha256 %q is not 64 lower-case hex digits", pkg, pkg.SHA256)
		}
	}
	return nil
}

// Unpinned returns the packages a certifying profile names without a sha256:
// such a profile cannot certify until they are pinned.
func (p Profile) Unpinned() []Package {
	var out []Package
	for _, pkg := range p.Packages {
		if pkg.SHA256 == "" {
			out = append(out, pkg)
		}
	}
	return out
}

// Unmeetable lists the timeouts set below what any system can meet (such as
// a --request-timeout of 1ns): a run under them would judge the bench's
// setting, not the candidate.
func (l Limits) Unmeetable() []string {
	var out []string
	for _, d := range []struct {
		name     string
		v, least time.Duration
	}{
		{"specTimeout", l.SpecTimeout, MinSpecTimeout},
		{"requestTimeout", l.RequestTimeout, MinRequestTimeout},
		{"startupTimeout", l.StartupTimeout, MinStartupTimeout},
		{"timeliness.publication", l.Timeliness.Publication, MinTimeliness},
		{"timeliness.index", l.Timeliness.Index, MinTimeliness},
		{"timeliness.consumer", l.Timeliness.Consumer, MinTimeliness},
		{"timeliness.viewer", l.Timeliness.Viewer, MinTimeliness},
		{"timeliness.dvza", l.Timeliness.DVZA, MinTimeliness},
	} {
		if d.v < d.least && (d.v != 0 || !strings.HasPrefix(d.name, "timeliness.")) {
			out = append(out, fmt.Sprintf("%s %s is below %s", d.name, d.v, d.least))
		}
	}
	return out
}

// fill sets the defaults of limits left out and checks every limit is
// within its bounds.
func (l *Limits) fill() error {
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"specTimeout", &l.SpecTimeout, DefaultSpecTimeout},
		{"requestTimeout", &l.RequestTimeout, DefaultRequestTimeout},
		{"startupTimeout", &l.StartupTimeout, DefaultStartupTimeout},
	} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < 0 || *d.v > maxTimeout:
			return fmt.Errorf("limits: %s %s is outside 0–%s", d.name, *d.v, maxTimeout)
		}
	}
	for _, hop := range TimelinessHops {
		most := maxTimeout
		if hop == "dvza" {
			most = maxAvailability
		}
		if v, _ := l.Timeliness.Hop(hop); *v < 0 || *v > most {
			return fmt.Errorf("limits: timeliness.%s %s is outside 0–%s", hop, *v, most)
		}
	}
	if u := l.Unmeetable(); len(u) > 0 {
		return fmt.Errorf("limits: %s", strings.Join(u, "; "))
	}
	if l.Memory == 0 {
		l.Memory = DefaultMemory
	}
	if l.Memory < minMemory || l.Memory > maxMemory {
		return fmt.Errorf("limits: memory %s is outside %s–%s", l.Memory, minMemory, maxMemory)
	}
	if l.PIDs == 0 {
		l.PIDs = DefaultPIDs
	}
	if l.PIDs < minPIDs || l.PIDs > maxPIDs {
		return fmt.Errorf("limits: pids %d is outside %d–%d", l.PIDs, minPIDs, maxPIDs)
	}
	if l.CPUs == 0 {
		l.CPUs = DefaultCPUs
	}
	if math.IsNaN(l.CPUs) || l.CPUs < minCPUs || l.CPUs > maxCPUs {
		return fmt.Errorf("limits: cpus %v is outside %v–%v", l.CPUs, minCPUs, maxCPUs)
	}
	return nil
}
