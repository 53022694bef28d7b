package harness

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFHIRClientAnswersBadServersWithErrors(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"garbage", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<html>not fhir")) }, "decoding"},
		{"not a searchset", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte(`{"resourceType":"Bundle","type":"collection"}`))
		}, "searchset"},
		{"server error", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) }, "500"},
		{"too large", func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte(`{"resourceType":"Bundle","x":"`))
			chunk := []byte(strings.Repeat("a", 1<<20))
			for range 40 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, "larger than"},
		{"hangs", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, "Client.Timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(tc.handler)
			defer ts.Close()
			timeout := 5 * time.Second // time enough to send 40 MB, also under -race
			if tc.name == "hangs" {
				timeout = 500 * time.Millisecond
			}
			f := &FHIR{Base: ts.URL, Client: &http.Client{Timeout: timeout}}
			_, err := f.Search(context.Background(), "Observation", url.Values{"patient": {"p"}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Search() error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestFHIRSearchFollowsNextAndSkipsIncludes(t *testing.T) {
	var ts *httptest.Server
	ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Observation","id":"b"}}]}`))
			return
		}
		w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"` + ts.URL + `/Observation?page=2"}],
			"entry":[{"resource":{"resourceType":"Observation","id":"a"},"search":{"mode":"match"}},
			         {"resource":{"resourceType":"Practitioner","id":"x"},"search":{"mode":"include"}}]}`))
	}))
	defer ts.Close()
	f := &FHIR{Base: ts.URL}
	got, err := f.Search(context.Background(), "Observation", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["id"] != "a" || got[1]["id"] != "b" {
		t.Fatalf("Search() = %v, want a and b", got)
	}
	pages, err := f.SearchPages(context.Background(), "Observation", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 2 || len(Matches(pages[0])) != 1 || len(Matches(pages[1])) != 1 {
		t.Fatalf("SearchPages() = %v, want two pages with one match each", pages)
	}
}

func TestAdapter(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		wantErr string
	}{
		{"accepted with receipt", 201, `{"registered":"2026-11-23T12:00:00Z","resources":["Observation/1"]}`, ""},
		{"accepted without body", 202, ``, ""},
		{"refused", 422, `{"resourceType":"OperationOutcome"}`, "422"},
		{"garbage receipt", 201, `<<<`, "receipt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer s3cret" {
					w.WriteHeader(401)
					return
				}
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer ts.Close()
			a := &Adapter{Base: ts.URL, Token: "s3cret"}
			_, err := a.Register(context.Background(), map[string]string{"event": "e1"})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Register() error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestAdapterSaysWhenThereWasNoAnswer(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so the server notices when the client gives up
		<-r.Context().Done()
	}))
	defer ts.Close()
	a := &Adapter{Base: ts.URL, Client: &http.Client{Timeout: 200 * time.Millisecond}}
	if _, err := a.Register(context.Background(), map[string]string{"event": "e1"}); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("Register() on a hanging adapter = %v, want ErrNoAnswer", err)
	}
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(422) }))
	defer refusing.Close()
	a.Base = refusing.URL
	if _, err := a.Register(context.Background(), map[string]string{"event": "e1"}); err == nil || errors.Is(err, ErrNoAnswer) {
		t.Fatalf("Register() on a refusing adapter = %v, want an error that is not ErrNoAnswer", err)
	}
}

// TestFHIRTransactionDeleteAndReadURL: a refusal is an answer (status and
// OperationOutcome), an empty answer is no error, garbage and hangs are.
func TestFHIRTransactionDeleteAndReadURL(t *testing.T) {
	var mu sync.Mutex
	var got []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		mu.Unlock()
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/fhir":
			w.WriteHeader(http.StatusUnprocessableEntity)
			w.Write([]byte(`{"resourceType":"OperationOutcome"}`))
		case r.Method == http.MethodDelete && r.URL.EscapedPath() == "/fhir/DocumentReference/a%2Fb":
			w.WriteHeader(http.StatusNoContent)
		case r.URL.Path == "/elsewhere/Patient/1":
			w.Write([]byte(`{"resourceType":"Patient","id":"1"}`))
		case r.Method == http.MethodPost && r.URL.Path == "/fhir/DocumentReference/_search" && r.FormValue("status") == "current":
			w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"DocumentReference"}}]}`))
		case r.URL.Path == "/garbage":
			w.Write([]byte("<html>"))
		default:
			<-r.Context().Done()
		}
	}))
	defer ts.Close()
	f := &FHIR{Base: ts.URL + "/fhir/", Client: &http.Client{Timeout: time.Second}}
	ctx := context.Background()
	cases := []struct {
		name    string
		do      func() (int, Resource, error)
		status  int
		typ     any
		wantErr string
	}{
		{"refused transaction", func() (int, Resource, error) {
			return f.Transaction(ctx, Resource{"resourceType": "Bundle", "type": "transaction"})
		}, 422, "OperationOutcome", ""},
		{"delete without body", func() (int, Resource, error) { return f.Delete(ctx, "DocumentReference", "a/b") }, 204, nil, ""},
		{"read an absolute URL", func() (int, Resource, error) {
			r, err := f.ReadURL(ctx, ts.URL+"/elsewhere/Patient/1")
			return 200, r, err
		}, 200, "Patient", ""},
		{"search by POST", func() (int, Resource, error) {
			found, err := f.SearchForm(ctx, "DocumentReference", url.Values{"status": {"current"}})
			if len(found) != 1 {
				return 0, nil, err
			}
			return 200, found[0], err
		}, 200, "DocumentReference", ""},
		{"garbage", func() (int, Resource, error) {
			f := *f
			f.Base = ts.URL + "/garbage"
			return f.Transaction(ctx, Resource{})
		}, 200, nil, "decoding"},
		{"hangs", func() (int, Resource, error) { return f.Delete(ctx, "X", "1") }, 0, nil, "Client.Timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, r, err := tc.do()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || status != tc.status || r["resourceType"] != tc.typ {
				t.Fatalf("= %d %v %v, want %d %v", status, r["resourceType"], err, tc.status, tc.typ)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if got[0] != "POST /fhir application/fhir+json" {
		t.Errorf("transaction sent as %q", got[0])
	}
}
