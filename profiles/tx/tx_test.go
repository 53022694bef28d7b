package tx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bcbench/bcbench/profiles/terminology"
	"github.com/bcbench/bcbench/profiles/tx"
	"github.com/bcbench/bcbench/profiles/tx/txtest"
)

const (
	vsReferral = "http://decor.nictiz.nl/fhir/ValueSet/2.16.840.1.113883.2.4.3.11.60.121.11.19--20200901000000"
	snomed     = "http://snomed.info/sct"
	loinc      = "http://loinc.org"
)

func client(t *testing.T, base string, opts tx.Options) *tx.Client {
	t.Helper()
	if opts.CacheDir == "" {
		opts.CacheDir = "off"
	}
	c, err := tx.New(base, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAnswers: what a working server says is what the client decides.
func TestAnswers(t *testing.T) {
	srv := txtest.Start(txtest.ReferenceXIS(), txtest.Normal)
	defer srv.Close()
	c := client(t, srv.URL(), tx.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		ask      func() terminology.Result
		want     terminology.Outcome
		contains string
	}{
		{"member", func() terminology.Result {
			return c.ValidateCode(ctx, vsReferral, terminology.Coding{System: snomed, Code: "3457005"})
		}, terminology.Member, "is in"},
		{"not a member", func() terminology.Result {
			return c.ValidateCode(ctx, vsReferral, terminology.Coding{System: snomed, Code: "73211009"})
		}, terminology.NotMember, "is not in the value set"},
		{"value set unknown to the server", func() terminology.Result {
			return c.ValidateCode(ctx, "http://example.org/vs", terminology.Coding{System: snomed, Code: "3457005"})
		}, terminology.Unknown, "Unknown value set"},
		{"versioned canonical", func() terminology.Result {
			return c.ValidateCode(ctx, vsReferral+"|9", terminology.Coding{System: snomed, Code: "3457005"})
		}, terminology.Unknown, "Unknown value set"},
		{"lookup known", func() terminology.Result {
			return c.LookupCode(ctx, terminology.Coding{System: loinc, Code: "718-7"})
		}, terminology.Member, "$lookup"},
		{"lookup unknown", func() terminology.Result {
			return c.LookupCode(ctx, terminology.Coding{System: loinc, Code: "99999-9"})
		}, terminology.Unknown, "HTTP 404: Unknown code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.ask()
			if r.Outcome != tc.want || !strings.Contains(r.Message, tc.contains) {
				t.Fatalf("got %v %q, want %v mentioning %q", r.Outcome, r.Message, tc.want, tc.contains)
			}
		})
	}
	// One question is asked once.
	before := srv.Requests()
	c.ValidateCode(ctx, vsReferral, terminology.Coding{System: snomed, Code: "3457005"})
	if srv.Requests() != before {
		t.Errorf("a repeated question went to the server again")
	}
	if n := len(c.Answers()); n != 6 {
		t.Errorf("%d answers logged, want 6 distinct", n)
	}
}

// TestBadServers: a server that hangs, answers garbage, fails, redirects,
// answers another resource or is absent leaves the code Unknown with the
// reason, within the time limit, and after MaxFailures in a row the client
// stops asking.
func TestBadServers(t *testing.T) {
	elsewhere := txtest.Start(txtest.ReferenceXIS(), txtest.Normal)
	defer elsewhere.Close()
	absent := txtest.Absent()
	for _, tc := range []struct {
		name    string
		mode    txtest.Mode
		want    string
		timeout time.Duration // default 200ms
	}{
		{"hangs", txtest.Hang, "no answer within 200ms", 0},
		{"garbage", txtest.Garbage, "not JSON", 0},
		{"500", txtest.Fail, "HTTP 500: the terminology database is down", 0},
		{"redirect", txtest.Redirect, "redirect (302", 0},
		{"wrong resource", txtest.WrongResource, `"Patient", not a Parameters`, 0},
		{"huge answer", txtest.Huge, "larger than 1048576 bytes", 10 * time.Second},
		{"body never ends", txtest.Drip, "did not arrive within 200ms", 0},
		{"absent", -1, "not reachable", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := absent
			var srv *txtest.Server
			if tc.mode >= 0 {
				srv = txtest.Start(txtest.ReferenceXIS(), tc.mode)
				srv.SetRedirect(elsewhere.URL())
				defer srv.Close()
				base = srv.URL()
			}
			if tc.timeout == 0 {
				tc.timeout = 200 * time.Millisecond
			}
			c := client(t, base, tx.Options{Timeout: tc.timeout, MaxFailures: 2})
			for i, code := range []string{"3457005", "308292007", "73211009", "1"} {
				r := c.ValidateCode(context.Background(), vsReferral, terminology.Coding{System: snomed, Code: code})
				if r.Outcome != terminology.Unknown {
					t.Fatalf("question %d: %v, want unknown", i+1, r.Outcome)
				}
				if i < 2 && !strings.Contains(r.Message, tc.want) {
					t.Errorf("question %d: %q, want the reason %q", i+1, r.Message, tc.want)
				}
				if i >= 2 && !strings.Contains(r.Message, "not asked any more after 2 failed calls") {
					t.Errorf("question %d: %q, want the client to have given up", i+1, r.Message)
				}
			}
			if srv != nil && srv.Requests() != 2 {
				t.Errorf("the server got %d requests, want 2 (then the client gives up)", srv.Requests())
			}
			if !strings.Contains(c.Summary(), "not asked any more") {
				t.Errorf("summary %q does not say the client gave up", c.Summary())
			}
		})
	}
	if n := elsewhere.Requests(); n != 0 {
		t.Errorf("the redirect was followed: the other server got %d requests", n)
	}
}

