package othervis

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// post registers one event and returns the status.
func post(t *testing.T, h http.Handler, body string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/bench/events", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	return rec.Code
}

// get fetches a FHIR URL (path and query) on host xis.test and decodes the JSON answer.
func get(t *testing.T, h http.Handler, target string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Host = "xis.test"
	h.ServeHTTP(rec, req)
	var out map[string]any
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("GET %s: not JSON: %v: %s", target, err, rec.Body.String())
		}
	}
	return rec.Code, out
}

const consentGiven = `{"scenario":"s","event":"e00","kind":"toestemming","time":"2026-03-06T10:10:00+01:00",
 "client":{"id":"anna","bsn":"999900018","given":"Anna","family":"de Vries","birthDate":"1990-01-02","gender":"female"},
 "author":{"id":"vp","kind":"verloskundigenpraktijk","name":"Praktijk","agb":"99990011","ura":"99990101",
  "professional":{"name":"Ans Smit","uzi":"999900011","agb":"99991011","role":"verloskundige"}},"consent":true}`

const consentWithdrawn = `{"scenario":"s","event":"e05","kind":"toestemming","time":"2026-05-06T10:10:00+02:00",
 "client":{"id":"anna","bsn":"999900018"},"author":{"id":"vp","name":"Praktijk"},"consent":false}`

const deletion = `{"scenario":"s","event":"e06","kind":"vernietiging","time":"2026-05-07T10:10:00+02:00",
 "client":{"id":"anna","bsn":"999900018"},"author":{"id":"vp","name":"Praktijk"}}`

const intake = `{"scenario":"s","event":"e01","kind":"intake","time":"2026-03-06T10:15:00+01:00",
 "client":{"id":"anna","bsn":"999900018","given":"Anna","family":"de Vries","birthDate":"1990-01-02","gender":"female"},
 "author":{"id":"vp","kind":"verloskundigenpraktijk","name":"Praktijk","agb":"99990011","ura":"99990101",
  "professional":{"name":"Ans Smit","uzi":"999900011","agb":"99991011","role":"verloskundige"}},
 "facts":[
  {"key":"weight","name":"Lichaamsgewicht","code":{"system":"http://loinc.org","code":"29463-7"},"value":{"quantity":{"value":"71.0","unit":"kg"}},
   "resourceType":"Observation","profile":"http://nictiz.nl/fhir/StructureDefinition/nl-core-BodyWeight"},
  {"key":"gravidity","name":"Graviditeit","code":{"system":"http://snomed.info/sct","code":"161732006"},"value":{"integer":1},
   "resourceType":"Observation","profile":"http://nictiz.nl/fhir/StructureDefinition/nl-core-Pregnancy.Gravidity"},
  {"key":"parity","name":"Pariteit","code":{"system":"http://snomed.info/sct","code":"364325004"},"value":{"integer":0},
   "resourceType":"Observation","profile":"http://nictiz.nl/fhir/StructureDefinition/nl-core-Pregnancy.Parity"},
  {"key":"ma","name":"MedicatieAfspraak","code":{"system":"http://snomed.info/sct","code":"33633005"},"value":{},
   "medication":{"block":"MedicatieAfspraak","id":"MA-1","treatment":"MBH-1","product":{"system":"http://www.whocc.no/atc","code":"B03AA02","display":"FERRO"},
    "dose":{"value":"1","unit":"stuk"},"frequency":1,"period":"d","start":"2026-03-06","end":"2026-03-06"},
   "resourceType":"MedicationRequest","profile":"http://nictiz.nl/fhir/StructureDefinition/mp-MedicationAgreement"}]}`

func TestAdapterRefusesBadInput(t *testing.T) {
	h := New(Options{})
	cases := []struct {
		name string
		body string
		want int
	}{
		{"not JSON", `{"event":`, http.StatusBadRequest},
		{"no event id", `{"kind":"intake","time":"2026-03-06T10:15:00+01:00","client":{"id":"a"}}`, http.StatusBadRequest},
		{"time not RFC 3339", `{"event":"e","kind":"intake","time":"6 maart","client":{"id":"a"}}`, http.StatusBadRequest},
		{"quantity value not a number", `{"event":"e","kind":"intake","time":"2026-03-06T10:15:00+01:00","client":{"id":"a"},
			"facts":[{"key":"w","code":{"code":"1"},"value":{"quantity":{"value":"veel","unit":"kg"}}}]}`, http.StatusBadRequest},
		{"body over 1 MiB", `{"event":"` + strings.Repeat("x", maxBody) + `"}`, http.StatusRequestEntityTooLarge},
		{"a good intake", intake, http.StatusCreated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := post(t, h, c.body); got != c.want {
				t.Errorf("status %d, want %d", got, c.want)
			}
		})
	}
}

