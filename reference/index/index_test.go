package index

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
)

var when = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

var author = fixtures.Provider{Name: "Verloskundigenpraktijk Test", URA: "99990101"}

func newIndex(t *testing.T, defect string) *httptest.Server {
	t.Helper()
	s, err := New(Options{Defect: defect, Now: func() time.Time { return when }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

func bsn(t *testing.T, n int) string {
	t.Helper()
	for k := n * 10; k < n*10+10; k++ {
		if b, ok := fixtures.TestBSN(k); ok {
			return b
		}
	}
	t.Fatalf("no test BSN near %d", n*10)
	return ""
}

func ptr(b string, n int) truth.Pointer {
	return truth.Pointer{UniqueID: truth.PointerUniqueID("test", b, n), BSN: b, URL: "http://xis.example/fhir/Patient/" + b, Author: author, Date: when}
}

func do(t *testing.T, method, u, contentType string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, u, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var v map[string]any
	_ = json.Unmarshal(data, &v)
	return resp.StatusCode, v
}

func provide(t *testing.T, ts *httptest.Server, bundle map[string]any) (int, map[string]any) {
	t.Helper()
	return do(t, http.MethodPost, ts.URL+"/fhir", "application/fhir+json", bundle)
}

// find returns the pointers of a client with the given status ("" for any).
func find(t *testing.T, ts *httptest.Server, b, status string) []map[string]any {
	t.Helper()
	q := url.Values{"patient.identifier": {truth.BSNSystem + "|" + b}}
	if status != "" {
		q.Set("status", status)
	}
	code, bundle := do(t, http.MethodGet, ts.URL+"/fhir/DocumentReference?"+q.Encode(), "", nil)
	if code != 200 || bundle["type"] != "searchset" {
		t.Fatalf("search = %d %v", code, bundle)
	}
	var out []map[string]any
	for _, e := range truth.Items(bundle["entry"]) {
		out = append(out, asMap(asMap(e)["resource"]))
	}
	return out
}

func locations(t *testing.T, resp map[string]any) []string {
	t.Helper()
	var out []string
	for _, e := range truth.Items(resp["entry"]) {
		loc, _ := asMap(asMap(e)["response"])["location"].(string)
		out = append(out, loc)
	}
	return out
}

func TestProvideFindAndReplace(t *testing.T) {
	ts := newIndex(t, "")
	b := bsn(t, 401)
	code, resp := provide(t, ts, truth.ProvideBundle("test", "s1", ptr(b, 1)))
	if code != 200 || resp["type"] != "transaction-response" {
		t.Fatalf("provide = %d %v", code, resp)
	}
	locs := locations(t, resp)
	if len(locs) != 2 || !strings.HasPrefix(locs[0], "List/") || !strings.HasPrefix(locs[1], "DocumentReference/") {
		t.Fatalf("locations %v", locs)
	}
	got := find(t, ts, b, "current")
	if len(got) != 1 || attachment(got[0]) != "http://xis.example/fhir/Patient/"+b || uniqueID(got[0]) != ptr(b, 1).UniqueID {
		t.Fatalf("found %v", got)
	}
	// the same bundle again: nothing new
	if code, _ := provide(t, ts, truth.ProvideBundle("test", "s1", ptr(b, 1))); code != 200 {
		t.Fatalf("republish = %d", code)
	}
	if n := len(find(t, ts, b, "")); n != 1 {
		t.Fatalf("after republish %d pointers, want 1", n)
	}
	// a replacement supersedes the old pointer
	oldRef := strings.TrimSuffix(locs[1], "/_history/1")
	next := ptr(b, 2)
	next.Replaces, next.Old = oldRef, got[0]
	if code, resp := provide(t, ts, truth.ProvideBundle("test", "s2", next)); code != 200 {
		t.Fatalf("replace = %d %v", code, resp)
	}
	if cur := find(t, ts, b, "current"); len(cur) != 1 || uniqueID(cur[0]) != next.UniqueID {
		t.Fatalf("current after replace: %v", cur)
	}
	if old := find(t, ts, b, "superseded"); len(old) != 1 || old[0]["id"] != strings.TrimPrefix(oldRef, "DocumentReference/") {
		t.Fatalf("superseded after replace: %v", old)
	}
	if n := len(find(t, ts, b, "current,superseded")); n != 2 {
		t.Fatalf("current or superseded: %d, want 2", n)
	}
	// withdrawal: gone from search and read
	for _, p := range find(t, ts, b, "") {
		if code, _ := do(t, http.MethodDelete, ts.URL+"/fhir/DocumentReference/"+p["id"].(string), "", nil); code != http.StatusNoContent {
			t.Fatalf("delete = %d", code)
		}
	}
	if n := len(find(t, ts, b, "")); n != 0 {
		t.Fatalf("after withdrawal %d pointers", n)
	}
	if code, oo := do(t, http.MethodGet, ts.URL+"/fhir/"+oldRef, "", nil); code != http.StatusGone || oo["resourceType"] != "OperationOutcome" {
		t.Fatalf("read withdrawn = %d %v", code, oo)
	}
	// withdrawn, the same registration may come back (consent given again)
	if code, _ := provide(t, ts, truth.ProvideBundle("test", "s3", ptr(b, 1))); code != 200 {
		t.Fatalf("register again = %d", code)
	}
	if n := len(find(t, ts, b, "current")); n != 1 {
		t.Fatalf("registered again: %d current", n)
	}
}

func TestTransactionIsAtomic(t *testing.T) {
	b, other := bsn(t, 402), bsn(t, 403)
	bad := ptr(b, 2)
	bad.URL = "ftp://elders/x"
	cases := []struct {
		name   string
		bundle map[string]any
	}{
		{"bad url in the second pointer", truth.ProvideBundle("test", "a1", ptr(b, 1), bad)},
		{"replaces an unknown pointer", truth.ProvideBundle("test", "a2", ptr(b, 1), func() truth.Pointer {
			p := ptr(b, 3)
			p.Replaces = "DocumentReference/nope"
			return p
		}())},
		{"invalid BSN", truth.ProvideBundle("test", "a3", ptr(b, 1), ptr("999999999", 1))},
		{"no SubmissionSet", func() map[string]any {
			bundle := truth.ProvideBundle("test", "a4", ptr(b, 1))
			bundle["entry"] = truth.Items(bundle["entry"])[1:]
			return bundle
		}()},
		{"same unique id twice", truth.ProvideBundle("test", "a5", ptr(b, 1), ptr(b, 1))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newIndex(t, "")
			code, oo := provide(t, ts, tc.bundle)
			if code != http.StatusUnprocessableEntity || oo["resourceType"] != "OperationOutcome" {
				t.Fatalf("bad bundle = %d %v", code, oo)
			}
			if n := len(find(t, ts, b, "")); n != 0 {
				t.Fatalf("%d pointers stored from a refused transaction", n)
			}
			if n := len(find(t, ts, other, "")); n != 0 {
				t.Fatalf("%d pointers of another client", n)
			}
		})
	}
}

func TestBadInputIsAnsweredClearly(t *testing.T) {
	ts := newIndex(t, "")
	b := bsn(t, 404)
	cases := []struct {
		name, method, path, contentType string
		body                            any
		want                            int
	}{
		{"not JSON", "POST", "/fhir", "application/fhir+json", "{", 400},
		{"XML", "POST", "/fhir", "application/fhir+xml", "<Bundle/>", 415},
		{"not a transaction", "POST", "/fhir", "application/fhir+json", map[string]any{"resourceType": "Bundle", "type": "batch"}, 400},
		{"too large", "POST", "/fhir", "application/fhir+json", `{"x":"` + strings.Repeat("x", maxBody) + `"}`, 413},
		{"too many entries", "POST", "/fhir", "application/fhir+json", map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": make([]any, maxEntries+1)}, 422},
		{"search without patient", "GET", "/fhir/DocumentReference?status=current", "", nil, 400},
		{"search with empty patient", "GET", "/fhir/DocumentReference?patient.identifier=", "", nil, 400},
		{"bad _count", "GET", "/fhir/DocumentReference?patient.identifier=" + b + "&_count=-1", "", nil, 400},
		{"read unknown", "GET", "/fhir/DocumentReference/nope", "", nil, 404},
		{"delete unknown", "DELETE", "/fhir/DocumentReference/nope", "", nil, 404},
		{"plain create without subject", "POST", "/fhir/DocumentReference", "application/fhir+json", map[string]any{"resourceType": "DocumentReference", "status": "current"}, 422},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, oo := do(t, tc.method, ts.URL+tc.path, tc.contentType, tc.body)
			if code != tc.want || oo["resourceType"] != "OperationOutcome" {
				t.Fatalf("%s %s = %d %v, want %d with an OperationOutcome", tc.method, tc.path, code, oo["resourceType"], tc.want)
			}
		})
	}
}

func TestSearchParametersAndPaging(t *testing.T) {
	ts := newIndex(t, "")
	b := bsn(t, 405)
	var ps []truth.Pointer
	for n := 1; n <= 5; n++ {
		ps = append(ps, ptr(b, n))
	}
	if code, resp := provide(t, ts, truth.ProvideBundle("test", "p", ps...)); code != 200 {
		t.Fatalf("provide = %d %v", code, resp)
	}
	cases := []struct {
		name  string
		query url.Values
		want  int
	}{
		{"patient.identifier without system", url.Values{"patient.identifier": {b}}, 5},
		{"another client", url.Values{"patient.identifier": {truth.BSNSystem + "|" + bsn(t, 406)}}, 0},
		{"identifier", url.Values{"patient.identifier": {b}, "identifier": {truth.URISystem + "|" + ps[2].UniqueID}}, 1},
		{"type", url.Values{"patient.identifier": {b}, "type": {truth.PointerTypeSystem + "|" + truth.PointerType}}, 5},
		{"other type", url.Values{"patient.identifier": {b}, "type": {"http://loinc.org|15508-5"}}, 0},
		{"status entered-in-error", url.Values{"patient.identifier": {b}, "status": {"entered-in-error"}}, 0},
		{"patient by reference (none of these has one)", url.Values{"patient": {"Patient/" + truth.PatientID(b)}}, 0},
		{"two clients", url.Values{"patient.identifier": {b + "," + truth.BSNSystem + "|" + bsn(t, 406)}}, 5},
		{"unknown parameter ignored", url.Values{"patient.identifier": {b}, "author.family": {"Verbeek"}}, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, bundle := do(t, "GET", ts.URL+"/fhir/DocumentReference?"+tc.query.Encode(), "", nil)
			if n := len(truth.Items(bundle["entry"])); code != 200 || n != tc.want {
				t.Fatalf("= %d with %d entries, want %d", code, n, tc.want)
			}
		})
	}
	t.Run("POST _search", func(t *testing.T) {
		code, bundle := do(t, "POST", ts.URL+"/fhir/DocumentReference/_search", "application/x-www-form-urlencoded", "patient.identifier="+b+"&status=current")
		if n := len(truth.Items(bundle["entry"])); code != 200 || n != 5 {
			t.Fatalf("= %d with %d entries", code, n)
		}
	})
	t.Run("paging", func(t *testing.T) {
		seen := 0
		u := ts.URL + "/fhir/DocumentReference?patient.identifier=" + b + "&_count=2"
		for pages := 0; u != "" && pages < 10; pages++ {
			_, bundle := do(t, "GET", u, "", nil)
			seen += len(truth.Items(bundle["entry"]))
			u = ""
			for _, l := range truth.Items(bundle["link"]) {
				if asMap(l)["relation"] == "next" {
					u = asMap(l)["url"].(string)
				}
			}
		}
		if seen != 5 {
			t.Fatalf("%d pointers over the pages, want 5", seen)
		}
	})
}