// TestBudget: once the run's time budget is used up, nothing more is asked.
func TestBudget(t *testing.T) {
	srv := txtest.Start(txtest.ReferenceXIS(), txtest.Normal)
	defer srv.Close()
	c := client(t, srv.URL(), tx.Options{Budget: time.Nanosecond})
	ctx := context.Background()
	if r := c.ValidateCode(ctx, vsReferral, terminology.Coding{System: snomed, Code: "3457005"}); r.Outcome != terminology.Member {
		t.Fatalf("first question: %v %s", r.Outcome, r.Message)
	}
	r := c.ValidateCode(ctx, vsReferral, terminology.Coding{System: snomed, Code: "308292007"})
	if r.Outcome != terminology.Unknown || !strings.Contains(r.Message, "time budget") {
		t.Fatalf("after the budget: %v %q", r.Outcome, r.Message)
	}
	if srv.Requests() != 1 {
		t.Errorf("%d requests, want 1", srv.Requests())
	}
}

// TestDiskCache: a decisive answer is kept on disk and used by the next
// client without asking; failures are not cached; the cache stays within
// its bound.
func TestDiskCache(t *testing.T) {
	dir := t.TempDir()
	srv := txtest.Start(txtest.ReferenceXIS(), txtest.Normal)
	ctx := context.Background()
	c1 := client(t, srv.URL(), tx.Options{CacheDir: dir})
	member := terminology.Coding{System: snomed, Code: "3457005"}
	if r := c1.ValidateCode(ctx, vsReferral, member); r.Outcome != terminology.Member {
		t.Fatal(r.Message)
	}
	c1.ValidateCode(ctx, "http://example.org/unknown", member) // Unknown: not cached
	srv.Close()

	c2 := client(t, srv.URL(), tx.Options{CacheDir: dir, MaxFailures: 5})
	if r := c2.ValidateCode(ctx, vsReferral, member); r.Outcome != terminology.Member {
		t.Fatalf("from the cache: %v %s", r.Outcome, r.Message)
	}
	if r := c2.ValidateCode(ctx, "http://example.org/unknown", member); r.Outcome != terminology.Unknown || !strings.Contains(r.Message, "not reachable") {
		t.Fatalf("an undecided answer came from the cache: %v %s", r.Outcome, r.Message)
	}
	a := c2.Answers()
	if len(a) != 2 || a[0].From != "cache" || a[1].From != "server" {
		t.Fatalf("answers %+v: want one from the cache, one asked", a)
	}

	// Bounded: with room for about two answers, ten answers leave at most a few files.
	small := t.TempDir()
	srv2 := txtest.Start(txtest.ReferenceXIS(), txtest.Normal)
	defer srv2.Close()
	c3 := client(t, srv2.URL(), tx.Options{CacheDir: small, CacheMax: 1200})
	for i := range 10 {
		c3.ValidateCode(ctx, vsReferral, terminology.Coding{System: snomed, Code: "3457005", Version: string(rune('a' + i))})
	}
	var total int64
	_ = filepath.Walk(small, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			total += info.Size()
		}
		return nil
	})
	if total > 1200 || total == 0 {
		t.Errorf("cache holds %d bytes, want some and at most 1200", total)
	}
}

