package viewer

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/requirements"
	"github.com/bcbench/bcbench/token"
)

// stackWith starts a stack whose XIS holds the scenarios, viewed on the
// scenarios' last day.
func stackWith(t *testing.T, defect string, ids ...string) (*Stack, []*fixtures.Scenario, time.Time) {
	t.Helper()
	return stackLaunched(t, StackOptions{Defect: defect}, ids...)
}

// stackLaunched is stackWith for a stack's options (the clock is set here).
func stackLaunched(t *testing.T, opts StackOptions, ids ...string) (*Stack, []*fixtures.Scenario, time.Time) {
	t.Helper()
	var scs []*fixtures.Scenario
	for _, id := range ids {
		s, ok := fixtures.Lookup(id)
		if !ok {
			t.Fatalf("no scenario %s", id)
		}
		scs = append(scs, s)
	}
	ref := fixtures.DefaultReference
	now := fixtures.Date(ref, fixtures.LastDay(scs)).Add(20 * time.Hour)
	opts.Now = func() time.Time { return now }
	st, err := StartStack(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, s := range scs {
		regs, err := s.Registrations(ref)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range regs {
			register(t, st, r)
		}
	}
	return st, scs, now
}

// register sends one registration to the stack's XIS adapter.
func register(t *testing.T, st *Stack, r fixtures.Registration) {
	t.Helper()
	body, _ := json.Marshal(r)
	resp, err := http.Post(st.XISURL+"/bench/events", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("registering %s: %d", r.Event, resp.StatusCode)
	}
}

// open follows a launch like a browser (cookies, redirects) and returns the
// final status and page.
func open(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func browserClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

func TestALaunchShowsTheClientsRecordInDutchWithoutALogIn(t *testing.T) {
	st, scs, now := stackWith(t, "", "hypertensie")
	s := scs[0]
	reader, _ := fixtures.Reader(scs)
	u, err := st.LaunchURL(truth.PatientID(s.Client.BSN), Professional(reader))
	if err != nil {
		t.Fatal(err)
	}
	code, page := open(t, browserClient(), u)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, page)
	}
	if os.Getenv("VWR_DUMP") != "" {
		os.WriteFile(os.Getenv("VWR_DUMP"), []byte(page), 0o644)
	}
	if strings.Contains(page, `type="password"`) {
		t.Fatal("a password field")
	}
	want := []string{`lang="nl"`, s.Client.Given, "Bloeddruk", "152/98 mmHg", "Medicatieoverzicht op " + now.Format("02-01-2006")}
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("the page lacks %q", w)
		}
	}
	day := int(now.Sub(fixtures.DefaultReference).Hours() / 24)
	for _, m := range fixtures.MedicationOverview(s, fixtures.MedicatieAfspraak, day) {
		if !strings.Contains(page, m.Product.Display) {
			t.Errorf("the overview lacks %s", m.Product.Display)
		}
	}
	resp, err := http.Get(st.ViewerURL + AuditPath + "?patient=" + truth.PatientID(s.Client.BSN))
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Total int `json:"total"`
	}
	json.NewDecoder(resp.Body).Decode(&b)
	resp.Body.Close()
	if b.Total != 1 {
		t.Fatalf("%d views logged, want 1", b.Total)
	}
}

func TestTheViewerRefusesWithoutAValidLaunch(t *testing.T) {
	st, scs, _ := stackWith(t, "", "ongecompliceerd")
	s := scs[0]
	reader, _ := fixtures.Reader(scs)
	pid := truth.PatientID(s.Client.BSN)
	good, _ := st.LaunchURL(pid, Professional(reader))
	cases := []struct {
		name string
		url  func() string
	}{
		{"no launch", func() string { return st.Viewer.LaunchURL }},
		{"home without session", func() string { return st.ViewerURL + "/" }},
		{"dossier without session", func() string { return st.ViewerURL + DossierPath }},
		{"tampered launch", func() string { return strings.Replace(good, "launch=", "launch=x", 1) }},
		{"replayed launch", func() string { open(t, browserClient(), good); return good }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, page := open(t, browserClient(), tc.url())
			if code != http.StatusForbidden || strings.Contains(page, s.Client.Family) || !strings.Contains(page, "Geen toegang") {
				t.Fatalf("status %d: %s", code, page)
			}
		})
	}
}

