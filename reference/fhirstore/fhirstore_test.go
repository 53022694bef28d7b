package fhirstore

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/bcbench/bcbench/profiles/registry"
)

var r4 = sync.OnceValues(func() (*registry.Registry, error) {
	pkgs, err := registry.Defaults("4.0.1")
	if err != nil {
		return nil, err
	}
	return registry.Load(registry.Options{FHIRVersion: "4.0.1"}, pkgs...)
})

// synthetic clients: Anna and Bea (test-range BSNs), their episodes and data.
var resources = []string{
	`{"resourceType":"Patient","id":"anna","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999912021"}],"name":[{"family":"de Vries","given":["Anna"]}]}`,
	`{"resourceType":"Patient","id":"bea","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999912033"}],"name":[{"family":"Bakker"}]}`,
	`{"resourceType":"Practitioner","id":"vk","name":[{"family":"Verloskundige"}]}`,
	`{"resourceType":"Organization","id":"praktijk","name":"Praktijk"}`,
	`{"resourceType":"PractitionerRole","id":"vk-rol","practitioner":{"reference":"Practitioner/vk"},"organization":{"reference":"Organization/praktijk"}}`,
	`{"resourceType":"EpisodeOfCare","id":"zw-anna","status":"active","patient":{"reference":"Patient/anna"},"careManager":{"reference":"Practitioner/vk"}}`,
	`{"resourceType":"Encounter","id":"consult-anna","status":"finished","subject":{"reference":"Patient/anna"},"episodeOfCare":[{"reference":"EpisodeOfCare/zw-anna"}]}`,
	`{"resourceType":"Observation","id":"gewicht-anna","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/anna"},"encounter":{"reference":"Encounter/consult-anna"},"effectiveDateTime":"2026-11-20T10:00:00+01:00"}`,
	`{"resourceType":"Observation","id":"apgar-kind","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"9272-6"}]},"subject":{"reference":"Patient/kind-van-anna"},"encounter":{"reference":"Encounter/consult-anna"},"effectiveDateTime":"2026-11-22"}`,
	`{"resourceType":"Observation","id":"gewicht-bea","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/bea"},"effectiveDateTime":"2026-11-22T00:30:00+02:00"}`,
	`{"resourceType":"MedicationRequest","id":"ma-anna","status":"active","intent":"order","subject":{"reference":"Patient/anna"},"requester":{"reference":"PractitionerRole/vk-rol"},"medicationReference":{"reference":"Medication/foliumzuur"},
	  "extension":[{"url":"http://nictiz.nl/fhir/StructureDefinition/ext-TimeInterval.Period","valuePeriod":{"start":"2026-11-01T00:00:00+01:00","extension":[{"url":"http://nictiz.nl/fhir/StructureDefinition/ext-TimeInterval.Duration","valueDuration":{"value":10,"code":"d"}}]}}]}`,
	`{"resourceType":"Medication","id":"foliumzuur","code":{"coding":[{"system":"urn:oid:2.16.840.1.113883.2.4.4.10","code":"12345"}]}}`,
}

func newStore(t *testing.T, tokens map[string]string) *httptest.Server {
	t.Helper()
	reg, err := r4()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{FHIRVersion: "4.0.1", Registry: reg, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resources {
		res, err := decode([]byte(r), "4.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Add(res); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Prefer", "return=representation")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// ids lists "mode:Type/id" of a searchset's entries.
func ids(b map[string]any) string {
	var out []string
	for _, e := range asList(b["entry"]) {
		res, _ := e["resource"].(map[string]any)
		mode := str(e["search"].(map[string]any), "mode")
		out = append(out, mode+":"+key(res))
	}
	return strings.Join(out, " ")
}

func TestSearch(t *testing.T) {
	srv := newStore(t, nil)
	tests := []struct {
		name, query string
		status      int
		want        string
	}{
		{"token with system", "/Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn%7C999912021", 200, "match:Patient/anna"},
		{"token code only", "/Observation?code=9272-6", 200, "match:Observation/apgar-kind"},
		{"token of another system matches nothing", "/Observation?code=http://snomed.info/sct%7C29463-7", 200, ""},
		{"reference", "/Observation?subject=Patient/bea", 200, "match:Observation/gewicht-bea"},
		{"reference by id alone", "/EpisodeOfCare?patient=anna", 200, "match:EpisodeOfCare/zw-anna"},
		{"comma is or", "/Observation?_id=gewicht-anna,gewicht-bea", 200, "match:Observation/gewicht-anna match:Observation/gewicht-bea"},
		{"repeated parameter is and", "/Observation?code=29463-7&subject=Patient/anna", 200, "match:Observation/gewicht-anna"},
		{"chained", "/Observation?subject.identifier=http://fhir.nl/fhir/NamingSystem/bsn%7C999912033", 200, "match:Observation/gewicht-bea"},
		{"chained with a type", "/Observation?encounter:Encounter.episode-of-care=EpisodeOfCare/zw-anna", 200, "match:Observation/apgar-kind match:Observation/gewicht-anna"},
		{"include", "/EpisodeOfCare?_include=EpisodeOfCare:care-manager", 200, "match:EpisodeOfCare/zw-anna include:Practitioner/vk"},
		{"include:iterate", "/MedicationRequest?_include=MedicationRequest:requester&_include=MedicationRequest:medication&_include:iterate=PractitionerRole:organization", 200,
			"match:MedicationRequest/ma-anna include:PractitionerRole/vk-rol include:Medication/foliumzuur include:Organization/praktijk"},
		{"date on the wall clock (22 Nov 00:30 +02:00 is 22 Nov, though 21 Nov in UTC)", "/Observation?date=2026-11-22&code=29463-7", 200, "match:Observation/gewicht-bea"},
		{"date prefix", "/Observation?date=ge2026-11-21&code=29463-7", 200, "match:Observation/gewicht-bea"},
		{"period-of-use with its duration", "/MedicationRequest?period-of-use=ge2026-11-10&period-of-use=le2026-11-10", 200, "match:MedicationRequest/ma-anna"},
		{"period-of-use after the duration ends", "/MedicationRequest?period-of-use=ge2026-11-12", 200, ""},
		{"unknown parameter", "/Observation?kleur=rood", 400, ""},
		{"revinclude is refused", "/Patient?_revinclude=Observation:subject", 400, ""},
		{"chain on a token", "/Observation?code.system=x", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, b := do(t, http.MethodGet, srv.URL+tt.query, "", "")
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, b)
			}
			if status != 200 {
				return
			}
			if got := ids(b); got != tt.want {
				t.Errorf("entries %q, want %q", got, tt.want)
			}
			if b["type"] != "searchset" || b["total"] != float64(len(asList(b["entry"]))-strings.Count(ids(b), "include:")) {
				t.Errorf("type %v total %v", b["type"], b["total"])
			}
		})
	}
}