func TestPlainCreate(t *testing.T) {
	ts := newIndex(t, "")
	b := bsn(t, 407)
	code, doc := do(t, "POST", ts.URL+"/fhir/DocumentReference", "application/fhir+json", ptr(b, 1).DocumentReference())
	if code != http.StatusCreated || doc["id"] == nil {
		t.Fatalf("create = %d %v", code, doc)
	}
	if code, _ := do(t, "POST", ts.URL+"/fhir/DocumentReference", "application/fhir+json", ptr(b, 1).DocumentReference()); code != http.StatusOK {
		t.Fatalf("the same create again = %d, want 200", code)
	}
	if n := len(find(t, ts, b, "current")); n != 1 {
		t.Fatalf("%d pointers", n)
	}
}

// TestMutantsMisbehave: each mutant does what it says and declares what
// it violates (the suites prove the bench catches them).
func TestMutantsMisbehave(t *testing.T) {
	if _, err := New(Options{Defect: "nope"}); err == nil || !strings.Contains(err.Error(), "registratie-kwijt") {
		t.Fatalf("unknown defect: %v", err)
	}
	b, other := bsn(t, 408), bsn(t, 409)
	checks := map[string]func(t *testing.T, ts *httptest.Server){
		"registratie-kwijt": func(t *testing.T, ts *httptest.Server) {
			provide(t, ts, truth.ProvideBundle("test", "m", ptr(b, 1), ptr(b, 2)))
			if n := len(find(t, ts, b, "")); n != 1 {
				t.Fatalf("%d pointers kept, want 1 of 2", n)
			}
		},
		"verwijzing-blijft": func(t *testing.T, ts *httptest.Server) {
			provide(t, ts, truth.ProvideBundle("test", "m", ptr(b, 1)))
			id := find(t, ts, b, "")[0]["id"].(string)
			if code, _ := do(t, "DELETE", ts.URL+"/fhir/DocumentReference/"+id, "", nil); code != 204 || len(find(t, ts, b, "")) != 1 {
				t.Fatal("the withdrawn pointer is gone")
			}
		},
		"dubbel-geregistreerd": func(t *testing.T, ts *httptest.Server) {
			provide(t, ts, truth.ProvideBundle("test", "m", ptr(b, 1)))
			provide(t, ts, truth.ProvideBundle("test", "m", ptr(b, 1)))
			if n := len(find(t, ts, b, "")); n != 2 {
				t.Fatalf("%d pointers, want the same one twice", n)
			}
		},
		"andere-client": func(t *testing.T, ts *httptest.Server) {
			provide(t, ts, truth.ProvideBundle("test", "m1", ptr(b, 1)))
			provide(t, ts, truth.ProvideBundle("test", "m2", ptr(other, 1)))
			if n := len(find(t, ts, b, "current")); n != 2 {
				t.Fatalf("%d pointers, want hers and another's", n)
			}
		},
		"vervangen-blijft-actueel": func(t *testing.T, ts *httptest.Server) {
			_, resp := provide(t, ts, truth.ProvideBundle("test", "m1", ptr(b, 1)))
			next := ptr(b, 2)
			next.Replaces = strings.TrimSuffix(locations(t, resp)[1], "/_history/1")
			provide(t, ts, truth.ProvideBundle("test", "m2", next))
			if n := len(find(t, ts, b, "current")); n != 2 {
				t.Fatalf("%d current, want both", n)
			}
		},
		"status-genegeerd": func(t *testing.T, ts *httptest.Server) {
			provide(t, ts, truth.ProvideBundle("test", "m1", ptr(b, 1)))
			if n := len(find(t, ts, b, "superseded")); n != 1 {
				t.Fatalf("%d, want the current one for status=superseded", n)
			}
		},
		"half-toegepast": func(t *testing.T, ts *httptest.Server) {
			bad := ptr(b, 2)
			bad.URL = "nope"
			if code, _ := provide(t, ts, truth.ProvideBundle("test", "m1", ptr(b, 1), bad)); code != 422 {
				t.Fatalf("bad bundle = %d", code)
			}
			if n := len(find(t, ts, b, "")); n != 1 {
				t.Fatalf("%d kept, want the first", n)
			}
		},
		"omleiding": func(t *testing.T, ts *httptest.Server) {
			provide(t, ts, truth.ProvideBundle("test", "m1", ptr(b, 1)))
			u := attachment(find(t, ts, b, "")[0])
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if !strings.HasPrefix(u, ts.URL) || resp.StatusCode != 307 || !strings.Contains(resp.Header.Get("Location"), "elders.invalid") {
				t.Fatalf("pointer %s answered %d to %s", u, resp.StatusCode, resp.Header.Get("Location"))
			}
		},
	}
	checks["buiten-behandelrelatie"] = func(t *testing.T, ts *httptest.Server) {
		// without trust no reader is known: TestAuthorisedView proves it
		if m, _ := LookupMutant("buiten-behandelrelatie"); !m.open {
			t.Fatal("the mutant applies the authorised view")
		}
	}
	for _, name := range []string{"zoekformulier-buiten-behandelrelatie", "lezen-buiten-behandelrelatie"} {
		checks[name] = func(t *testing.T, ts *httptest.Server) {
			// without trust no reader is known: TestAuthorisedView proves it
			if m, _ := LookupMutant(name); m.leak == nil {
				t.Fatal("the mutant applies the authorised view to every form")
			}
		}
	}
	// The access-log mutants serve as the reference does and log wrongly.
	checks["herhaalde-zoekvraag-niet-gelogd"] = func(t *testing.T, ts *httptest.Server) {
		find(t, ts, b, "current")
		find(t, ts, b, "current")
		find(t, ts, other, "current")
		if n, m := len(logged(t, ts, "", b)), len(logged(t, ts, "", other)); n != 1 || m != 1 {
			t.Fatalf("%d events of two searches for her pointers, %d of one for another's; want 1 and 1", n, m)
		}
	}
	checks["zoekformulier-niet-gelogd"] = func(t *testing.T, ts *httptest.Server) {
		find(t, ts, b, "current")
		form := url.Values{"patient.identifier": {fixtures.BSNSystem + "|" + b}, "status": {"current"}}.Encode()
		if code, _ := do(t, http.MethodPost, ts.URL+"/fhir/DocumentReference/_search", "application/x-www-form-urlencoded", form); code != http.StatusOK {
			t.Fatalf("POST _search = %d", code)
		}
		if n := len(logged(t, ts, "", b)); n != 1 {
			t.Fatalf("%d events of a GET and a POST search for her pointers, want 1 (the GET)", n)
		}
	}
	checks["index-log-technisch-account"] = func(t *testing.T, ts *httptest.Server) {
		find(t, ts, b, "current")
		ev := logged(t, ts, "", b)[0]
		if who := asMap(asMap(truth.Items(ev["agent"])[0])["who"]); who["display"] != "Regionale koppeling" {
			t.Fatalf("requestor %v, want the technical account", who)
		}
	}
	checks["index-log-zonder-client"] = func(t *testing.T, ts *httptest.Server) {
		find(t, ts, b, "current")
		code, bundle := do(t, http.MethodGet, ts.URL+"/fhir/AuditEvent", "", nil)
		if code != http.StatusOK || len(truth.Items(bundle["entry"])) == 0 || namesClient(asMap(asMap(truth.Items(bundle["entry"])[0])["resource"]), b) {
			t.Fatalf("AuditEvents = %d %v, want one that does not name her", code, bundle["entry"])
		}
	}
	// The clock of newIndex stands still: the late mutants stay late
	// (TestLateMutantsAreLateForOneClient lets it run).
	checks["registratie-laat"] = func(t *testing.T, ts *httptest.Server) {
		late := clientOf("spoedsectio")
		provide(t, ts, truth.ProvideBundle("test", "m", ptr(late, 1)))
		if n := len(find(t, ts, late, "")); n != 0 {
			t.Fatalf("%d pointers of the late client found at once, want 0", n)
		}
	}
	checks["verwijzing-laat"] = func(t *testing.T, ts *httptest.Server) {
		late := clientOf("ongecompliceerd")
		provide(t, ts, truth.ProvideBundle("test", "m", ptr(late, 1)))
		found := find(t, ts, late, "")
		if len(found) != 1 || strings.Contains(fmt.Sprint(found[0]["content"]), ptr(late, 1).URL) {
			t.Fatalf("the late client's pointer leads to the publisher at once: %v", found)
		}
	}
	for _, m := range Mutants {
		t.Run(m.Name, func(t *testing.T) {
			if len(m.Violates) == 0 || m.Description == "" {
				t.Fatal("no declared violation or description")
			}
			check, ok := checks[m.Name]
			if !ok {
				t.Fatal("no check of this mutant")
			}
			check(t, newIndex(t, m.Name))
		})
	}
}

