package xis

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bcbench/bcbench/profiles/registry"
	"github.com/bcbench/bcbench/profiles/validator"
	"github.com/bcbench/bcbench/reference/fhirstore"
	bearer "github.com/bcbench/bcbench/token"
)

var r4 = sync.OnceValues(func() (*registry.Registry, error) {
	pkgs, err := registry.Defaults("4.0.1")
	if err != nil {
		return nil, err
	}
	return registry.Load(registry.Options{FHIRVersion: "4.0.1"}, pkgs...)
})

// loadedResources are a synthetic client (test-range BSN) with an MP9
// medication agreement whose period of use is 1–10 November 2026, as a
// vendor or Nictiz's _reference fixtures would load them.
var loadedResources = []string{
	`{"resourceType":"Patient","id":"anna","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999912021"}],"name":[{"family":"de Vries"}]}`,
	`{"resourceType":"Patient","id":"bea","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999912033"}],"name":[{"family":"Bakker"}]}`,
	`{"resourceType":"Medication","id":"foliumzuur","code":{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.4.10","code":"12345"}]}}`,
	`{"resourceType":"MedicationRequest","id":"ma-anna","status":"active","intent":"order","subject":{"reference":"Patient/anna"},"medicationReference":{"reference":"Medication/foliumzuur"},
	  "extension":[{"url":"http://nictiz.nl/fhir/StructureDefinition/ext-TimeInterval.Period","valuePeriod":{"start":"2026-11-01T00:00:00+01:00","extension":[{"url":"http://nictiz.nl/fhir/StructureDefinition/ext-TimeInterval.Duration","valueDuration":{"value":10,"code":"d"}}]}}]}`,
}

