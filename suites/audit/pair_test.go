package audit

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/token"
)

var t0 = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

func readOf(typ, id string, status int) read {
	return read{url: "x", typ: typ, id: id, status: status, started: t0, end: t0.Add(10 * time.Millisecond)}
}

func searchOf(typ, query string, status int) read {
	q, _ := url.ParseQuery(query)
	return read{url: "x", search: true, typ: typ, params: q, status: status, started: t0, end: t0.Add(10 * time.Millisecond)}
}

func auditEvent(subtype string, at time.Time, entities ...map[string]any) map[string]any {
	ents := make([]any, len(entities))
	for i, e := range entities {
		ents[i] = e
	}
	return map[string]any{"resourceType": "AuditEvent", "recorded": at.Format(time.RFC3339Nano),
		"subtype": []any{map[string]any{"system": "http://hl7.org/fhir/restful-interaction", "code": subtype}}, "entity": ents}
}

func entity(ref string) map[string]any {
	return map[string]any{"what": map[string]any{"reference": ref}}
}

func query(q string) map[string]any {
	return map[string]any{"query": base64.StdEncoding.EncodeToString([]byte(q))}
}

// TestSameWhatPairsTheInteractionNotJustTheClient: a read pairs with an
// event of a read of that resource; a read of her Patient not with the
// event of a read of another resource that names her; a search with one of
// the same parameters (order free, type when named).
func TestSameWhatPairsTheInteractionNotJustTheClient(t *testing.T) {
	cases := []struct {
		name string
		r    read
		ev   map[string]any
		want bool
	}{
		{"read of the resource", readOf("Observation", "o1", 200), auditEvent("read", t0, entity("Patient/p1"), entity("Observation/o1")), true},
		{"absolute reference", readOf("Observation", "o1", 200), auditEvent("read", t0, entity("https://x.test/fhir/Observation/o1")), true},
		{"read of another resource", readOf("Observation", "o1", 200), auditEvent("read", t0, entity("Observation/o2")), false},
		{"search event for a read", readOf("Observation", "o1", 200), auditEvent("search-type", t0, entity("Observation/o1")), false},
		{"her Patient", readOf("Patient", "p1", 200), auditEvent("read", t0, entity("Patient/p1")), true},
		{"her Patient, event of an observation read", readOf("Patient", "p1", 200), auditEvent("read", t0, entity("Patient/p1"), entity("Observation/o1")), false},
		{"search, same parameters in another order", searchOf("Observation", "patient=Patient/p1&code=a|b", 200), auditEvent("search-type", t0, query("Observation?code=a%7Cb&patient=Patient%2Fp1")), true},
		{"search, parameters without type", searchOf("Observation", "patient=Patient/p1", 200), auditEvent("search-type", t0, query("patient=Patient/p1")), true},
		{"search, another type", searchOf("Observation", "patient=Patient/p1", 200), auditEvent("search-type", t0, query("Condition?patient=Patient/p1")), false},
		{"search, another parameter value", searchOf("Observation", "patient=Patient/p1", 200), auditEvent("search-type", t0, query("Observation?patient=Patient/p2")), false},
		{"search, query not base64", searchOf("Observation", "patient=Patient/p1", 200), auditEvent("search-type", t0, map[string]any{"query": "patient=Patient/p1"}), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := sameWhat(tc.r, tc.ev); got != tc.want {
				t.Fatalf("sameWhat = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPairGivesEachEventToOneRead: two reads of the same resource take the
// two events nearest to each; a third read without an event stays unpaired.
func TestPairGivesEachEventToOneRead(t *testing.T) {
	a, b, c := readOf("Observation", "o1", 200), readOf("Observation", "o1", 200), readOf("Observation", "o1", 404)
	b.started, c.started = t0.Add(time.Second), t0.Add(2*time.Second)
	e1 := &event{id: "e1", recorded: t0.Add(time.Second), res: auditEvent("read", t0.Add(time.Second), entity("Observation/o1"))}
	e2 := &event{id: "e2", recorded: t0, res: auditEvent("read", t0, entity("Observation/o1"))}
	got := pair([]read{c, b, a}, []*event{e1, e2}, nil)
	if got[2] != e2 || got[1] != e1 || got[0] != nil {
		t.Fatalf("pairs %v %v %v, want nil e1 e2", got[0], got[1], got[2])
	}
}

// TestPairPrefersTheReadersOwnEvent: of two reads of the same object by two
// professionals, only the second one's logged, the event goes to her read
// even when the first one's read is nearer in time; an event under no
// known professional (a technical account) still pairs.
func TestPairPrefersTheReadersOwnEvent(t *testing.T) {
	anouk := token.Professional{UZI: "999900011"}
	lotte := token.Professional{UZI: "999900077"}
	requestor := func(uzi string, res map[string]any) map[string]any {
		res["agent"] = []any{map[string]any{"requestor": true, "who": map[string]any{"identifier": map[string]any{"system": fixtures.UZISystem, "value": uzi}}}}
		return res
	}
	cases := []struct {
		name    string
		eventBy string // the requestor's UZI; "" for a technical account
		want    [2]bool
	}{
		{"the outsider's event pairs with her read", lotte.UZI, [2]bool{false, true}},
		{"the reader's event pairs with her read", anouk.UZI, [2]bool{true, false}},
		{"a technical account's event pairs with the first read", "svc", [2]bool{true, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first, second := readOf("Observation", "o1", 200), readOf("Observation", "o1", 403)
			first.who, second.who = "anouk", "lotte"
			second.started = t0.Add(2 * time.Second)
			ev := &event{id: "e", recorded: t0.Add(time.Second), res: requestor(tc.eventBy, auditEvent("read", t0.Add(time.Second), entity("Observation/o1")))}
			got := pair([]read{first, second}, []*event{ev}, func(r read) token.Professional {
				return map[string]token.Professional{"anouk": anouk, "lotte": lotte}[r.who]
			})
			if (got[0] != nil) != tc.want[0] || (got[1] != nil) != tc.want[1] {
				t.Fatalf("paired %v, want %v", [2]bool{got[0] != nil, got[1] != nil}, tc.want)
			}
		})
	}
}

// TestFieldsAreJudgedOnThePairedEvent: when, outcome, who and which client
// each find what is wrong, and nothing on a right event.
func TestFieldsAreJudgedOnThePairedEvent(t *testing.T) {
	anouk := token.Professional{Name: "Anouk Verbeek", UZI: "999900011", AGB: "99991011", Role: "03.000", OrgName: "De Dageraad", OrgURA: "99990101"}
	agents := func(system, value string, role string, org bool) []any {
		person := map[string]any{"requestor": true, "who": map[string]any{"identifier": map[string]any{"system": system, "value": value}},
			"role": []any{map[string]any{"coding": []any{map[string]any{"system": fixtures.UZIRole, "code": role}}}}}
		out := []any{person}
		if org {
			out = append(out, map[string]any{"requestor": false, "who": map[string]any{"identifier": map[string]any{"system": fixtures.URASystem, "value": "99990101"}}})
		}
		return out
	}
	femke := &person{Client: fixtures.Client{BSN: "999911158", Given: "Femke", Family: "Smit"}, patientIDs: []string{"p1"}}
	ok, refused := readOf("Observation", "o1", 200), readOf("Observation", "o1", 403)
	ev := func(mod func(map[string]any)) *event {
		res := auditEvent("read", t0, entity("Patient/p1"), entity("Observation/o1"))
		res["outcome"] = "0"
		res["agent"] = agents(fixtures.UZISystem, "999900011", "03.000", true)
		if mod != nil {
			mod(res)
		}
		e := &event{id: "e", res: res, byPatient: true}
		e.recorded, _ = time.Parse(time.RFC3339Nano, res["recorded"].(string))
		return e
	}
	cases := []struct {
		name    string
		problem string
		want    string // a piece of the problem; "" for none
	}{
		{"right", whenProblem(ok, ev(nil)) + outcomeProblem(ok, ev(nil)) + whoProblem(ok, ev(nil), anouk) + clientProblem(ok, ev(nil), femke), ""},
		{"a minute late", whenProblem(ok, ev(func(r map[string]any) { r["recorded"] = t0.Add(time.Minute).Format(time.RFC3339) })), "ernaast"},
		{"refused, logged as success", outcomeProblem(refused, ev(nil)), "outcome 0"},
		{"served, logged as failure", outcomeProblem(ok, ev(func(r map[string]any) { r["outcome"] = "4" })), "outcome 4"},
		{"technical account", whoProblem(ok, ev(func(r map[string]any) { r["agent"] = agents("urn:x", "svc", "03.000", true) }), anouk), "requestor"},
		{"her AGB code instead of UZI", whoProblem(ok, ev(func(r map[string]any) { r["agent"] = agents(fixtures.AGBSystem, "99991011", "03.000", true) }), anouk), ""},
		{"another role", whoProblem(ok, ev(func(r map[string]any) { r["agent"] = agents(fixtures.UZISystem, "999900011", "01.015", true) }), anouk), "rol"},
		{"no organisation", whoProblem(ok, ev(func(r map[string]any) { r["agent"] = agents(fixtures.UZISystem, "999900011", "03.000", false) }), anouk), "organisatie"},
		{"no client", clientProblem(ok, ev(func(r map[string]any) { r["entity"] = []any{entity("Observation/o1")} }), femke), "noemt de cliënt"},
		{"client by BSN", clientProblem(ok, ev(func(r map[string]any) {
			r["entity"] = []any{map[string]any{"what": map[string]any{"identifier": map[string]any{"system": fixtures.BSNSystem, "value": "999911158"}}}}
		}), femke), ""},
		{"not found by patient", clientProblem(ok, func() *event { e := ev(nil); e.byPatient = false; return e }(), femke), "AuditEvent?patient="},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			switch {
			case tc.want == "" && tc.problem != "":
				t.Fatalf("problem %q, want none", tc.problem)
			case tc.want != "" && !strings.Contains(tc.problem, tc.want):
				t.Fatalf("problem %q, want one about %q", tc.problem, tc.want)
			}
		})
	}
}

// TestParseReadTakesSearchesByForm: a search by form (POST Type/_search)
// is a read as its GET twin is, its parameters read from the body; a POST
// that is no search, or a search by form the candidate does not serve, is
// no read.
func TestParseReadTakesSearchesByForm(t *testing.T) {
	const base = "http://index.test/fhir"
	form := "patient.identifier=" + url.QueryEscape(fixtures.BSNSystem+"|999990019") + "&status=current"
	entry := func(method, path, body string, status int) harness.Entry {
		e := harness.Entry{Request: harness.HARRequest{Method: method, URL: base + path}, Response: harness.HARResponse{Status: status}, Started: t0}
		if body != "" {
			e.Request.PostData = &harness.HARPostData{MimeType: "application/x-www-form-urlencoded", Text: body}
		}
		return e
	}
	cases := []struct {
		name   string
		e      harness.Entry
		read   bool
		params string
	}{
		{"a search by GET", entry("GET", "/DocumentReference?"+form, "", 200), true, form},
		{"the same search by form", entry("POST", "/DocumentReference/_search", form, 200), true, form},
		{"a refused search by form", entry("POST", "/DocumentReference/_search", form, 403), true, form},
		{"a search by form not served", entry("POST", "/DocumentReference/_search", form, 405), false, ""},
		{"a search by form not understood (400)", entry("POST", "/DocumentReference/_search", form, 400), false, ""},
		{"a search by form not found (404)", entry("POST", "/DocumentReference/_search", form, 404), false, ""},
		{"a registration (ITI-65)", entry("POST", "", `{"resourceType":"Bundle"}`, 200), false, ""},
		{"a create", entry("POST", "/DocumentReference", `{"resourceType":"DocumentReference"}`, 201), false, ""},
		{"a delete", entry("DELETE", "/DocumentReference/1", "", 204), false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := parseRead(tc.e, base, "reader")
			if ok != tc.read {
				t.Fatalf("parseRead = %v, want %v", ok, tc.read)
			}
			want, _ := url.ParseQuery(tc.params)
			if ok && (!r.search || r.typ != "DocumentReference" || !sameParams(r.params, want)) {
				t.Fatalf("read %+v, want a search of DocumentReference with %v", r, want)
			}
		})
	}
}
