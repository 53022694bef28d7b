package certification

import (
	"slices"
	"strings"
	"testing"
)

func TestEmbeddedProfilesAreValid(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no embedded profiles")
	}
	for _, id := range []string{Default, DefaultSelfTest} {
		if _, err := Lookup(id); err != nil {
			t.Fatalf("default profile: %v", err)
		}
	}
}

func TestCertifyingProfiles(t *testing.T) {
	cases := []struct {
		id        string
		certifies bool
		undecided Undecided
	}{
		{"keurmerk-niveau1", true, UndecidedNotTested},
		{"zelftest-niveau1", false, UndecidedReport},
		{"zelftest-inhoud", false, UndecidedReport},
		{"zelftest-keten", false, UndecidedReport},
		{"zelftest-keten-vertaler", false, UndecidedReport},
		{"keurmerk-viewer", true, UndecidedNotTested},
		{"zelftest-viewer", false, UndecidedReport},
		{"keurmerk-vertaler", true, UndecidedNotTested},
		{"zelftest-vertaler", false, UndecidedReport},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			p, err := Lookup(tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if p.Certifies != tc.certifies || p.Undecided != tc.undecided {
				t.Fatalf("certifies %v undecided %q, want %v %q", p.Certifies, p.Undecided, tc.certifies, tc.undecided)
			}
		})
	}
}

// Each certifying profile has a self-test twin that runs exactly the
// certifying content: only its identity and what it may do differ. A twin
// that names no packages loads every embedded one (the run's default).
func TestSelfTestTwinMatchesKeurmerk(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	certifying := 0
	for _, cert := range all {
		if !cert.Certifies {
			if cert.SelfTest() != cert.ID {
				t.Errorf("%s does not certify, but its self-test is %s", cert.ID, cert.SelfTest())
			}
			continue
		}
		certifying++
		t.Run(cert.ID, func(t *testing.T) {
			twin, err := Lookup(cert.SelfTest())
			if err != nil {
				t.Fatalf("no self-test twin: %v", err)
			}
			if !slices.Equal(cert.Roles, twin.Roles) || !slices.Equal(cert.Scenarios, twin.Scenarios) ||
				!slices.Equal(cert.Requirements, twin.Requirements) || cert.Limits != twin.Limits ||
				(len(twin.Packages) > 0 && !slices.Equal(cert.Packages, twin.Packages)) {
				t.Fatalf("%s differs from %s in content:\n%+v\n%+v", twin.ID, cert.ID, twin, cert)
			}
			if twin.Certifies {
				t.Fatalf("the twin %s certifies", twin.ID)
			}
		})
	}
	// keurmerk-niveau1 (xis), keurmerk-viewer, keurmerk-vertaler
	if certifying < 3 {
		t.Fatalf("%d certifying profiles, want at least 3", certifying)
	}
}

