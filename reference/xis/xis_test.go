package xis

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
)

func newTestServer(t *testing.T, defect string) *httptest.Server {
	t.Helper()
	s, err := New(Options{Defect: defect})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

func registrations(t *testing.T, id string) []fixtures.Registration {
	t.Helper()
	s, ok := fixtures.Lookup(id)
	if !ok {
		t.Fatalf("no golden scenario %s", id)
	}
	regs, err := s.Registrations(time.Date(2026, 3, 2, 0, 0, 0, 0, fixtures.Amsterdam))
	if err != nil {
		t.Fatal(err)
	}
	return regs
}

func post(t *testing.T, ts *httptest.Server, body any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(ts.URL+"/bench/events", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func get(t *testing.T, ts *httptest.Server, path string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("GET %s: not JSON: %s", path, data)
	}
	return resp.StatusCode, v
}

func total(t *testing.T, ts *httptest.Server, path string) int {
	t.Helper()
	code, b := get(t, ts, path)
	if code != 200 || b["type"] != "searchset" {
		t.Fatalf("GET %s = %d %v", path, code, b["type"])
	}
	n, _ := b["total"].(float64)
	return int(n)
}

func replay(t *testing.T, ts *httptest.Server, id string) fixtures.Registration {
	t.Helper()
	regs := registrations(t, id)
	for _, r := range regs {
		if code := post(t, ts, r); code != http.StatusCreated {
			t.Fatalf("POST event %s = %d", r.Event, code)
		}
	}
	return regs[0]
}

func TestPublishesWhatWasRegistered(t *testing.T) {
	ts := newTestServer(t, "")
	first := replay(t, ts, "ongecompliceerd")
	bsn := "identifier=http://fhir.nl/fhir/NamingSystem/bsn|" + first.Client.BSN
	if n := total(t, ts, "/fhir/Patient?"+bsn); n != 1 {
		t.Fatalf("Patient by BSN: %d, want 1", n)
	}
	_, b := get(t, ts, "/fhir/Patient?"+bsn)
	id := b["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)["id"].(string)
	if n := total(t, ts, "/fhir/Observation?patient=Patient/"+id); n == 0 {
		t.Fatal("no observations for the client")
	}
	if n := total(t, ts, "/fhir/Observation?patient="+id+"&code=http://snomed.info/sct|364325004"); n != 1 {
		t.Fatalf("parity observations: %d, want 1", n)
	}
	if code, _ := get(t, ts, "/fhir/Patient/"+id); code != 200 {
		t.Fatalf("read Patient = %d", code)
	}
	if code, oo := get(t, ts, "/fhir/Patient/nope"); code != 404 || oo["resourceType"] != "OperationOutcome" {
		t.Fatalf("read unknown = %d %v", code, oo["resourceType"])
	}
	if code, _ := get(t, ts, "/fhir/Nonsense?x=1"); code != 404 {
		t.Fatalf("search unknown type = %d", code)
	}
	if code, cs := get(t, ts, "/fhir/metadata"); code != 200 || cs["fhirVersion"] != "4.0.1" {
		t.Fatalf("metadata = %d %v", code, cs["fhirVersion"])
	}
}

func TestConsentAndDeletion(t *testing.T) {
	ts := newTestServer(t, "")
	first := replay(t, ts, "ongecompliceerd")
	bsn := "/fhir/Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|" + first.Client.BSN
	withdraw := first
	withdraw.Event, withdraw.Kind, withdraw.Facts = "withdraw", fixtures.Consent, nil
	no := false
	withdraw.Consent = &no
	if code := post(t, ts, withdraw); code != http.StatusCreated {
		t.Fatalf("withdraw = %d", code)
	}
	if n := total(t, ts, bsn); n != 0 {
		t.Fatalf("after withdrawn consent the Patient is still shared (%d)", n)
	}
	yes := true
	withdraw.Event, withdraw.Consent = "give", &yes
	post(t, ts, withdraw)
	if n := total(t, ts, bsn); n != 1 {
		t.Fatalf("after consent given again: %d patients", n)
	}
	del := first
	del.Event, del.Kind, del.Facts, del.Consent = "delete", fixtures.Deletion, nil, nil
	if code := post(t, ts, del); code != http.StatusCreated {
		t.Fatalf("delete = %d", code)
	}
	if n := total(t, ts, bsn); n != 0 {
		t.Fatalf("after deletion the Patient still exists (%d)", n)
	}
}

func TestRejectsBadRegistrations(t *testing.T) {
	ts := newTestServer(t, "")
	cases := []struct {
		name string
		body string
		want int
	}{
		{"not JSON", "{", http.StatusBadRequest},
		{"no event", `{"client":{"bsn":"999901023"}}`, http.StatusBadRequest},
		{"no BSN", `{"event":"e1"}`, http.StatusBadRequest},
		{"too large", `{"event":"` + strings.Repeat("x", maxEvent+10) + `"}`, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(ts.URL+"/bench/events", "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

func TestMutantsAreKnownAndDeclareTheirViolations(t *testing.T) {
	if _, err := New(Options{Defect: "nope"}); err == nil || !strings.Contains(err.Error(), "gewicht-in-gram") {
		t.Fatalf("unknown defect: %v", err)
	}
	seen := map[string]bool{}
	for _, m := range Mutants {
		if seen[m.Name] || len(m.Violates) == 0 || m.Description == "" {
			t.Errorf("mutant %q: duplicate, or no declared violation or description", m.Name)
		}
		seen[m.Name] = true
		if m.resource == nil && m.metadata == nil && !m.leak && !m.keepConsent && !m.keepDeleted &&
			m.refuse == nil && m.change == nil && m.shareOnly == nil && m.spare == nil && m.mark == nil && m.searchset == nil && !m.shareLater && m.audit == nil && m.late == nil {
			t.Errorf("mutant %q changes nothing", m.Name)
		}
	}
}

func TestLeakingMutantReturnsOtherClients(t *testing.T) {
	ts := newTestServer(t, "lekkende-zoekvraag")
	a := replay(t, ts, "ongecompliceerd")
	replay(t, ts, "hypertensie")
	if n := total(t, ts, "/fhir/Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|"+a.Client.BSN); n < 2 {
		t.Fatalf("the leaking mutant returned %d patients, want both", n)
	}
}