func TestPublishesInstantsAndReferencesAsConfigured(t *testing.T) {
	cases := []struct {
		name          string
		opt           Options
		wantEffective string
		wantSubject   string // prefix
		wantStart     string
	}{
		{"UTC and absolute", Options{UTC: true, Absolute: true}, "2026-03-06T09:15:00Z", "http://xis.test/fhir/Patient/pa-", "2026-03-05T23:00:00Z"},
		{"Amsterdam offset and relative", Options{}, "2026-03-06T10:15:00+01:00", "Patient/pa-", "2026-03-06T00:00:00+01:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := New(c.opt)
			for _, body := range []string{consentGiven, intake} {
				if got := post(t, h, body); got != http.StatusCreated {
					t.Fatalf("register: status %d", got)
				}
			}
			code, b := get(t, h, "/fhir/Patient?identifier="+url.QueryEscape(nsBSN+"|999900018"))
			if code != 200 || b["total"] != float64(1) {
				t.Fatalf("Patient by BSN: status %d, total %v", code, b["total"])
			}
			pid := b["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)["id"].(string)
			_, obs := get(t, h, "/fhir/Observation?code="+url.QueryEscape("http://loinc.org|29463-7")+"&patient=Patient/"+pid)
			if obs["total"] != float64(1) {
				t.Fatalf("body weight of Anna: total %v", obs["total"])
			}
			o := obs["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
			if got := o["effectiveDateTime"]; got != c.wantEffective {
				t.Errorf("effectiveDateTime %v, want %s", got, c.wantEffective)
			}
			if got := o["subject"].(map[string]any)["reference"].(string); !strings.HasPrefix(got, c.wantSubject) {
				t.Errorf("subject %s, want prefix %s", got, c.wantSubject)
			}
			if got := o["valueQuantity"].(map[string]any)["value"]; got != 71.0 {
				t.Errorf("weight %v, want 71.0", got)
			}
			_, mr := get(t, h, "/fhir/MedicationRequest?patient="+pid)
			if mr["total"] != float64(1) {
				t.Fatalf("agreements of Anna: total %v", mr["total"])
			}
			ma := mr["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
			var start string
			for _, e := range ma["extension"].([]any) {
				if x := e.(map[string]any); strings.HasSuffix(x["url"].(string), "ext-TimeInterval.Period") {
					start = x["valuePeriod"].(map[string]any)["start"].(string)
				}
			}
			if start != c.wantStart {
				t.Errorf("period of use starts %q, want %q (local midnight)", start, c.wantStart)
			}
			dose := ma["dosageInstruction"].([]any)[0].(map[string]any)["doseAndRate"].([]any)[0].(map[string]any)["doseQuantity"].(map[string]any)
			if dose["code"] != "1" || dose["system"] != ucum {
				t.Errorf("dose unit %v|%v, want UCUM 1 for stuk", dose["system"], dose["code"])
			}
		})
	}
}

func TestSearchPagesFollowToEveryMatchOnce(t *testing.T) {
	h := New(Options{PageSize: 2, Absolute: true})
	post(t, h, consentGiven)
	post(t, h, intake)
	_, first := get(t, h, "/fhir/Observation")
	total := int(first["total"].(float64))
	if total != 3 {
		t.Fatalf("total %d, want 3 observations", total)
	}
	seen := map[string]bool{}
	page := first
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		for _, e := range list(page["entry"]) {
			u := e.(map[string]any)["fullUrl"].(string)
			if seen[u] {
				t.Errorf("%s served twice", u)
			}
			seen[u] = true
		}
		next := ""
		for _, l := range list(page["link"]) {
			if m := l.(map[string]any); m["relation"] == "next" {
				next = m["url"].(string)
			}
		}
		if next == "" {
			break
		}
		u, err := url.Parse(next)
		if err != nil || u.Host != "xis.test" {
			t.Fatalf("next link %q not on the request's base", next)
		}
		_, page = get(t, h, u.RequestURI())
	}
	if len(seen) != total {
		t.Errorf("followed pages hold %d resources, total says %d", len(seen), total)
	}
}

func TestConsentAndDeletionDecideWhatIsShared(t *testing.T) {
	h := New(Options{})
	post(t, h, intake) // before any consent: opt-in, nothing shared
	count := func() int {
		_, b := get(t, h, "/fhir/Observation?code="+url.QueryEscape("http://loinc.org|29463-7"))
		return int(b["total"].(float64))
	}
	if n := count(); n != 0 {
		t.Fatalf("before consent %d observations shared, want 0", n)
	}
	post(t, h, consentGiven)
	if n := count(); n != 1 {
		t.Fatalf("after consent %d observations shared, want 1", n)
	}
	_, b := get(t, h, "/fhir/Observation?code="+url.QueryEscape("http://loinc.org|29463-7"))
	id := b["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)["id"].(string)
	post(t, h, consentWithdrawn)
	if n := count(); n != 0 {
		t.Errorf("after withdrawal %d observations shared, want 0", n)
	}
	if code, _ := get(t, h, "/fhir/Observation/"+id); code != http.StatusNotFound {
		t.Errorf("read after withdrawal: status %d, want 404", code)
	}
	if code, _ := get(t, h, "/fhir/Patient?identifier=999900018"); code != 200 {
		t.Errorf("Patient search after withdrawal: status %d", code)
	}
	post(t, h, consentGiven)
	post(t, h, deletion)
	if code, _ := get(t, h, "/fhir/Observation/"+id); code != http.StatusGone {
		t.Errorf("read after deletion: status %d, want 410", code)
	}
	if _, p := get(t, h, "/fhir/Patient?identifier=999900018"); p["total"] != float64(0) {
		t.Errorf("Patient found after deletion: total %v", p["total"])
	}
}
