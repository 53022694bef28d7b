package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestChainRoleKeys(t *testing.T) {
	cases := []struct {
		name  string
		roles string
		want  string // role order, or the problem
	}{
		{"publishers after xis, index first", "  xis-ziekenhuis: {builtin: true}\n  xis: {builtin: true}\n  index: {builtin: true}\n  xis-kraamzorg: {builtin: true}\n", "index,xis,xis-kraamzorg,xis-ziekenhuis"},
		{"a hospital alone", "  xis-ziekenhuis: {builtin: true}\n", "xis-ziekenhuis"},
		{"empty suffix", "  xis-: {builtin: true}\n", "unknown role"},
		{"upper-case suffix", "  xis-Ziekenhuis: {builtin: true}\n", "unknown role"},
		{"another prefix", "  index-2: {builtin: true}\n", "unknown role"},
		{"a publisher names nothing", "  xis-ziekenhuis: {fhirBase: /fhir}\n", "found none"},
		{"too many publishers", manyPublishers(17), "names 17 roles; a chain has at most 16"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest([]byte("name: keten\nroles:\n" + tc.roles))
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got = strings.Join(m.RoleNames(), ",")
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCombine(t *testing.T) {
	xis := manifestIn(t, t.TempDir(), "name: MijnVIS\nvendor: Voorbeeld BV\nversion: \"4.2\"\nroles:\n  xis:\n    command: {path: ./bin/xis, identity: [app.py]}\n")
	index := manifestIn(t, t.TempDir(), "name: Regio-index\nvendor: Regio\nversion: \"1.0\"\nroles:\n  index:\n    command: {path: ./bin/index}\n")
	other := manifestIn(t, t.TempDir(), "name: AnderVIS\nroles:\n  xis:\n    builtin: true\n")
	cases := []struct {
		name    string
		in      []*Manifest
		wantErr []string
	}{
		{"one manifest is itself", []*Manifest{xis}, nil},
		{"two roles from two vendors", []*Manifest{xis, index}, nil},
		{"a role named twice", []*Manifest{xis, index, other}, []string{"role xis", xis.Source, other.Source}},
		{"none", nil, []string{"none given"}},
		{"the same file twice", []*Manifest{xis, xis}, []string{xis.Source + " is given twice"}},
		{"more than 16 roles together", []*Manifest{
			manifestIn(t, t.TempDir(), "name: a\nroles:\n"+manyPublishers(10)),
			manifestIn(t, t.TempDir(), "name: b\nroles:\n"+strings.ReplaceAll(manyPublishers(10), "xis-p", "xis-q")),
		}, []string{"more than 16 roles"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Combine(tc.in...)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("combined %v", m.RoleNames())
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Each role keeps the folder and the name of its own manifest.
			for _, in := range tc.in {
				for _, role := range in.RoleNames() {
					r := m.Roles[role]
					if want := filepath.Join(in.Dir, "bin", role); m.CommandPath(r) != want {
						t.Errorf("%s: command path %s, want %s", role, m.CommandPath(r), want)
					}
					if src, name := m.Origin(role); src != in.Source || name != in.Name {
						t.Errorf("%s: origin %s %s, want %s %s", role, src, name, in.Source, in.Name)
					}
				}
			}
		})
	}
	m, err := Combine(xis, index)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "MijnVIS + Regio-index" || m.Vendor != "Voorbeeld BV + Regio" || m.Version != "4.2 + 1.0" {
		t.Errorf("combined identity %q %q %q", m.Name, m.Vendor, m.Version)
	}
	if m.home(m.Roles["xis"]).SHA256 != xis.SHA256 {
		t.Error("the xis role lost its manifest's sha256 (part of a command candidate's identity)")
	}
}

func TestAddReference(t *testing.T) {
	m := mustParse(t, "name: idx\nroles:\n  index:\n    url: http://127.0.0.1:1\n")
	if m.AddReference("index") {
		t.Error("the candidate's index was replaced by the reference")
	}
	if !m.AddReference("xis") || m.Roles["xis"].Kind() != "builtin" || m.Roles["xis"].FHIRBase != DefaultFHIRBase || !m.Roles["xis"].Reference() {
		t.Errorf("xis = %+v", m.Roles["xis"])
	}
	if m.Roles["index"].Reference() {
		t.Error("the candidate's index is marked as the bench's reference")
	}
	if err := CheckCertifying(mustParse(t, "name: idx\nroles:\n  index:\n    image: {name: \"regio/index@sha256:"+strings.Repeat("a", 64)+"\", port: 80}\n")); err != nil {
		t.Errorf("a pinned index image refused: %v", err)
	}
}

// TestProcessXISIsToldTheIndex: a process XIS started after a built-in index
// gets the index's FHIR base, through the index's recording proxy, in
// BCBENCH_INDEX_URL; the manifest's own env is left as it was.
func TestProcessXISIsToldTheIndex(t *testing.T) {
	m := mustParse(t, fmt.Sprintf("name: keten\nroles:\n  index:\n    builtin: true\n  xis:\n    command:\n      path: %s\n      args: [--addr, \"127.0.0.1:{port}\"]\n      env: {FAKE_ECHO_ENV: x}\n", fakeCandidate(t)))
	c, err := Launch(context.Background(), m, LaunchOptions{StartupTimeout: 10 * time.Second,
		Builtin: func(role string, _ Wiring) (http.Handler, error) { return fhirStub("index"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	body, err := get(t, c.Role("xis"), "/env")
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("env: %v (%s)", err, body)
	}
	want := IndexURLEnv + "=" + c.Role("index").FHIRBase()
	found := false
	for _, kv := range env {
		found = found || kv == want
	}
	if !found {
		t.Errorf("the XIS's environment lacks %s: %v", want, env)
	}
	if _, ok := m.Roles["xis"].Command.Env[IndexURLEnv]; ok {
		t.Error("the manifest's env was changed")
	}
}

// TestWiring: how each kind of XIS reaches each kind of index.
func TestWiring(t *testing.T) {
	proxy, err := NewProxy("http://127.0.0.1:9", ProxyOptions{Role: "index"})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	image := &RoleSpec{Image: &ImageSpec{Name: "regio/index", Port: 8081}, FHIRBase: "/r4"}
	builtin := &RoleSpec{Builtin: true, FHIRBase: "/fhir"}
	cases := []struct {
		name      string
		index     *RoleSpec // nil: no index
		role      string
		xis       *RoleSpec
		want, err string
	}{
		{"no index", nil, "xis", builtin, "", ""},
		{"builtin XIS, builtin index: the proxy", builtin, "xis", builtin, proxy.URL() + "/fhir", ""},
		{"process XIS: the proxy", builtin, "xis-ziekenhuis", &RoleSpec{Command: &CommandSpec{Path: "x"}}, proxy.URL() + "/fhir", ""},
		{"container XIS, container index: the alias", image, "xis", &RoleSpec{Image: &ImageSpec{Name: "a", Port: 1}}, "http://index:8081/r4", ""},
		{"container XIS, builtin index: refused", builtin, "xis", &RoleSpec{Image: &ImageSpec{Name: "a", Port: 1}}, "", "must run in a container too"},
		{"attached XIS: not told", builtin, "xis", &RoleSpec{URL: "http://127.0.0.1:1"}, "", ""},
		{"the index itself", builtin, "index", builtin, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Candidate{findings: &findingLog{}}
			if tc.index != nil {
				c.Roles = []*Role{{Name: "index", Spec: tc.index, Proxy: proxy}}
			}
			w, err := c.wiring(tc.role, tc.xis)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || w.Index != tc.want {
				t.Fatalf("wiring %+v, %v; want %q", w, err, tc.want)
			}
		})
	}
}

// TestWatchNamesTheRoleThatDied: of a chain of a process XIS and a built-in
// index, the watch names the XIS once it crashes, with its exit status, and
// nothing while both run.
func TestWatchNamesTheRoleThatDied(t *testing.T) {
	m := mustParse(t, fmt.Sprintf("name: keten\nroles:\n  index:\n    builtin: true\n  xis:\n    command:\n      path: %s\n      args: [--addr, \"127.0.0.1:{port}\"]\n", fakeCandidate(t)))
	c, err := Launch(context.Background(), m, LaunchOptions{StartupTimeout: 10 * time.Second,
		Builtin: func(string, Wiring) (http.Handler, error) { return fhirStub("index"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	deaths := make(chan Death, 2)
	end := c.Watch(context.Background(), 20*time.Millisecond, func(d Death) { deaths <- d })
	defer end()
	select {
	case d := <-deaths:
		t.Fatalf("a death while every role runs: %+v", d)
	case <-time.After(200 * time.Millisecond):
	}
	_, _ = get(t, c.Role("xis"), "/crash")
	select {
	case d := <-deaths:
		if d.Role != "xis" || d.Err == nil || !strings.Contains(d.Err.Error(), "exit") {
			t.Errorf("death = %+v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the crashed XIS was not noticed")
	}
	end()
	if len(deaths) != 0 {
		t.Errorf("more than one death reported: %+v", <-deaths)
	}
}

// manyPublishers is n further publishers, xis-p1 … xis-pn.
func manyPublishers(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  xis-p%d: {builtin: true}\n", i)
	}
	return b.String()
}