func TestEveryMutantIsKnownAndDeclaresWhatItViolates(t *testing.T) {
	for _, m := range Mutants {
		if len(m.Violates) == 0 || m.Description == "" {
			t.Errorf("%s declares nothing", m.Name)
		}
		if _, err := New(Options{URL: "http://127.0.0.1:1", Defect: m.Name, Launch: m.LaunchMode(), Trust: trust(t)}); err != nil {
			t.Errorf("%s: %v", m.Name, err)
		}
	}
	if _, err := New(Options{URL: "http://127.0.0.1:1", Defect: "bestaat-niet"}); err == nil {
		t.Error("an unknown defect was accepted")
	}
	if _, err := New(Options{URL: "ftp://geen-url"}); err == nil {
		t.Error("a viewer without a URL was made")
	}
}

// TestEveryViewerRequirementHasAMutant: each VWR requirement of every
// certification profile is failed by at least one viewer mutant, and every
// mutant names requirements of the catalogue.
func TestEveryViewerRequirementHasAMutant(t *testing.T) {
	cat := requirements.MustDefault()
	covered := map[string][]string{}
	for _, m := range Mutants {
		if err := cat.Check(m.Violates...); err != nil {
			t.Errorf("mutant %s: %v", m.Name, err)
		}
		for _, id := range m.Violates {
			covered[id] = append(covered[id], m.Name)
		}
	}
	profiles, err := certification.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range profiles {
		for _, id := range p.Requirements {
			if strings.HasPrefix(id, "VWR-") && len(covered[id]) == 0 {
				t.Errorf("profile %s: requirement %s has no viewer mutant that must fail it", p.ID, id)
			}
		}
	}
}

