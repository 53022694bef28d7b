package xis

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/reference/audit"
	bearer "github.com/bcbench/bcbench/token"
)

// professionalOf is who the bench's token names for a provider.
func professionalOf(p fixtures.Provider) bearer.Professional {
	role := fixtures.ProfessionalRoles[p.Professional.Role]
	return bearer.Professional{Name: p.Professional.Name, UZI: p.Professional.UZI, AGB: p.Professional.AGB,
		Role: role.Code, RoleDisplay: role.Display, OrgName: p.Name, OrgURA: p.URA, OrgAGB: p.AGB}
}

// TestEveryReadIsLoggedUnderTheTokensProfessional: with a trusted issuer the
// reference refuses reads without a token (401) and reads of a client by a
// professional without a care relationship (403), serves the midwife who
// registered, and logs each as an AuditEvent — who, which client, what,
// outcome — searchable by patient and date.
func TestEveryReadIsLoggedUnderTheTokensProfessional(t *testing.T) {
	iss, err := bearer.NewIssuer("http://autorisatie.test")
	if err != nil {
		t.Fatal(err)
	}
	trust, _ := bearer.NewVerifier(iss.URL(), iss.JWKS())
	ts, regs := servedWith(t, Options{Trust: trust}, "ongecompliceerd")
	sc, _ := fixtures.Lookup("ongecompliceerd")
	midwife, _ := fixtures.Reader([]*fixtures.Scenario{sc})
	tokenOf := func(p fixtures.Provider) string {
		tok, err := iss.Issue(professionalOf(p), "xis", time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	pid := truth.PatientID(regs[0].Client.BSN)
	since := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	cases := []struct {
		name    string
		token   string
		path    string
		status  int
		outcome string
		uzi     string // the requestor's UZI number in the AuditEvent; "" for none
	}{
		{"no token", "", "/fhir/Patient/" + pid, http.StatusUnauthorized, "4", ""},
		{"a forged token", "eyJhbGciOiJFZERTQSJ9.e30.AAAA", "/fhir/Patient/" + pid, http.StatusUnauthorized, "4", ""},
		{"the midwife reads her Patient", tokenOf(midwife), "/fhir/Patient/" + pid, http.StatusOK, "0", midwife.Professional.UZI},
		{"the midwife searches her observations", tokenOf(midwife), "/fhir/Observation?patient=Patient/" + pid, http.StatusOK, "0", midwife.Professional.UZI},
		{"an outsider reads her Patient", tokenOf(fixtures.Outsider()), "/fhir/Patient/" + pid, http.StatusForbidden, "4", fixtures.Outsider().Professional.UZI},
		{"an outsider searches her by BSN", tokenOf(fixtures.Outsider()), "/fhir/Patient?identifier=" + url.QueryEscape(fixtures.BSNSystem+"|"+regs[0].Client.BSN), http.StatusForbidden, "4", fixtures.Outsider().Professional.UZI},
		{"an outsider searches her observations", tokenOf(fixtures.Outsider()), "/fhir/Observation?patient=Patient/" + pid, http.StatusForbidden, "4", fixtures.Outsider().Professional.UZI},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if status := authGet(t, ts, tc.token, tc.path, nil); status != tc.status {
				t.Fatalf("GET %s = %d, want %d", tc.path, status, tc.status)
			}
			var log map[string]any
			status := authGet(t, ts, tokenOf(midwife), "/fhir/AuditEvent?"+url.Values{"date": {"ge" + since}}.Encode(), &log)
			entries, _ := log["entry"].([]any)
			if status != http.StatusOK || len(entries) == 0 {
				t.Fatalf("AuditEvent search = %d with %d entries", status, len(entries))
			}
			ev := newestRead(entries)
			if ev["outcome"] != tc.outcome {
				t.Errorf("outcome %v, want %s", ev["outcome"], tc.outcome)
			}
			agent := ev["agent"].([]any)[0].(map[string]any)
			who, _ := agent["who"].(map[string]any)
			ident, _ := who["identifier"].(map[string]any)
			if got, _ := ident["value"].(string); got != tc.uzi {
				t.Errorf("requestor %v, want UZI %q", who, tc.uzi)
			}
			if tc.status != http.StatusUnauthorized && !slices.Contains(first(audit.Clients(ev)), pid) && tc.name != "an outsider searches her by BSN" {
				t.Errorf("the AuditEvent does not name the client: %v", ev["entity"])
			}
		})
	}
	var byPatient map[string]any
	if status := authGet(t, ts, tokenOf(midwife), "/fhir/AuditEvent?"+url.Values{"patient": {"Patient/" + pid}, "date": {"ge" + since}}.Encode(), &byPatient); status != http.StatusOK || byPatient["total"].(json.Number).String() == "0" {
		t.Fatalf("AuditEvent?patient= answered %d, %v", status, byPatient["total"])
	}
	for _, bad := range []string{"date=gisteren", "patient="} {
		if status := authGet(t, ts, tokenOf(midwife), "/fhir/AuditEvent?"+bad, nil); status != http.StatusBadRequest {
			t.Errorf("AuditEvent?%s = %d, want 400", bad, status)
		}
	}
}