func TestHealthAndMetadata(t *testing.T) {
	ts := newIndex(t, "")
	if code, h := do(t, "GET", ts.URL+"/bench/health", "", nil); code != 200 || h["status"] != "ok" {
		t.Fatalf("health = %d %v", code, h)
	}
	if code, cs := do(t, "GET", ts.URL+"/fhir/metadata", "", nil); code != 200 || cs["fhirVersion"] != "4.0.1" {
		t.Fatalf("metadata = %d %v", code, cs)
	}
	if code, _ := do(t, "POST", ts.URL+"/bench/reset", "", nil); code != 204 {
		t.Fatalf("reset = %d", code)
	}
}

// TestLateMutantsAreLateForOneClient: registratie-laat keeps the new
// pointer of the acute referral's mother out of its searches, verwijzing-laat
// serves it pointing at the index, each for its delay after it was stored;
// every other client's pointer is served at once and as registered.
func TestLateMutantsAreLateForOneClient(t *testing.T) {
	other := bsn(t, 31)
	cases := []struct {
		defect, scenario string
		delay            time.Duration
	}{
		{"registratie-laat", "spoedsectio", RegisteredLateBy},
		{"verwijzing-laat", "ongecompliceerd", PointedLateBy},
	}
	for _, tc := range cases {
		t.Run(tc.defect, func(t *testing.T) {
			now := when
			var mu sync.Mutex
			s, err := New(Options{Defect: tc.defect, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(s)
			defer ts.Close()
			lateClient := clientOf(tc.scenario)
			for _, b := range []string{lateClient, other} {
				if status, _ := provide(t, ts, truth.ProvideBundle("test", "sub-"+b, ptr(b, 1))); status != http.StatusOK {
					t.Fatalf("registering %s: %d", b, status)
				}
			}
			served := func(b string) string {
				found := find(t, ts, b, "current")
				if len(found) == 0 {
					return "none"
				}
				u, _ := found[0]["content"].([]any)[0].(map[string]any)["attachment"].(map[string]any)["url"].(string)
				if u == ptr(b, 1).URL {
					return "publisher"
				}
				return "elsewhere"
			}
			early := map[string]string{"registratie-laat": "none", "verwijzing-laat": "elsewhere"}[tc.defect]
			for _, step := range []struct {
				at          time.Duration
				late, other string
			}{
				{0, early, "publisher"},
				{tc.delay - time.Millisecond, early, "publisher"},
				{tc.delay, "publisher", "publisher"},
			} {
				mu.Lock()
				now = when.Add(step.at)
				mu.Unlock()
				if got := served(lateClient); got != step.late {
					t.Errorf("after %v the late client's pointer: %s, want %s", step.at, got, step.late)
				}
				if got := served(other); got != step.other {
					t.Errorf("after %v another client's pointer: %s, want %s", step.at, got, step.other)
				}
			}
		})
	}
}