// TestANewFactIsShownAtTheNextLaunch: a fact registered at the XIS after a
// view is on the record at the next launch; the verouderd-dossier mutant
// shows it only once StaleFor has passed (VWR-08).
func TestANewFactIsShownAtTheNextLaunch(t *testing.T) {
	tests := []struct {
		name, defect string
		after        time.Duration
		shown        bool
	}{
		{name: "reference, at once", shown: true},
		{name: "verouderd-dossier, at once", defect: "verouderd-dossier"},
		{name: "verouderd-dossier, after StaleFor", defect: "verouderd-dossier", after: StaleFor + time.Minute, shown: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := fixtures.Lookup("ongecompliceerd")
			if !ok {
				t.Fatal("no scenario ongecompliceerd")
			}
			ref := fixtures.DefaultReference
			var offset atomic.Int64
			start := fixtures.Date(ref, fixtures.LastDay([]*fixtures.Scenario{s})).Add(20 * time.Hour)
			now := func() time.Time { return start.Add(time.Duration(offset.Load())) }
			st, err := StartStack(context.Background(), StackOptions{Defect: tc.defect, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			regs, err := s.Registrations(ref)
			if err != nil {
				t.Fatal(err)
			}
			var late fixtures.Registration
			for _, r := range regs {
				register(t, st, r)
				for _, f := range r.Facts {
					if f.Code == fixtures.CodeHb && late.Event == "" {
						late = r
						f.Key += "-later"
						f.Value = fixtures.RegisteredValue{Quantity: &fixtures.Quantity{Value: "9.9", Unit: f.Value.Quantity.Unit}}
						late.Facts = []fixtures.RegisteredFact{f}
					}
				}
			}
			if late.Event == "" {
				t.Fatal("ongecompliceerd has no Hb")
			}
			reader, _ := fixtures.Reader([]*fixtures.Scenario{s})
			look := func() string {
				t.Helper()
				u, err := st.LaunchURL(truth.PatientID(s.Client.BSN), Professional(reader))
				if err != nil {
					t.Fatal(err)
				}
				code, page := open(t, browserClient(), u)
				if code != http.StatusOK {
					t.Fatalf("status %d", code)
				}
				return page
			}
			if page := look(); strings.Contains(page, "9,9 mmol/l") {
				t.Fatal("the new value is shown before it was registered")
			}
			late.Event += "-later"
			late.Time = now().Truncate(time.Minute)
			register(t, st, late)
			offset.Add(int64(tc.after))
			if got := strings.Contains(look(), "9,9 mmol/l"); got != tc.shown {
				t.Errorf("the new Hb shown: %v, want %v", got, tc.shown)
			}
		})
	}
}

// TestTheChildrensFactsAreShownUnderEachChild: a newborn's facts come from
// her own Patient (found through the RelatedPerson naming her mother) and
// are shown under her name; twins apart; nothing of a deleted record.
func TestTheChildrensFactsAreShownUnderEachChild(t *testing.T) {
	cases := []struct {
		name, defect, scenario string
		want                   map[string][]string // child's name → what her part of the page shows
		absent                 map[string][]string // child's name → what her part must not show
	}{
		{name: "twins, each under her own name", scenario: "tweeling",
			want: map[string][]string{
				"Roos Jansen": {"Geboortegewicht", "2480 g", "46 cm", "Apgarscore na 1 minuut"},
				"Vera Jansen": {"Geboortegewicht", "2295 g", "45 cm"},
			},
			absent: map[string][]string{"Roos Jansen": {"2295 g"}, "Vera Jansen": {"2480 g"}}},
		{name: "the mutant files the second twin's birth weight under the first", defect: "tweeling-verwisseld", scenario: "tweeling",
			want:   map[string][]string{"Roos Jansen": {"2480 g", "2295 g"}, "Vera Jansen": {"45 cm"}},
			absent: map[string][]string{"Vera Jansen": {"Geboortegewicht"}}},
		{name: "a single child", scenario: "overdracht-jgz",
			want: map[string][]string{"Finn de Boer": {"Geboortegewicht", "3650 g", "Schedelomtrek", "35,5 cm"}}},
		{name: "deleted: nothing of the child", scenario: "vernietiging",
			absent: map[string][]string{"": {"Noah", "Geboortegewicht"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, scs, _ := stackWith(t, tc.defect, tc.scenario)
			s := scs[0]
			reader, _ := fixtures.Reader(scs)
			u, err := st.LaunchURL(truth.PatientID(s.Client.BSN), Professional(reader))
			if err != nil {
				t.Fatal(err)
			}
			_, page := open(t, browserClient(), u)
			part := func(name string) string {
				if name == "" {
					return page
				}
				_, after, ok := strings.Cut(page, "Kind: "+name+"</h2>")
				if !ok {
					t.Fatalf("no heading for %s", name)
				}
				if next := strings.Index(after, "<h2"); next >= 0 {
					after = after[:next]
				}
				return after
			}
			for name, ws := range tc.want {
				p := part(name)
				for _, w := range ws {
					if !strings.Contains(p, w) {
						t.Errorf("%s: lacks %q", name, w)
					}
				}
			}
			for name, ws := range tc.absent {
				p := part(name)
				for _, w := range ws {
					if strings.Contains(p, w) {
						t.Errorf("%s: shows %q", name, w)
					}
				}
			}
		})
	}
}

func TestAContextTokenOpensTheRecordOnceAndABadOneIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name, defect string
		replayShows  bool
	}{
		{"reference", "", false},
		{"token-hergebruik", "token-hergebruik", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, scs, _ := stackLaunched(t, StackOptions{Defect: tc.defect, Launch: LaunchContextToken}, "ongecompliceerd")
			s := scs[0]
			reader, _ := fixtures.Reader(scs)
			pid := truth.PatientID(s.Client.BSN)
			good, err := st.LaunchURL(pid, Professional(reader))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(good, "?"+ContextTokenParam+"=") {
				t.Fatalf("the launch %q carries no context token", good)
			}
			code, page := open(t, browserClient(), good)
			if code != http.StatusOK || !strings.Contains(page, s.Client.Family) {
				t.Fatalf("a valid context token: status %d without the client", code)
			}
			refusals, err := st.Refusals(pid, Professional(reader))
			if err != nil {
				t.Fatal(err)
			}
			if len(refusals) != 4 {
				t.Fatalf("refusals %v, want four", refusals)
			}
			refusals["al gebruikt"] = good
			for name, u := range refusals {
				code, page := open(t, browserClient(), u)
				shows := code == http.StatusOK && strings.Contains(page, s.Client.Family)
				if want := name == "al gebruikt" && tc.replayShows; shows != want {
					t.Errorf("%s: status %d, shows the client %v, want %v", name, code, shows, want)
				}
				if !shows && (code != http.StatusForbidden || strings.Contains(page, s.Client.BSN)) {
					t.Errorf("%s: status %d, want a refusal without client data", name, code)
				}
			}
		})
	}
}