// newestRead is the newest AuditEvent that is not of a search of the log.
func newestRead(entries []any) map[string]any {
	for i := len(entries) - 1; i >= 0; i-- {
		ev := entries[i].(map[string]any)["resource"].(map[string]any)
		logSearch := false
		for _, e := range asList(ev["entity"]) {
			q, _ := e.(map[string]any)["query"].(string)
			raw, _ := base64.StdEncoding.DecodeString(q)
			logSearch = logSearch || strings.HasPrefix(string(raw), "AuditEvent")
		}
		if !logSearch {
			return ev
		}
	}
	return nil
}

func authGet(t *testing.T, ts *httptest.Server, token, path string, into *map[string]any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if into != nil {
		dec := json.NewDecoder(resp.Body)
		dec.UseNumber()
		if err := dec.Decode(into); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// TestAuditSearchPages: the access log answers in pages of _count entries
// (100 when not asked, at most 1000) with a next link; following the links
// yields every logged read once, though the searches of the log are logged
// meanwhile.
func TestAuditSearchPages(t *testing.T) {
	ts, regs := servedWith(t, Options{}, "ongecompliceerd")
	pid := truth.PatientID(regs[0].Client.BSN)
	const reads = 25
	for range reads {
		if status := authGet(t, ts, "", "/fhir/Patient/"+pid, nil); status != http.StatusOK {
			t.Fatalf("reading Patient/%s: %d", pid, status)
		}
	}
	cases := []struct {
		name    string
		count   string // "" for none
		perPage int    // the most entries a page may hold
		status  int
	}{
		{"pages of ten", "10", 10, http.StatusOK},
		{"the default page", "", audit.Page, http.StatusOK},
		{"a page past the maximum is the maximum", "5000", audit.MaxPage, http.StatusOK},
		{"_count zero", "0", 0, http.StatusBadRequest},
		{"_count not a number", "tien", 0, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"patient": {"Patient/" + pid}}
			if tc.count != "" {
				q.Set("_count", tc.count)
			}
			path := "/fhir/AuditEvent?" + q.Encode()
			seen := map[string]int{}
			patientReads, pages := 0, 0
			for path != "" {
				var page map[string]any
				status := authGet(t, ts, "", path, &page)
				if status != tc.status {
					t.Fatalf("GET %s = %d, want %d", path, status, tc.status)
				}
				if status != http.StatusOK {
					return
				}
				if pages++; pages > 20 {
					t.Fatal("more than 20 pages")
				}
				entries, _ := page["entry"].([]any)
				if len(entries) > tc.perPage {
					t.Fatalf("a page of %d entries, want at most %d", len(entries), tc.perPage)
				}
				for _, e := range entries {
					ev := e.(map[string]any)["resource"].(map[string]any)
					id, _ := ev["id"].(string)
					if seen[id]++; seen[id] == 2 {
						t.Errorf("AuditEvent %s on two pages", id)
					}
					if sub := asList(ev["subtype"]); len(sub) == 1 && sub[0].(map[string]any)["code"] == "read" {
						patientReads++
					}
				}
				path = ""
				if next := linkOf(page, "next"); next != "" {
					path = strings.TrimPrefix(next, ts.URL)
				}
			}
			if patientReads != reads {
				t.Errorf("%d reads over %d pages, want %d", patientReads, pages, reads)
			}
			if want := (reads + tc.perPage - 1) / tc.perPage; pages < want {
				t.Errorf("%d pages, want at least %d", pages, want)
			}
		})
	}
}

// linkOf is the url of a Bundle's link with the relation, or "".
func linkOf(bundle map[string]any, relation string) string {
	for _, l := range asList(bundle["link"]) {
		if m, _ := l.(map[string]any); m["relation"] == relation {
			s, _ := m["url"].(string)
			return s
		}
	}
	return ""
}

func first(patients, _ []string) []string { return patients }

// servedWith serves a reference XIS with the options that holds every
// event of the scenario, registered.
func servedWith(t *testing.T, opts Options, scenario string) (*httptest.Server, []fixtures.Registration) {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	regs := registrations(t, scenario)
	for _, r := range regs {
		if code := post(t, ts, r); code != http.StatusCreated {
			t.Fatalf("registering %s: %d", r.Event, code)
		}
	}
	return ts, regs
}