// TestService: the terminology service asks the server only what the
// packages and the table leave undecided, and keeps the offline reason when
// the server cannot decide either.
func TestService(t *testing.T) {
	src := mapSource{vsReferral: {"resourceType": "ValueSet", "url": vsReferral, "compose": map[string]any{"include": []any{
		map[string]any{"system": snomed, "filter": []any{map[string]any{"property": "concept", "op": "in", "value": "41000147108"}}},
		map[string]any{"system": "http://example.org/cs", "concept": []any{map[string]any{"code": "a"}}},
	}}}}
	srv := txtest.Start(txtest.ReferenceXIS(), txtest.Normal)
	defer srv.Close()
	c := client(t, srv.URL(), tx.Options{})
	svc := terminology.New(src, terminology.WithRemote(c))
	for _, tc := range []struct {
		name string
		c    terminology.Coding
		want terminology.Outcome
	}{
		{"server says member", terminology.Coding{System: snomed, Code: "3457005"}, terminology.Member},
		{"server says not a member", terminology.Coding{System: snomed, Code: "73211009"}, terminology.NotMember},
		{"decided offline, not asked", terminology.Coding{System: "http://example.org/cs", Code: "a"}, terminology.Member},
		{"code in system: $lookup knows it", terminology.Coding{System: loinc, Code: "718-7"}, terminology.Member},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs := vsReferral
			if strings.HasPrefix(tc.name, "code in system") {
				vs = "" // ValidateCode without a value set checks the code in its system
			}
			if r := svc.ValidateCode(vs, tc.c); r.Outcome != tc.want {
				t.Fatalf("%v %s, want %v", r.Outcome, r.Message, tc.want)
			}
		})
	}
	if n := len(c.Answers()); n != 3 {
		t.Errorf("%d questions asked, want 3 (the offline decision is not asked)", n)
	}
	srv.SetMode(txtest.Fail)
	r := svc.ValidateCode(vsReferral, terminology.Coding{System: snomed, Code: "308292007"})
	if r.Outcome != terminology.Unknown || !strings.Contains(r.Message, "concept in 41000147108") || !strings.Contains(r.Message, "HTTP 500") {
		t.Errorf("a failing server: %v %q; want unknown with both reasons", r.Outcome, r.Message)
	}
}

// TestEvidence: the answers are written as JSON with what was sent and
// what came back.
func TestEvidence(t *testing.T) {
	srv := txtest.Start(txtest.ReferenceXIS(), txtest.Normal)
	defer srv.Close()
	c := client(t, srv.URL(), tx.Options{})
	c.ValidateCode(context.Background(), vsReferral, terminology.Coding{System: snomed, Code: "3457005"})
	p := filepath.Join(t.TempDir(), "tx.json")
	if err := c.WriteAnswers(p); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	var got struct {
		Server  string
		Answers []tx.Answer
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Server != srv.URL() || len(got.Answers) != 1 {
		t.Fatalf("evidence %s", data)
	}
	a := got.Answers[0]
	var req, resp bytes.Buffer
	_ = json.Compact(&req, a.Request)
	_ = json.Compact(&resp, a.Response)
	if a.From != "server" || a.Status != 200 || a.Outcome != "member" || !strings.Contains(req.String(), `"valueCode":"3457005"`) || !strings.Contains(resp.String(), `"valueBoolean":true`) {
		t.Errorf("answer %+v", a)
	}
}

// TestNewRejects: a base URL that is not an http(s) FHIR base is refused.
func TestNewRejects(t *testing.T) {
	for _, tc := range []struct{ name, url string }{
		{"empty", ""},
		{"no scheme", "tx.example.org/fhir"},
		{"ftp", "ftp://tx.example.org/fhir"},
		{"query", "http://127.0.0.1/fhir?x=1"},
		{"no host", "http:///fhir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tx.New(tc.url, tx.Options{CacheDir: "off"}); err == nil {
				t.Fatalf("%q accepted", tc.url)
			}
		})
	}
}

type mapSource map[string]map[string]any

func (m mapSource) Resource(canonical string) (map[string]any, bool) {
	r, ok := m[canonical]
	return r, ok
}

// TestConcurrent: many validations at once ask each distinct question once.
func TestConcurrent(t *testing.T) {
	srv := txtest.Start(txtest.ReferenceXIS(), txtest.Normal)
	defer srv.Close()
	c := client(t, srv.URL(), tx.Options{})
	codes := []string{"3457005", "308292007", "73211009"}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			c.ValidateCode(context.Background(), vsReferral, terminology.Coding{System: snomed, Code: codes[i%len(codes)]})
		})
	}
	wg.Wait()
	if srv.Requests() != int64(len(codes)) || len(c.Answers()) != len(codes) {
		t.Errorf("%d requests, %d answers logged; want %d of each", srv.Requests(), len(c.Answers()), len(codes))
	}
}

// TestToken: a server that requires a bearer token gets it; without it the
// answer is undecided, naming the refusal.
func TestToken(t *testing.T) {
	srv := txtest.Start(txtest.ReferenceXIS(), txtest.Normal)
	defer srv.Close()
	srv.RequireToken("s3cret-token")
	member := terminology.Coding{System: snomed, Code: "3457005"}
	with := client(t, srv.URL(), tx.Options{Token: "s3cret-token"})
	if r := with.ValidateCode(context.Background(), vsReferral, member); r.Outcome != terminology.Member {
		t.Errorf("with the token: %v %s", r.Outcome, r.Message)
	}
	without := client(t, srv.URL(), tx.Options{})
	if r := without.ValidateCode(context.Background(), vsReferral, member); r.Outcome != terminology.Unknown || !strings.Contains(r.Message, "HTTP 401") {
		t.Errorf("without the token: %v %s", r.Outcome, r.Message)
	}
	for _, a := range with.Answers() {
		if strings.Contains(string(a.Request)+a.URL+a.Message, "s3cret") {
			t.Errorf("the token is in the answer log: %+v", a)
		}
	}
}