func TestSelfTestNames(t *testing.T) {
	cases := []struct {
		name string
		p    Profile
		want string
	}{
		{"keurmerk-viewer", Profile{ID: "keurmerk-viewer", Certifies: true}, "zelftest-viewer"},
		{"keurmerk-niveau1", Profile{ID: Default, Certifies: true}, DefaultSelfTest},
		{"certifying, named otherwise", Profile{ID: "niveau2", Certifies: true}, DefaultSelfTest},
		{"a self-test is its own", Profile{ID: "zelftest-keten"}, "zelftest-keten"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.SelfTest(); got != tc.want {
				t.Fatalf("SelfTest() = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	const base = "id: x\ntitle: X\nscenarios: [a]\nrequirements: [API-01]\n"
	const sum = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	cases := []struct{ name, doc, want string }{
		{"broken yaml", "id: [", "reading profile"},
		{"no requirements", "id: x\ntitle: X\nscenarios: [a]\n", "required"},
		{"unknown requirement", "id: x\ntitle: X\nscenarios: [a]\nrequirements: [NOPE-01]\n", "NOPE-01"},
		{"unknown field", base + "certify: true\n", "certify"},
		{"certifying without packages", base + "certifies: true\n", "pin its FHIR packages"},
		{"unknown role", base + "roles: [xis, archief]\n", "archief"},
		{"role twice", base + "roles: [index, index]\n", "twice"},
		{"certifying passes undecided", base + "certifies: true\nundecided: report\npackages: [{id: a.b, version: '1', sha256: " + sum + "}]\n", "undecided"},
		{"unknown undecided", base + "undecided: maybe\n", "maybe"},
		{"package without version", base + "packages: [{id: a.b}]\n", "version"},
		{"package id with path", base + "packages: [{id: ../etc, version: '1'}]\n", "package id"},
		{"package twice", base + "packages: [{id: a.b, version: '1'}, {id: a.b, version: '2'}]\n", "twice"},
		{"short sha256", base + "packages: [{id: a.b, version: '1', sha256: abc}]\n", "sha256"},
		{"upper-case sha256", base + "packages: [{id: a.b, version: '1', sha256: " + strings.ToUpper(sum) + "}]\n", "sha256"},
		{"negative timeout", base + "limits: {requestTimeout: -1s}\n", "requestTimeout"},
		{"timeout of a year", base + "limits: {specTimeout: 8760h}\n", "specTimeout"},
		{"request timeout nobody meets", base + "limits: {requestTimeout: 1ns}\n", "requestTimeout 1ns is below"},
		{"memory too small", base + "limits: {memory: 1MiB}\n", "memory"},
		{"memory garbage", base + "limits: {memory: lots}\n", "memory"},
		{"memory overflows", base + "limits: {memory: 999999999999GiB}\n", "memory"},
		{"negative pids", base + "limits: {pids: -1}\n", "pids"},
		{"cpus too many", base + "limits: {cpus: 1000}\n", "cpus"},
		{"cpus not a number", base + "limits: {cpus: .nan}\n", "cpus"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse() = %v, want error mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), "keurmerk-niveau1") {
		t.Fatalf("Lookup(nope) = %v, want an error listing known profiles", err)
	}
}

func TestParseDefaultsAndUnpinned(t *testing.T) {
	p, err := Parse([]byte("id: x\ntitle: X\nscenarios: [a]\nrequirements: [API-01]\ncertifies: true\npackages: [{id: a.b, version: '1'}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Undecided != UndecidedNotTested {
		t.Errorf("undecided %q, want not-tested for a certifying profile", p.Undecided)
	}
	if p.Limits.Memory != DefaultMemory || p.Limits.PIDs != DefaultPIDs || p.Limits.CPUs != DefaultCPUs || p.Limits.RequestTimeout != DefaultRequestTimeout {
		t.Errorf("limits %+v, want the defaults", p.Limits)
	}
	if u := p.Unpinned(); len(u) != 1 || u[0].String() != "a.b#1" {
		t.Errorf("Unpinned() = %v, want [a.b#1]", u)
	}
}

func TestParseByteSize(t *testing.T) {
	cases := []struct {
		in   string
		want ByteSize
		text string
	}{
		{"512MiB", 512 << 20, "512MiB"},
		{"1GiB", 1 << 30, "1GiB"},
		{"800MB", 800_000_000, "781250KiB"},
		{"1048576", 1 << 20, "1MiB"},
		{"1000 B", 1000, "1000B"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseByteSize(tc.in)
			if err != nil || got != tc.want || got.String() != tc.text {
				t.Fatalf("ParseByteSize(%q) = %d (%s), %v; want %d (%s)", tc.in, got, got, err, tc.want, tc.text)
			}
		})
	}
	for _, bad := range []string{"", "-1MiB", "1.5GiB", "1TiB", "MiB", "1 Mib"} {
		if _, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) accepted", bad)
		}
	}
}

// The chain self-test judges the publishers and the index, and replays the
// transfers of the seeds (acute referral, transfer to the JGZ).
func TestChainProfile(t *testing.T) {
	p, err := Lookup(Chain)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Roles, []string{"xis", "index"}) {
		t.Errorf("roles %v, want [xis index]", p.Roles)
	}
	for _, s := range []string{"spoedsectio", "overdracht-jgz"} {
		if !slices.Contains(p.Scenarios, s) {
			t.Errorf("scenarios %v lack %s", p.Scenarios, s)
		}
	}
	if p.Certifies {
		t.Error("the chain self-test certifies")
	}
}
