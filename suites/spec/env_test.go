package spec

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
)

// TestPublisherFor: each event goes to the XIS of its organisation's kind
// when the chain has one, to the first publisher (xis) otherwise.
func TestPublisherFor(t *testing.T) {
	midwife := &harness.Adapter{Base: "http://127.0.0.1:1/bench"}
	hospital := &harness.Adapter{Base: "http://127.0.0.1:2/bench"}
	chain := []Publisher{{Role: "xis", Adapter: midwife}, {Role: "xis-ziekenhuis", Adapter: hospital}}
	reg := func(kind string) fixtures.Registration {
		return fixtures.Registration{Author: fixtures.Provider{Kind: kind}}
	}
	cases := []struct {
		name       string
		publishers []Publisher
		kind       string
		want       string
		adapter    *harness.Adapter
	}{
		{"midwife in a chain", chain, "verloskundigenpraktijk", "xis", midwife},
		{"hospital in a chain", chain, "ziekenhuis", "xis-ziekenhuis", hospital},
		{"lab has no XIS of its own", chain, "laboratorium", "xis", midwife},
		{"hospital with one XIS", chain[:1], "ziekenhuis", "xis", midwife},
		{"no publishers: the run's XIS", nil, "ziekenhuis", "xis", midwife},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &Env{Adapter: midwife, Publishers: tc.publishers}
			got := e.PublisherFor(reg(tc.kind))
			if got.Role != tc.want || got.Adapter != tc.adapter {
				t.Fatalf("PublisherFor(%s) = %s %v, want %s %v", tc.kind, got.Role, got.Adapter, tc.want, tc.adapter)
			}
		})
	}
}

// TestReplayTellsEveryPublisherWhenSharingChanges: the smallest case of the
// population run's IDX-07 failure (g1-00433 of seed 1): the client withdraws
// consent at her midwife, then gives birth in the hospital. The withdrawal
// (and a consent given again, and a deletion request) reaches every XIS of
// the scenario, so the hospital's does not go on publishing her; an event
// that does not change sharing goes to its own publisher only.
func TestReplayTellsEveryPublisherWhenSharingChanges(t *testing.T) {
	yes, no := true, false
	midwife := fixtures.Provider{ID: "vp", Kind: "verloskundigenpraktijk", Name: "Verloskundigenpraktijk", URA: "90000001"}
	hospital := fixtures.Provider{ID: "zh", Kind: "ziekenhuis", Name: "Ziekenhuis", URA: "90000002"}
	bsn, _ := fixtures.TestBSN(7)
	client := fixtures.Client{ID: "moeder", BSN: bsn, Given: "Anna", Family: "Test", BirthDate: "1990-01-01"}
	ev := func(id string, kind fixtures.EventKind, by string, consent *bool) fixtures.Event {
		return fixtures.Event{ID: id, Kind: kind, Day: 10, Minute: 600, By: by, Title: id, Subject: "moeder", Consent: consent}
	}
	cases := []struct {
		name     string
		events   []fixtures.Event
		hospital []string // the events the hospital's XIS hears, in order
		midwife  []string
	}{
		{"withdrawn at the midwife, birth in the hospital",
			[]fixtures.Event{ev("toestemming", fixtures.Consent, "vp", &yes), ev("intrekking", fixtures.Consent, "vp", &no), ev("geboorte", fixtures.Birth, "zh", nil)},
			[]string{"intrekking", "geboorte"}, []string{"toestemming", "intrekking"}},
		{"given again at the midwife",
			[]fixtures.Event{ev("intrekking", fixtures.Consent, "vp", &no), ev("geboorte", fixtures.Birth, "zh", nil), ev("opnieuw", fixtures.Consent, "vp", &yes)},
			[]string{"intrekking", "geboorte", "opnieuw"}, []string{"intrekking", "opnieuw"}},
		{"deletion asked at the hospital",
			[]fixtures.Event{ev("toestemming", fixtures.Consent, "vp", &yes), ev("geboorte", fixtures.Birth, "zh", nil), ev("vernietiging", fixtures.Deletion, "zh", nil)},
			[]string{"geboorte", "vernietiging"}, []string{"toestemming", "vernietiging"}},
		{"one publisher: nothing is sent twice",
			[]fixtures.Event{ev("toestemming", fixtures.Consent, "vp", &yes), ev("intrekking", fixtures.Consent, "vp", &no)},
			nil, []string{"toestemming", "intrekking"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			heard := map[string]*[]string{"vp": {}, "zh": {}}
			serve := func(name string) *httptest.Server {
				var mu sync.Mutex
				return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/events") {
						var reg fixtures.Registration
						if err := json.NewDecoder(r.Body).Decode(&reg); err != nil {
							http.Error(w, err.Error(), http.StatusBadRequest)
							return
						}
						mu.Lock()
						*heard[name] = append(*heard[name], reg.Event)
						mu.Unlock()
						w.WriteHeader(http.StatusCreated)
						return
					}
					emptySearch(w)
				}))
			}
			vp, zh := serve("vp"), serve("zh")
			defer vp.Close()
			defer zh.Close()
			publishers := []Publisher{publisherAt("xis", "", vp), publisherAt("xis-ziekenhuis", "", zh)}
			s := &fixtures.Scenario{ID: "klein", Title: "klein", Client: client, Providers: []fixtures.Provider{midwife, hospital}, Events: tc.events}
			if tc.hospital == nil {
				publishers = publishers[:1]
			}
			e := &Env{Scenarios: []*fixtures.Scenario{s}, Reference: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
				XIS: publishers[0].XIS, Adapter: publishers[0].Adapter, Publishers: publishers}
			if err := e.Replay(context.Background(), nil); err != nil {
				t.Fatalf("Replay: %v", err)
			}
			if got := *heard["zh"]; !slices.Equal(got, tc.hospital) {
				t.Errorf("the hospital's XIS heard %v, want %v", got, tc.hospital)
			}
			if got := *heard["vp"]; !slices.Equal(got, tc.midwife) {
				t.Errorf("the midwife's XIS heard %v, want %v", got, tc.midwife)
			}
			rep, _ := e.ReplayOf("klein")
			if want := len(tc.hospital) + len(tc.midwife); len(rep.Events) != want {
				t.Errorf("the replay records %d deliveries, want %d (one per publisher that heard an event)", len(rep.Events), want)
			}
		})
	}
}

