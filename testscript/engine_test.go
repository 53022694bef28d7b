package testscript_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/profiles/validator"
	"github.com/bcbench/bcbench/reference/fhirstore"
	"github.com/bcbench/bcbench/testscript"
)

// ownServer serves testdata/reference (Anna, a synthetic client with a
// test-range BSN, and her weight) from a fresh in-memory FHIR store.
func ownServer(t *testing.T) *httptest.Server {
	t.Helper()
	vxs, err := validators()
	if err != nil {
		t.Fatal(err)
	}
	vx := vxs[testscript.R4]
	s, err := fhirstore.New(fhirstore.Options{FHIRVersion: testscript.R4, Registry: vx.Registry(), Model: vx.Model()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadDir("testdata/reference", nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func runOwn(t *testing.T, srv *httptest.Server, path string) *testscript.Result {
	t.Helper()
	vxs, err := validators()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return testscript.RunFile(ctx, path, testscript.R4, testscript.Options{Server: srv.URL, Validators: vxs})
}

// TestOwnScripts runs the scripts we wrote: the one that must pass passes
// every assert; each that must fail fails on exactly the assert that
// describes the defect (a wrong status, a missing element, a wrong count).
func TestOwnScripts(t *testing.T) {
	srv := ownServer(t)
	tests := []struct {
		name       string
		script     string
		fail       int
		warning    int
		skip       int
		failsOn    string // description of the assert that must fail
		skipReason string
	}{
		{name: "a good exchange passes", script: "pass/anna-lezen-en-schrijven.json"},
		{name: "a wrong status fails and stops the test", script: "fail/verkeerde-status.json", fail: 1, skip: 1,
			failsOn: "het lezen lukt (onwaar: de server zegt 404)", skipReason: "stopTestOnFail"},
		{name: "a missing element fails", script: "fail/ontbrekend-element.json", fail: 1, failsOn: "Anna heeft een telefoonnummer (onwaar)"},
		{name: "a wrong count fails; a warning-only assert warns", script: "fail/verkeerd-aantal.json", fail: 1, warning: 1,
			failsOn: "er zijn twee gewichten (onwaar: één)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runOwn(t, srv, filepath.Join("testdata/scripts", tt.script))
			if res.Err != nil {
				t.Fatalf("the script did not run: %v", res.Err)
			}
			c := res.Asserts()
			if c.Fail != tt.fail || c.Warning != tt.warning || c.Skip != tt.skip || c.Error != 0 || (tt.fail == 0 && c.Pass == 0) {
				t.Errorf("asserts %+v, want fail %d, warning %d, skip %d, no error\n%s", c, tt.fail, tt.warning, tt.skip, outcomes(res))
			}
			if res.Failed() != (tt.fail > 0) {
				t.Errorf("Failed() = %v", res.Failed())
			}
			for _, o := range res.Outcomes {
				switch o.Status {
				case testscript.Fail:
					if o.Description != tt.failsOn {
						t.Errorf("assert %q failed (%s), only %q should", o.Description, o.Message, tt.failsOn)
					}
				case testscript.Skip:
					if !strings.Contains(o.Message, tt.skipReason) || tt.skipReason == "" {
						t.Errorf("assert %q skipped: %s", o.Description, o.Message)
					}
				}
			}
			rep := res.Report("bcbench test")
			want := map[bool]string{true: "fail", false: "pass"}[tt.fail > 0]
			if rep["result"] != want || rep["resourceType"] != "TestReport" {
				t.Errorf("TestReport result %v, want %s", rep["result"], want)
			}
			validReport(t, rep)
		})
	}
}

// TestHostileScripts: a malformed or hostile script ends with a clear
// error for that script, in bounded time, and judges nothing as pass.
func TestHostileScripts(t *testing.T) {
	srv := ownServer(t)
	dir := t.TempDir()
	big := filepath.Join(dir, "groot.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil { // a sparse 1 GB fixture
		t.Fatal(err)
	}
	f.Close()
	copyFile(t, "testdata/scripts/bad/grote-fixture.json", filepath.Join(dir, "grote-fixture.json"))
	if err := os.WriteFile(filepath.Join(dir, "kapot.xml"), []byte("<TestScript xmlns=\"http://hl7.org/fhir\"><id value=\"x\"/>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "geen-script.json"), []byte(`{"resourceType":"Patient","id":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, wantErr string
	}{
		{"unknown operation", "testdata/scripts/bad/onbekende-operatie.json", `unknown operation "frobnicate"`},
		{"endless variable expansion", "testdata/scripts/bad/eindeloze-variabele.json", "levels deep"},
		{"a fixture of 1 GB", filepath.Join(dir, "grote-fixture.json"), "more than the limit"},
		{"malformed XML", filepath.Join(dir, "kapot.xml"), "load test script"},
		{"not a TestScript", filepath.Join(dir, "geen-script.json"), `not a TestScript but "Patient"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			res := runOwn(t, srv, tt.path)
			if res.Err == nil || !strings.Contains(res.Err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", res.Err, tt.wantErr)
			}
			if c := res.Asserts(); c.Pass > 0 {
				t.Errorf("%d asserts passed in a script that could not run", c.Pass)
			}
			rep := res.Report("bcbench test")
			if rep["result"] == "pass" || rep["status"] != "entered-in-error" {
				t.Errorf("TestReport result %v status %v", rep["result"], rep["status"])
			}
			validReport(t, rep)
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

// TestClientRoleWithoutStandIn: a script whose origin is the system under
// test is skipped with the reason when no client plays it, never passed.
func TestClientRoleWithoutStandIn(t *testing.T) {
	needCorpus(t)
	path := filepath.Join(corpus, "R4/MP9-3-0-0-beta/MO/Cert/Step-3/MA/Sending-MGS-MA/mp9-c-sen-mg-MA-01-x.xml")
	res := testscript.RunFile(context.Background(), path, "", testscript.Options{Server: "http://127.0.0.1:1"})
	c := res.Asserts()
	if res.Err != nil || c.Skip == 0 || c.Skip != c.Total() {
		t.Fatalf("err %v, asserts %+v: want all skipped", res.Err, c)
	}
	if !strings.Contains(res.Outcomes[0].Message, "client-role script") {
		t.Errorf("reason %q", res.Outcomes[0].Message)
	}
}

// validReport checks a TestReport against the base TestReport of R4 and STU3.
func validReport(t *testing.T, rep map[string]any) {
	t.Helper()
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatalf("TestReport does not marshal: %v", err)
	}
	vxs, err := validators()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{testscript.R4, testscript.STU3} {
		out := vxs[v].Validate(context.Background(), data, validator.Request{Profiles: []string{"http://hl7.org/fhir/StructureDefinition/TestReport"}})
		if out.HasErrors() {
			t.Errorf("the TestReport is no valid FHIR %s TestReport:\n%s", v, out.Text())
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func outcomes(res *testscript.Result) string {
	var b strings.Builder
	for _, o := range res.Outcomes {
		b.WriteString(string(o.Status) + " " + o.Test + " | " + o.Description + " | " + o.Message + "\n")
	}
	return b.String()
}

// TestServerThatHangs: a server that never answers costs one request
// timeout; the operation is an error, its asserts are skipped, nothing
// passes, and the TestReport is pending (not judged), never pass.
func TestServerThatHangs(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	res := testscript.RunFile(context.Background(), "testdata/scripts/fail/verkeerd-aantal.json", testscript.R4, testscript.Options{
		Server: srv.URL,
		Client: &http.Client{Timeout: 300 * time.Millisecond},
	})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
	if len(res.Outcomes) == 0 || res.Outcomes[0].Status != testscript.Error {
		t.Fatalf("outcomes:\n%s", outcomes(res))
	}
	if c := res.Asserts(); c.Pass+c.Fail != 0 || c.Skip != c.Total() {
		t.Errorf("asserts %+v, want all skipped", c)
	}
	if rep := res.Report("bcbench test"); rep["result"] != "pending" {
		t.Errorf("TestReport result %v", rep["result"])
	}
}

// TestOperationErrorsAreJudgedByWhoseFaultTheyAre: an operation the
// system's answer broke (a create answered with garbage, so the read of
// what it created has no id to read) fails, as an assert would, and the
// TestReport fails; an operation the bench could not carry out (no answer
// at all) is an error, its asserts skipped, and the TestReport pending;
// neither passes.
func TestOperationErrorsAreJudgedByWhoseFaultTheyAre(t *testing.T) {
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("<html>geen FHIR</html>"))
	}))
	defer garbage.Close()
	// located answers a create with 201, an empty body and (when loc) the
	// new Patient's Location, and a read of Patient/p1 with her
	located := func(loc bool) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/fhir+json")
			switch {
			case r.Method == http.MethodPost && loc:
				w.Header().Set("Location", "http://"+r.Host+"/Patient/p1/_history/1")
				w.WriteHeader(http.StatusCreated)
			case r.Method == http.MethodPost:
				w.WriteHeader(http.StatusCreated)
			case r.URL.Path == "/Patient/p1":
				_, _ = w.Write([]byte(`{"resourceType":"Patient","id":"p1"}`))
			default:
				w.WriteHeader(http.StatusNotFound)
			}
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // nobody listens: the request cannot be sent
	cases := []struct {
		name       string
		server     string
		operation  testscript.Status // of the read
		result     string            // of the TestReport
		pass, fail int
	}{
		{"the candidate answered garbage", garbage.URL, testscript.Fail, "fail", 0, 1},
		{"an empty body without Location", located(false), testscript.Fail, "fail", 0, 1},
		{"an empty body with the new resource's Location", located(true), testscript.Pass, "pass", 1, 0},
		{"no answer at all (the bench's or the setup's problem)", gone.URL, "", "pending", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := testscript.RunFile(context.Background(), "testdata/scripts/fail/antwoord-zonder-id.json", testscript.R4,
				testscript.Options{Server: tc.server, Client: &http.Client{Timeout: 5 * time.Second}})
			if res.Err != nil {
				t.Fatalf("the script did not run: %v", res.Err)
			}
			var ops []testscript.Status
			for _, o := range res.Outcomes {
				if o.Kind == "operation" {
					ops = append(ops, o.Status)
				}
			}
			c := res.Asserts()
			if c.Pass != tc.pass || c.Fail != tc.fail || res.Failed() != (tc.fail > 0) {
				t.Errorf("asserts %+v, want %d passed and %d failed\n%s", c, tc.pass, tc.fail, outcomes(res))
			}
			if tc.operation != "" && (len(ops) != 2 || ops[1] != tc.operation) {
				t.Errorf("operations %v, want the read %s\n%s", ops, tc.operation, outcomes(res))
			}
			if tc.operation == "" && (len(ops) == 0 || ops[0] != testscript.Error) {
				t.Errorf("operations %v, want the create an error\n%s", ops, outcomes(res))
			}
			if rep := res.Report("bcbench test"); rep["result"] != tc.result {
				t.Errorf("TestReport result %v, want %s", rep["result"], tc.result)
			}
		})
	}
}
