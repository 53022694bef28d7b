package index

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/token"
)

// logged returns the AuditEvents of the index's reads of a client's
// pointers (not of reads of the log itself), oldest first.
func logged(t *testing.T, ts *httptest.Server, tok, b string) []map[string]any {
	t.Helper()
	q := url.Values{"patient:identifier": {fixtures.BSNSystem + "|" + b}}
	code, bundle := get(t, ts, tok, "/fhir/AuditEvent?"+q.Encode())
	if code != http.StatusOK || bundle["type"] != "searchset" {
		t.Fatalf("AuditEvent search = %d %v", code, bundle)
	}
	var out []map[string]any
	for _, e := range truth.Items(bundle["entry"]) {
		ev := asMap(asMap(e)["resource"])
		if !strings.HasPrefix(queryOf(ev), "AuditEvent") {
			out = append(out, ev)
		}
	}
	return out
}

// queryOf is the decoded entity.query of an AuditEvent, "" for none.
func queryOf(ev map[string]any) string {
	for _, e := range truth.Items(ev["entity"]) {
		if q, _ := asMap(e)["query"].(string); q != "" {
			raw, _ := base64.StdEncoding.DecodeString(q)
			return string(raw)
		}
	}
	return ""
}

func get(t *testing.T, ts *httptest.Server, tok, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	return send(t, req, tok)
}