// TestReplaySendsATranslatorItsADA: a publisher with the translator
// contract is sent each of its events as ADA at {adapter}/publish, never a
// registration, and is not told of a consent change made at another
// publisher (the ADA has no element for it); it can have received only
// what the ADA carries.
func TestReplaySendsATranslatorItsADA(t *testing.T) {
	yes, no := true, false
	midwife := fixtures.Provider{ID: "vp", Kind: "verloskundigenpraktijk", Name: "Verloskundigenpraktijk", URA: "90000001"}
	hospital := fixtures.Provider{ID: "zh", Kind: "ziekenhuis", Name: "Ziekenhuis", URA: "90000002"}
	bsn, _ := fixtures.TestBSN(7)
	client := fixtures.Client{ID: "moeder", BSN: bsn, Given: "Anna", Family: "Test", BirthDate: "1990-01-01"}
	events := []fixtures.Event{
		{ID: "toestemming", Kind: fixtures.Consent, Day: 10, Minute: 600, By: "vp", Title: "t", Subject: "moeder", Consent: &yes},
		{ID: "geboorte", Kind: fixtures.Birth, Day: 11, Minute: 600, By: "zh", Title: "g", Subject: "moeder", Facts: []fixtures.Fact{fixtures.BloodLoss(300), fixtures.BodyLength("50")}},
		{ID: "intrekking", Kind: fixtures.Consent, Day: 12, Minute: 600, By: "vp", Title: "i", Subject: "moeder", Consent: &no},
	}
	var mu sync.Mutex
	var heard []string // "role path content-type"
	serve := func(role string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				body := new(strings.Builder)
				_, _ = io.Copy(body, r.Body)
				mu.Lock()
				heard = append(heard, role+" "+r.URL.Path[strings.LastIndexByte(r.URL.Path, '/'):]+" "+r.Header.Get("Content-Type"))
				mu.Unlock()
				if strings.HasSuffix(r.URL.Path, "/publish") && !strings.Contains(body.String(), "<verloskundig_dossier_23") {
					http.Error(w, "no ADA", http.StatusBadRequest)
					return
				}
				w.WriteHeader(http.StatusCreated)
				return
			}
			emptySearch(w)
		}))
	}
	vp, zh := serve("xis"), serve("xis-ziekenhuis")
	defer vp.Close()
	defer zh.Close()
	publishers := []Publisher{publisherAt("xis", "", vp), publisherAt("xis-ziekenhuis", harness.ContractTranslator, zh)}
	s := &fixtures.Scenario{ID: "klein", Title: "klein", Client: client, Providers: []fixtures.Provider{midwife, hospital}, Events: events}
	e := &Env{Scenarios: []*fixtures.Scenario{s}, Reference: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		XIS: publishers[0].XIS, Adapter: publishers[0].Adapter, Publishers: publishers}
	if err := e.Replay(context.Background(), nil); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	want := []string{"xis /events application/json", "xis-ziekenhuis /publish application/xml", "xis /events application/json"}
	if !slices.Equal(heard, want) {
		t.Errorf("heard %v, want %v", heard, want)
	}
	rep, _ := e.ReplayOf("klein")
	for _, ev := range rep.Events {
		if ev.Err != nil {
			t.Errorf("%s to %s: %v", ev.Registration.Event, ev.Publisher, ev.Err)
		}
	}
	cases := []struct {
		name, event, key string
		carried          bool
	}{
		{"a fact the ADA carries, to the translator", "geboorte", "blood-loss", true},
		{"a fact the ADA has no element for, to the translator", "geboorte", "length", false},
		{"an event to the XIS", "toestemming", "anything", true},
		{"an event the scenario does not have", "elders", "length", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.Carries(s, tc.event, tc.key); got != tc.carried {
				t.Errorf("Carries(%s, %s) = %v, want %v", tc.event, tc.key, got, tc.carried)
			}
		})
	}
}

// publisherAt is a publisher of the given contract served by srv: its FHIR
// base at /fhir, its adapter at /bench.
func publisherAt(role, contract string, srv *httptest.Server) Publisher {
	return Publisher{Role: role, Contract: contract, XIS: &harness.FHIR{Base: srv.URL + "/fhir", Client: srv.Client()}, Adapter: &harness.Adapter{Base: srv.URL + "/bench", Client: srv.Client()}}
}

// emptySearch answers a FHIR search with no match.
func emptySearch(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/fhir+json")
	_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","total":0}`))
}