func loadedStore(t *testing.T, prefix string) *fhirstore.Server {
	t.Helper()
	reg, err := r4()
	if err != nil {
		t.Fatal(err)
	}
	st, err := fhirstore.New(fhirstore.Options{FHIRVersion: "4.0.1", Registry: reg, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range loadedResources {
		res, err := validator.DecodeVersion([]byte(raw), "4.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Add(res); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// newLoadedServer serves a reference XIS loaded with loadedResources.
func newLoadedServer(t *testing.T) *httptest.Server {
	t.Helper()
	s, err := New(Options{Resources: loadedStore(t, Prefix)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

func TestLoadedRefusesOptions(t *testing.T) {
	cases := []struct {
		name string
		opts func(*Options)
		want string
	}{
		{"defect", func(o *Options) { o.Defect = MutantNames()[0] }, "without a defect"},
		{"variant", func(o *Options) { o.Variant = Variants[0].Name }, "without a defect or variant"},
		{"index", func(o *Options) { o.Index = "http://127.0.0.1:1/fhir" }, "index"},
		{"trust", func(o *Options) { o.Trust = &bearer.Verifier{} }, "care relationships"},
		{"store at the root", func(o *Options) { o.Resources = loadedStore(t, "") }, `mounted under ""`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := Options{Resources: loadedStore(t, Prefix)}
			c.opts(&o)
			_, err := New(o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, want an error about %q", err, c.want)
			}
		})
	}
}

// TestLoaded: a reference XIS loaded with resources serves them through
// its own FHIR API (MP9 searches included), takes the writes the MP9
// Receiving scripts send, logs every read and search, and refuses adapter
// events; without resources it takes no FHIR writes.
func TestLoaded(t *testing.T) {
	ts := newLoadedServer(t)
	plain := newTestServer(t, "")

	transaction := `{"resourceType":"Bundle","type":"transaction","entry":[
	  {"fullUrl":"urn:uuid:5e0c1b7e-0c2f-4b7a-9a57-2d3c1b0f0a01","resource":{"resourceType":"MedicationDispense","status":"completed","subject":{"reference":"Patient/bea"}},"request":{"method":"POST","url":"MedicationDispense"}}]}`
	cases := []struct {
		name, method, path, body string
		server                   *httptest.Server
		status                   int
		want                     []string // in the answer
	}{
		{"read a loaded patient", "GET", "/fhir/Patient/anna", "", ts, 200, []string{`"family":"de Vries"`}},
		{"read what was not loaded", "GET", "/fhir/Patient/nobody", "", ts, 404, []string{"OperationOutcome"}},
		{"chained search with _include", "GET", "/fhir/MedicationRequest?patient.identifier=http://fhir.nl/fhir/NamingSystem/bsn|999912021&_include=MedicationRequest:medication", "", ts, 200,
			[]string{`"total":1`, ts.URL + `/fhir/MedicationRequest/ma-anna`, ts.URL + `/fhir/Medication/foliumzuur`, `"mode":"include"`, `"url":"` + ts.URL + `/fhir/MedicationRequest?`}},
		{"chained search for another client", "GET", "/fhir/MedicationRequest?patient.identifier=http://fhir.nl/fhir/NamingSystem/bsn|999912033", "", ts, 200, []string{`"total":0`}},
		{"period-of-use within the duration", "GET", "/fhir/MedicationRequest?period-of-use=ge2026-11-10", "", ts, 200, []string{`"total":1`}},
		{"period-of-use after the duration", "GET", "/fhir/MedicationRequest?period-of-use=ge2026-11-12", "", ts, 200, []string{`"total":0`}},
		{"transaction", "POST", "/fhir", transaction, ts, 200, []string{`"transaction-response"`, `"201 Created"`, ts.URL + `/fhir/MedicationDispense/`}},
		{"what the transaction stored", "GET", "/fhir/MedicationDispense?patient=Patient/bea", "", ts, 200, []string{`"total":1`}},
		{"update", "PUT", "/fhir/Patient/bea", `{"resourceType":"Patient","id":"bea","name":[{"family":"Bakker-Jansen"}]}`, ts, 200, []string{`Bakker-Jansen`}},
		{"delete", "DELETE", "/fhir/Medication/foliumzuur", "", ts, 204, nil},
		{"read what was deleted", "GET", "/fhir/Medication/foliumzuur", "", ts, 404, nil},
		{"metadata names the writes", "GET", "/fhir/metadata", "", ts, 200, []string{`"code":"transaction"`, `"code":"create"`, `"type":"MedicationDispense"`}},
		{"adapter events refused", "POST", "/bench/events", `{"event":"x","client":{"bsn":"999912021"}}`, ts, 409, []string{"takes no adapter events"}},
		{"the read of her record logged", "GET", "/fhir/AuditEvent?patient=Patient/anna", "", ts, 200, []string{`"what":{"reference":"Patient/anna"}`, `"action":"R"`}},
		{"no transaction without loaded resources", "POST", "/fhir", transaction, plain, 404, nil},
		{"no updates without loaded resources", "PUT", "/fhir/Patient/bea", `{"resourceType":"Patient","id":"bea"}`, plain, 405, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, c.server.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/fhir+json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			body := string(data)
			if resp.StatusCode != c.status {
				t.Fatalf("%s %s = %d, want %d: %.300s", c.method, c.path, resp.StatusCode, c.status, body)
			}
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s %s: %q not in %.600s", c.method, c.path, w, body)
				}
			}
		})
	}
}

// TestLoadedAudit: a search of loaded resources is logged with its query.
func TestLoadedAudit(t *testing.T) {
	ts := newLoadedServer(t)
	if code, _ := get(t, ts, "/fhir/MedicationRequest?patient=Patient/anna&period-of-use=ge2026-11-10"); code != 200 {
		t.Fatalf("search = %d", code)
	}
	_, b := get(t, ts, "/fhir/AuditEvent?patient=Patient/anna")
	var queries []string
	for _, e := range asList(b["entry"]) {
		ev, _ := e.(map[string]any)["resource"].(map[string]any)
		for _, ent := range asList(ev["entity"]) {
			if q, ok := ent.(map[string]any)["query"].(string); ok {
				dec, _ := base64.StdEncoding.DecodeString(q)
				queries = append(queries, string(dec))
			}
		}
	}
	if !slices.ContainsFunc(queries, func(q string) bool { return strings.Contains(q, "period-of-use=ge2026-11-10") }) {
		t.Fatalf("the search is not logged with its query: %q", queries)
	}
}