// send sends a request with the token, when given, and decodes the answer.
func send(t *testing.T, req *http.Request, tok string) (int, map[string]any) {
	t.Helper()
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

// postForm sends a search as POST [type]/_search with the query of path as
// its form.
func postForm(t *testing.T, ts *httptest.Server, tok, path string) (int, map[string]any) {
	t.Helper()
	typ, query, _ := strings.Cut(path, "?")
	req, _ := http.NewRequest(http.MethodPost, ts.URL+typ+"/_search", strings.NewReader(query))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(t, req, tok)
}

// requestor is the UZI number of an AuditEvent's requestor, "" for none.
func requestor(ev map[string]any) string {
	for _, a := range truth.Items(ev["agent"]) {
		agent := asMap(a)
		if r, _ := agent["requestor"].(bool); r {
			id := asMap(asMap(agent["who"])["identifier"])
			if id["system"] == fixtures.UZISystem {
				v, _ := id["value"].(string)
				return v
			}
		}
	}
	return ""
}

// namesClient says whether an AuditEvent names the client by BSN.
func namesClient(ev map[string]any, b string) bool {
	for _, e := range truth.Items(ev["entity"]) {
		id := asMap(asMap(asMap(e)["what"])["identifier"])
		if id["system"] == fixtures.BSNSystem && id["value"] == b {
			return true
		}
	}
	return false
}

// issuer is a test authorization server and the trust in it.
func issuer(t *testing.T) (*token.Issuer, *token.Verifier) {
	t.Helper()
	iss, err := token.NewIssuer("http://autorisatie.test")
	if err != nil {
		t.Fatal(err)
	}
	trust, err := token.NewVerifier(iss.URL(), iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	return iss, trust
}

// trusting serves an index (with a defect, when named) that trusts the
// issuer.
func trusting(t *testing.T, trust *token.Verifier, defect string) *httptest.Server {
	t.Helper()
	s, err := New(Options{Trust: trust, Defect: defect})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

// TestEveryReadOfTheIndexIsLogged: with a trusted issuer the reference
// index refuses a read without a valid token (401) and serves one with a
// token; each read — search, read of a pointer, refusal — is an AuditEvent
// naming who (the token's professional), which client (her BSN), what and
// the outcome, searchable by patient:identifier and date.
func TestEveryReadOfTheIndexIsLogged(t *testing.T) {
	iss, trust := issuer(t)
	ts := trusting(t, trust, "")
	hospital := token.Professional{Name: "Maarten Hoekstra", UZI: "999900022", AGB: "99991022", Role: "01.015", OrgName: "Ziekenhuis Zuiderhaven", OrgURA: "99990202"}
	tok, err := iss.Issue(hospital, "index", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b := bsn(t, 410)
	handedOver := ptr(b, 1)
	handedOver.CareTeam = []string{hospital.OrgURA}
	provide(t, ts, truth.ProvideBundle("test", "m1", handedOver))
	search := "/fhir/DocumentReference?" + url.Values{"patient.identifier": {fixtures.BSNSystem + "|" + b}, "status": {"current"}}.Encode()
	_, found := get(t, ts, tok, search)
	id, _ := asMap(asMap(truth.Items(found["entry"])[0])["resource"])["id"].(string)
	cases := []struct {
		name    string
		token   string
		path    string
		status  int
		outcome string
		uzi     string
	}{
		{"no token", "", search, http.StatusUnauthorized, "4", ""},
		{"a forged token", "eyJhbGciOiJFZERTQSJ9.e30.AAAA", search, http.StatusUnauthorized, "4", ""},
		{"the hospital searches her pointers (ITI-67)", tok, search, http.StatusOK, "0", hospital.UZI},
		{"the hospital reads her pointer", tok, "/fhir/DocumentReference/" + id, http.StatusOK, "0", hospital.UZI},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			since := time.Now().Add(-time.Second)
			if code, _ := get(t, ts, tc.token, tc.path); code != tc.status {
				t.Fatalf("GET %s = %d, want %d", tc.path, code, tc.status)
			}
			events := logged(t, ts, tok, b)
			if len(events) == 0 {
				t.Fatal("nothing logged for her")
			}
			ev := events[len(events)-1]
			recorded, _ := time.Parse(time.RFC3339Nano, ev["recorded"].(string))
			if ev["outcome"] != tc.outcome || requestor(ev) != tc.uzi || !namesClient(ev, b) || recorded.Before(since.Truncate(time.Millisecond)) {
				t.Fatalf("AuditEvent outcome %v, requestor %q, names her %v, recorded %v; want %s, %q, true, after %v",
					ev["outcome"], requestor(ev), namesClient(ev, b), recorded, tc.outcome, tc.uzi, since)
			}
		})
	}
	byDate := "/fhir/AuditEvent?" + url.Values{"patient:identifier": {fixtures.BSNSystem + "|" + b}, "date": {"ge" + time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}}.Encode()
	if code, bundle := get(t, ts, tok, byDate); code != http.StatusOK || len(truth.Items(bundle["entry"])) < len(cases) {
		t.Fatalf("AuditEvent by client and date = %d with %d entries", code, len(truth.Items(bundle["entry"])))
	}
	for _, bad := range []string{"date=gisteren", "patient=Patient/1", "patient:identifier=" + b} {
		if code, _ := get(t, ts, tok, "/fhir/AuditEvent?"+bad); code != http.StatusBadRequest {
			t.Errorf("AuditEvent?%s = %d, want 400", bad, code)
		}
	}
}

// TestAuthorisedView: with trust, the index serves a client's pointers only
// to an organisation that one of her pointers names (author or
// context.related); another is refused (403, logged with a failed
// outcome); a client without pointers has nothing to refuse. The same
// holds for the index's access log (a search leaves out her events, a read
// of one is refused) and for a SubmissionSet of her pointers. The mutant
// buiten-behandelrelatie serves everyone.
func TestAuthorisedView(t *testing.T) {
	iss, trust := issuer(t)
	as := func(name, uzi, ura string) string {
		tok, err := iss.Issue(token.Professional{Name: name, UZI: uzi, OrgName: name, OrgURA: ura}, "index", time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	midwife, jgz, outsider := as("verloskundige", "999900011", author.URA), as("jeugdarts", "999900066", "99990606"), as("buitenstaander", "999900077", "99990707")
	b, nobody, kid := bsn(t, 411), bsn(t, 412), bsn(t, 413)
	search := func(of string) string {
		return "/fhir/DocumentReference?" + url.Values{"patient.identifier": {fixtures.BSNSystem + "|" + of}, "status": {"current"}}.Encode()
	}
	logOf := func(of string) string {
		return "/fhir/AuditEvent?" + url.Values{"patient:identifier": {fixtures.BSNSystem + "|" + of}}.Encode()
	}
	byDate := "/fhir/AuditEvent?date=ge2000-01-01"
	cases := []struct {
		name   string
		defect string
		token  string
		path   string
		status int
		found  int
	}{
		{"the author's organisation", "", midwife, search(b), http.StatusOK, 1},
		{"the organisation her care was handed over to", "", jgz, search(b), http.StatusOK, 1},
		{"an organisation without a care relationship", "", outsider, search(b), http.StatusForbidden, 0},
		{"an organisation without a care relationship, by patient reference", "", outsider, "/fhir/DocumentReference?patient=" + url.QueryEscape("http://xis.example/fhir/Patient/"+b), http.StatusOK, 0},
		{"a client without pointers", "", outsider, search(nobody), http.StatusOK, 0},
		{"her newborn, through the mother's care relationship", "", jgz, search(kid), http.StatusOK, 1},
		{"her newborn, without a care relationship", "", outsider, search(kid), http.StatusForbidden, 0},
		{"the mutant serves the outsider", "buiten-behandelrelatie", outsider, search(b), http.StatusOK, 1},
		{"the access log, searched for her by her midwife", "", midwife, logOf(b), http.StatusOK, 1},
		{"the access log, searched for her without a care relationship", "", outsider, logOf(b), http.StatusForbidden, 0},
		{"the access log, searched by date without a care relationship", "", outsider, byDate, http.StatusOK, 0},
		{"the access log, searched by date by her midwife", "", midwife, byDate, http.StatusOK, 1},
		{"an event of her access log, read without a care relationship", "", outsider, "/fhir/AuditEvent/{event}", http.StatusForbidden, 0},
		{"the SubmissionSet of her pointer, read by her midwife", "", midwife, "/fhir/List/{list}", http.StatusOK, 1},
		{"the SubmissionSet of her pointer, read without a care relationship", "", outsider, "/fhir/List/{list}", http.StatusForbidden, 0},
		{"the mutant shows the outsider her access log", "buiten-behandelrelatie", outsider, logOf(b), http.StatusOK, 1},
		{"her pointer, read by id by her midwife", "", midwife, "/fhir/DocumentReference/{doc}", http.StatusOK, 1},
		{"her pointer, read by id without a care relationship", "", outsider, "/fhir/DocumentReference/{doc}", http.StatusForbidden, 0},
		{"her pointers, by the search form without a care relationship", "", outsider, "POST " + search(b), http.StatusForbidden, 0},
		{"her pointers, by _id and patient reference without a care relationship", "", outsider, "/fhir/DocumentReference?_id={doc}&patient=" + url.QueryEscape(ptr(b, 1).URL), http.StatusOK, 0},
		{"the search-form mutant serves the outsider by POST", "zoekformulier-buiten-behandelrelatie", outsider, "POST " + search(b), http.StatusOK, 1},
		{"the search-form mutant refuses the outsider by GET", "zoekformulier-buiten-behandelrelatie", outsider, search(b), http.StatusForbidden, 0},
		{"the read mutant serves the outsider her pointer by id", "lezen-buiten-behandelrelatie", outsider, "/fhir/DocumentReference/{doc}", http.StatusOK, 1},
		{"the read mutant refuses the outsider's search", "lezen-buiten-behandelrelatie", outsider, search(b), http.StatusForbidden, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := trusting(t, trust, tc.defect)
			handedOver := ptr(b, 1)
			handedOver.CareTeam = []string{"99990606"}
			_, resp := provide(t, ts, truth.ProvideBundle("test", "m1", handedOver))
			newborn := ptr(kid, 1)
			newborn.Author, newborn.Mother = fixtures.Provider{Name: "Ziekenhuis", URA: "99990202"}, b
			provide(t, ts, truth.ProvideBundle("test", "m2", newborn))
			// her midwife reads her pointers first: one event of her in the log
			if code, _ := get(t, ts, midwife, search(b)); code != http.StatusOK {
				t.Fatalf("her midwife's search = %d", code)
			}
			path := strings.NewReplacer("{list}", strings.Split(locations(t, resp)[0], "/")[1], "{doc}", strings.Split(locations(t, resp)[1], "/")[1],
				"{event}", "index-toegang-1").Replace(tc.path)
			var code int
			var answer map[string]any
			if form, ok := strings.CutPrefix(path, "POST "); ok {
				code, answer = postForm(t, ts, tc.token, form)
			} else {
				code, answer = get(t, ts, tc.token, path)
			}
			found := len(truth.Items(answer["entry"]))
			if answer["resourceType"] != "Bundle" && code == http.StatusOK {
				found = 1
			}
			if code != tc.status || found != tc.found {
				t.Fatalf("%s = %d with %d found, want %d with %d", path, code, found, tc.status, tc.found)
			}
			if code == http.StatusForbidden && !strings.HasPrefix(tc.path, "/fhir/AuditEvent?") { // logged() leaves out searches of the log
				of := b
				if strings.Contains(tc.path, kid) {
					of = kid
				}
				events := logged(t, ts, midwife, of)
				if len(events) == 0 || events[len(events)-1]["outcome"] == "0" || requestor(events[len(events)-1]) != "999900077" {
					t.Fatalf("the refusal is not logged as the outsider's failed read: %v", events)
				}
			}
		})
	}
}