func TestTokens(t *testing.T) {
	srv := newStore(t, map[string]string{"tok-anna": "anna", "tok-bea": "bea"})
	tests := []struct {
		name, method, path, token string
		status                    int
		want                      string
	}{
		{"no token", "GET", "/Patient", "", 401, ""},
		{"unknown token", "GET", "/Patient", "tok-x", 401, ""},
		{"her own Patient only", "GET", "/Patient", "tok-anna", 200, "match:Patient/anna"},
		{"her data and her child's in her episode", "GET", "/Observation", "tok-anna", 200, "match:Observation/apgar-kind match:Observation/gewicht-anna"},
		{"another client's data by _id", "GET", "/Observation?_id=gewicht-bea", "tok-anna", 200, ""},
		{"another client's data by chain", "GET", "/Observation?subject.identifier=999912033", "tok-anna", 200, ""},
		{"another client's data by read", "GET", "/Observation/gewicht-bea", "tok-anna", 404, ""},
		{"her own read", "GET", "/Observation/gewicht-bea", "tok-bea", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, b := do(t, tt.method, srv.URL+tt.path, tt.token, "")
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, b)
			}
			if status == 200 && b["resourceType"] == "Bundle" {
				if got := ids(b); got != tt.want {
					t.Errorf("entries %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestWrite(t *testing.T) {
	srv := newStore(t, nil)
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[
	  {"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{"resourceType":"Patient","name":[{"family":"Nieuw"}]},"request":{"method":"POST","url":"Patient"}},
	  {"fullUrl":"urn:uuid:22222222-2222-4222-8222-222222222222","resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:11111111-1111-4111-8111-111111111111"}},"request":{"method":"POST","url":"Observation"}}]}`
	status, b := do(t, http.MethodPost, srv.URL, "", tx)
	if status != 200 || b["type"] != "transaction-response" {
		t.Fatalf("status %d: %v", status, b)
	}
	entries := asList(b["entry"])
	if len(entries) != 2 {
		t.Fatalf("%d entries", len(entries))
	}
	obs, _ := entries[1]["resource"].(map[string]any)
	ref := str(obs["subject"].(map[string]any), "reference")
	pat, _ := entries[0]["resource"].(map[string]any)
	if ref != "Patient/"+str(pat, "id") {
		t.Errorf("the urn:uuid reference became %q, the patient is %s", ref, key(pat))
	}
	if status, _ := do(t, http.MethodGet, srv.URL+"/"+ref, "", ""); status != 200 {
		t.Errorf("read %s: %d", ref, status)
	}
	bad := []struct{ name, method, path, body string }{
		{"a non-Bundle to the base", http.MethodPost, "/", `{"resourceType":"Patient"}`},
		{"a searchset to the base", http.MethodPost, "/", `{"resourceType":"Bundle","type":"searchset"}`},
		{"not JSON", http.MethodPost, "/Patient", `<<<`},
		{"a body of another type", http.MethodPost, "/Patient", `{"resourceType":"Observation"}`},
		{"id differs from the URL", http.MethodPut, "/Patient/anna", `{"resourceType":"Patient","id":"bea"}`},
		{"a body over the limit", http.MethodPost, "/Patient", `{"resourceType":"Patient","text":"` + string(bytes.Repeat([]byte("a"), MaxBody)) + `"}`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if status, b := do(t, tt.method, srv.URL+tt.path, "", tt.body); status != 400 || b["resourceType"] != "OperationOutcome" {
				t.Errorf("status %d: %v", status, b)
			}
		})
	}
	if status, _ := do(t, http.MethodDelete, srv.URL+"/Observation/gewicht-bea", "", ""); status != 204 {
		t.Errorf("delete: %d", status)
	}
	if status, _ := do(t, http.MethodGet, srv.URL+"/Observation/gewicht-bea", "", ""); status != 404 {
		t.Errorf("read after delete: %d", status)
	}
}
