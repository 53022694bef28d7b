package translator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
)

// TestRegistrationReadsBackWhatTheADACarries: for every event of the
// golden scenarios and a generated population, the registration read back
// from its ADA holds exactly the facts the ADA carries (every fact but
// those truth.ADASkipped names, and medication, which the ADA names by
// product name and dosage text only), with the same code, value, unit
// and date, the same client, child and author, at the same time.
func TestRegistrationReadsBackWhatTheADACarries(t *testing.T) {
	for _, s := range append(fixtures.Golden(), fixtures.Generate(1, 60)...) {
		regs, err := s.Registrations(fixtures.DefaultReference)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range regs {
			t.Run(s.ID+"/"+want.Event, func(t *testing.T) {
				ada, err := truth.ADA(want)
				if err != nil {
					t.Fatal(err)
				}
				tx, err := Parse(bytes.NewReader(ada))
				if err != nil {
					t.Fatal(err)
				}
				got, err := registration(tx, ada)
				if err != nil {
					t.Fatalf("%v\n%s", err, ada)
				}
				if !got.Time.Equal(want.Time) || got.Client.BSN != want.Client.BSN || got.Author.URA != want.Author.URA || got.Author.Professional.Name != want.Author.Professional.Name {
					t.Errorf("time %v client %s author %+v, want %v %s %+v", got.Time, got.Client.BSN, got.Author, want.Time, want.Client.BSN, want.Author)
				}
				if (got.Subject == nil) != (want.Subject == nil) || (got.Subject != nil && got.Subject.BSN != want.Subject.BSN) {
					t.Errorf("subject %+v, want %+v", got.Subject, want.Subject)
				}
				skipped := truth.ADASkipped(want)
				var expect []string
				for _, f := range want.Facts {
					if !slices.Contains(skipped, f.Key) && f.Medication == nil {
						expect = append(expect, factText(t, f))
					}
				}
				var have []string
				for _, f := range got.Facts {
					have = append(have, factText(t, f))
				}
				slices.Sort(expect)
				slices.Sort(have)
				if !slices.Equal(have, expect) {
					t.Errorf("facts\n got %v\nwant %v", have, expect)
				}
			})
		}
	}
}

// factText is what a consumer judges of a fact, as text.
func factText(t *testing.T, f fixtures.RegisteredFact) string {
	t.Helper()
	f.Name, f.STU3Profile = "", ""
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPublish: POST /bench/publish answers 201 to an ADA instance it
// stores, after which the facts are served as R4 at /fhir; bad input is
// refused with a clear status and nothing is stored.
func TestPublish(t *testing.T) {
	var reg fixtures.Registration
	for _, s := range fixtures.Golden() {
		if s.ID == "spoedsectio" {
			regs, err := s.Registrations(fixtures.DefaultReference)
			if err != nil {
				t.Fatal(err)
			}
			reg = regs[len(regs)-1] // the newborn's first examination
		}
	}
	good, err := truth.ADA(reg)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, contentType, body string
		status                  int
	}{
		{"the newborn's examination", "application/xml", string(good), http.StatusCreated},
		{"JSON instead of ADA", "application/json", `{"resourceType":"Bundle"}`, http.StatusUnsupportedMediaType},
		{"not XML", "application/xml", "<verloskundig_dossier_23", http.StatusBadRequest},
		{"another transaction", "application/xml", `<beslissend_gegeven transactionRef="x"/>`, http.StatusUnprocessableEntity},
		{"a BSN failing the elfproef", "application/xml", strings.Replace(string(good), reg.Client.BSN, "999999991", 1), http.StatusBadRequest},
		{"a glucose curve of three", "application/xml", strings.Replace(string(good), "</vrouw>", "</vrouw><medisch_onderzoek><maternale_onderzoeksgegevens><urine_bloed_en_aanvullende_onderzoeken><diabetes_diagnostiek>"+strings.Repeat(`<glucose><glucose value="5.1" unit="mmol/L"/></glucose>`, 3)+"</diabetes_diagnostiek></urine_bloed_en_aanvullende_onderzoeken></maternale_onderzoeksgegevens></medisch_onderzoek>", 1), http.StatusUnprocessableEntity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := New(ServerOptions{Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "http://translator.test/bench/publish", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			srv.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			rec = httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://translator.test/fhir/Observation?patient=Patient/"+truth.PatientID(reg.Subject.BSN), nil))
			stored := strings.Contains(rec.Body.String(), fixtures.CodeBirthWeight.Code)
			if stored != (tc.status == http.StatusCreated) {
				t.Errorf("birth weight served = %v after status %d: %.300s", stored, tc.status, rec.Body)
			}
		})
	}
}
