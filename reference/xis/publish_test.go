package xis

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/reference/index"
)

// pointers returns a client's pointers at the index with the given status.
func pointers(t *testing.T, idx *httptest.Server, bsn, status string) []map[string]any {
	t.Helper()
	q := url.Values{"patient.identifier": {truth.BSNSystem + "|" + bsn}, "status": {status}}
	code, b := getURL(t, idx.URL+"/fhir/DocumentReference?"+q.Encode())
	if code != 200 {
		t.Fatalf("index search = %d %v", code, b)
	}
	var out []map[string]any
	for _, e := range asList(b["entry"]) {
		out = append(out, e.(map[string]any)["resource"].(map[string]any))
	}
	return out
}

func getURL(t *testing.T, u string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("GET %s: not JSON: %v", u, err)
	}
	return resp.StatusCode, v
}

func withIndex(t *testing.T, logf func(string, ...any)) (*httptest.Server, *httptest.Server) {
	t.Helper()
	ix, err := index.New(index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	idx := httptest.NewServer(ix)
	t.Cleanup(idx.Close)
	s, err := New(Options{Index: idx.URL + "/fhir", Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts, idx
}

// TestRegistersInTheIndex: after the replay the index holds one current
// pointer per client (and child) to her Patient at the XIS, every earlier
// one superseded; withdrawn consent and deletion withdraw the pointers.
func TestRegistersInTheIndex(t *testing.T) {
	ts, idx := withIndex(t, func(f string, a ...any) { t.Errorf("unexpected index problem: "+f, a...) })
	first := replay(t, ts, "overdracht-jgz")
	cur := pointers(t, idx, first.Client.BSN, "current")
	if len(cur) != 1 {
		t.Fatalf("%d current pointers for the mother, want 1", len(cur))
	}
	want := ts.URL + "/fhir/Patient/" + truth.PatientID(first.Client.BSN)
	att := cur[0]["content"].([]any)[0].(map[string]any)["attachment"].(map[string]any)
	if att["url"] != want {
		t.Fatalf("pointer url %v, want %s", att["url"], want)
	}
	if code, p := get(t, ts, strings.TrimPrefix(want, ts.URL)); code != 200 || p["resourceType"] != "Patient" {
		t.Fatalf("following the pointer: %d %v", code, p["resourceType"])
	}
	if n := len(pointers(t, idx, first.Client.BSN, "superseded")); n == 0 {
		t.Fatal("no superseded pointer: updates do not replace")
	}
	s, _ := fixtures.Lookup("overdracht-jgz")
	for _, kid := range s.Children {
		if n := len(pointers(t, idx, kid.BSN, "current")); n != 1 {
			t.Fatalf("%d current pointers for child %s, want 1", n, kid.ID)
		}
	}
	for _, id := range []string{"toestemming-ingetrokken", "vernietiging"} {
		c := replay(t, ts, id)
		if n := len(pointers(t, idx, c.Client.BSN, "current,superseded")); n != 0 {
			t.Errorf("%s: %d pointers left after the client stopped sharing", id, n)
		}
	}
}

// TestDeadIndexIsLoggedNotFatal: an index that does not answer costs a
// logged line per event; every event is still registered.
func TestDeadIndexIsLoggedNotFatal(t *testing.T) {
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(dead.Close)
	var mu sync.Mutex
	var lines []string
	s, err := New(Options{Index: dead.URL + "/fhir", Logf: func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprintf(f, a...))
	}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	first := replay(t, ts, "ongecompliceerd") // fails the test on any event not 201
	mu.Lock()
	defer mu.Unlock()
	if len(lines) == 0 || !strings.Contains(lines[0], "503") || strings.Contains(lines[0], first.Client.BSN) {
		t.Fatalf("log lines %q: want the index's answer, never the BSN", lines)
	}
}

func TestIndexOptionMustBeAnURL(t *testing.T) {
	for _, bad := range []string{"index", "ftp://x/fhir", "http://"} {
		if _, err := New(Options{Index: bad}); err == nil {
			t.Errorf("Index %q accepted", bad)
		}
	}
}