// trust is a verifier of a fresh issuer.
func trust(t *testing.T) *token.Verifier {
	t.Helper()
	iss, err := token.NewIssuer("http://127.0.0.1:1/auth")
	if err != nil {
		t.Fatal(err)
	}
	v, err := token.NewVerifier(iss.URL(), iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAContextTokenViewerNeedsTheIssuerAndItsOwnDefects(t *testing.T) {
	if _, err := New(Options{Launch: LaunchContextToken}); err == nil {
		t.Error("a context-token viewer without a trusted issuer was created")
	}
	if _, err := New(Options{Launch: "magic"}); err == nil {
		t.Error("a viewer with an unknown launch was created")
	}
	if _, err := New(Options{Defect: "token-hergebruik", Launch: LaunchSMART}); err == nil {
		t.Error("a SMART viewer took a defect of the context-token launch")
	}
	if _, err := New(Options{Defect: "token-hergebruik", Trust: trust(t)}); err != nil {
		t.Errorf("a defect of the context-token launch without a launch mode: %v", err)
	}
}

// TestLeakingMutantsRefuseButLeakOnOneRefusalOnly: verborgen-naam hides the
// client in the refusal of a replayed return address, lekkende-fetch has the
// refusal of a used launch fetch her; each refuses everything the reference
// refuses, and leaks nothing on the other refusals.
func TestLeakingMutantsRefuseButLeakOnOneRefusalOnly(t *testing.T) {
	for _, tc := range []struct {
		defect                     string
		hidesOnReturn, fetchesUsed bool
	}{
		{defect: ""},
		{defect: "verborgen-naam", hidesOnReturn: true},
		{defect: "lekkende-fetch", fetchesUsed: true},
	} {
		t.Run("defect "+tc.defect, func(t *testing.T) {
			st, scs, _ := stackWith(t, tc.defect, "ongecompliceerd")
			s := scs[0]
			reader, _ := fixtures.Reader(scs)
			good, err := st.LaunchURL(truth.PatientID(s.Client.BSN), Professional(reader))
			if err != nil {
				t.Fatal(err)
			}
			var callback string
			c := browserClient()
			c.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
				if r.URL.Path == CallbackPath {
					callback = r.URL.String()
				}
				return nil
			}
			if code, page := open(t, c, good); code != http.StatusOK || callback == "" {
				t.Fatalf("the valid launch: status %d, return address %q: %s", code, callback, page)
			}
			refusals := map[string]string{"geen context": st.Viewer.LaunchURL, "herhaald terugkeeradres": callback, "al gebruikte opening": good}
			for name, u := range refusals {
				code, page := open(t, browserClient(), u)
				if code != http.StatusForbidden {
					t.Errorf("%s: status %d, want 403", name, code)
				}
				hidden := strings.Contains(page, s.Client.Family) && strings.Contains(page, s.Client.BSN) && strings.Contains(page, "<div hidden>")
				if want := tc.hidesOnReturn && name == "herhaald terugkeeradres"; hidden != want {
					t.Errorf("%s: her name and BSN hidden in the page: %v, want %v", name, hidden, want)
				}
				fetched := ""
				if i := strings.Index(page, leakPath+"?id="); i >= 0 {
					id, _, _ := strings.Cut(page[i+len(leakPath+"?id="):], "'")
					_, fetched = open(t, browserClient(), st.ViewerURL+leakPath+"?id="+id)
				}
				if want := tc.fetchesUsed && name == "al gebruikte opening"; strings.Contains(fetched, s.Client.BSN) != want {
					t.Errorf("%s: the page fetches her BSN: %v, want %v (%q)", name, !want, want, fetched)
				}
				if strings.Contains(page, s.Client.BSN) && !hidden {
					t.Errorf("%s: her BSN is in the page itself", name)
				}
			}
		})
	}
}
