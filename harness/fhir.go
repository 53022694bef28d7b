package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// maxFHIRReply bounds what the bench reads of one FHIR answer.
const maxFHIRReply = 32 << 20

// Bounds of one search over all its pages: a candidate cannot make the
// bench hold more than this of one answer.
const (
	maxSearchBytes   = 64 << 20
	maxSearchEntries = 10000
	maxSearchPages   = 50
)

// FHIR is the bench's client for a candidate's FHIR REST API (JSON).
type FHIR struct {
	// Base is the FHIR base URL, e.g. http://127.0.0.1:8080/fhir.
	Base string
	// Client sends the requests; it must carry a timeout.
	Client *http.Client
	// Token, when set, is sent as a bearer token.
	Token string
}

// Resource is a FHIR resource as a JSON-shaped tree.
type Resource = map[string]any

// StatusError is returned when the server answers with an unexpected status.
type StatusError struct {
	URL    string
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s answered %d: %s", e.URL, e.Status, e.Body)
}

// Metadata reads the CapabilityStatement at [base]/metadata.
func (f *FHIR) Metadata(ctx context.Context) (Resource, error) {
	return f.get(ctx, "metadata", nil)
}

// Read reads [base]/Type/id.
func (f *FHIR) Read(ctx context.Context, typ, id string) (Resource, error) {
	return f.get(ctx, url.PathEscape(typ)+"/"+url.PathEscape(id), nil)
}

// Search runs a type-level search and returns the entries' resources whose
// search mode is match (or absent), following next links up to a bound.
func (f *FHIR) Search(ctx context.Context, typ string, params url.Values) ([]Resource, error) {
	var out []Resource
	err := f.pages(ctx, typ, params, func(bundle Resource) error {
		if bundle["resourceType"] != "Bundle" || bundle["type"] != "searchset" {
			return fmt.Errorf("searching %s: answer is not a searchset Bundle (resourceType %v, type %v)", typ, bundle["resourceType"], bundle["type"])
		}
		out = append(out, Matches(bundle)...)
		if len(out) > maxSearchEntries {
			return fmt.Errorf("searching %s: more than %d matches; %w", typ, maxSearchEntries, ErrBound)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SearchEntry is one entry of a searchset: its resource, its fullUrl and
// whether it is a match (not an include or an outcome).
type SearchEntry struct {
	FullURL  string
	Resource Resource
	Match    bool
}

// SearchEntries runs a type-level search and returns every entry that holds
// a resource (matches and includes, with their fullUrl), following next
// links up to the same bounds as Search.
func (f *FHIR) SearchEntries(ctx context.Context, typ string, params url.Values) ([]SearchEntry, error) {
	var out []SearchEntry
	err := f.pages(ctx, typ, params, func(bundle Resource) error {
		if bundle["resourceType"] != "Bundle" || bundle["type"] != "searchset" {
			return fmt.Errorf("searching %s: answer is not a searchset Bundle (resourceType %v, type %v)", typ, bundle["resourceType"], bundle["type"])
		}
		entries, _ := bundle["entry"].([]any)
		for _, e := range entries {
			entry, _ := e.(map[string]any)
			res, _ := entry["resource"].(map[string]any)
			if res == nil {
				continue
			}
			match := true
			if search, ok := entry["search"].(map[string]any); ok {
				if mode, _ := search["mode"].(string); mode != "" && mode != "match" {
					match = false
				}
			}
			full, _ := entry["fullUrl"].(string)
			out = append(out, SearchEntry{FullURL: full, Resource: res, Match: match})
		}
		if len(out) > maxSearchEntries {
			return fmt.Errorf("searching %s: more than %d entries; %w", typ, maxSearchEntries, ErrBound)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SearchPages runs a type-level search and returns every page of the answer
// as the server sent it, following next links up to the same bounds as
// Search; it does not judge the pages.
func (f *FHIR) SearchPages(ctx context.Context, typ string, params url.Values) ([]Resource, error) {
	var out []Resource
	err := f.pages(ctx, typ, params, func(bundle Resource) error {
		out = append(out, bundle)
		return nil
	})
	return out, err
}

// pages fetches a search and its next pages, handing each to page.
func (f *FHIR) pages(ctx context.Context, typ string, params url.Values, page func(Resource) error) error {
	u := strings.TrimSuffix(f.Base, "/") + "/" + url.PathEscape(typ)
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	total, entries := 0, 0
	for n := 0; ; n++ {
		bundle, size, err := f.fetch(ctx, u)
		if err != nil {
			return err
		}
		if total += size; total > maxSearchBytes {
			return fmt.Errorf("searching %s: the answer runs past %d bytes over %d pages; %w", typ, maxSearchBytes, n+1, ErrBound)
		}
		// Every caller keeps what a page holds: bound the entries over all
		// pages as Search bounds its matches, so that a few huge pages
		// cannot pile up in memory.
		list, _ := bundle["entry"].([]any)
		if entries += len(list); entries > maxSearchEntries {
			return fmt.Errorf("searching %s: more than %d entries over %d pages; %w", typ, maxSearchEntries, n+1, ErrBound)
		}
		if err := page(bundle); err != nil {
			return err
		}
		next := LinkURL(bundle, "next")
		if next == "" {
			return nil
		}
		if n+1 >= maxSearchPages {
			return fmt.Errorf("searching %s: more than %d pages; %w", typ, maxSearchPages, ErrBound)
		}
		u = next
	}
}

// Matches returns the resources of a searchset's entries whose search mode
// is match (or absent).
func Matches(bundle Resource) []Resource {
	var out []Resource
	entries, _ := bundle["entry"].([]any)
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		res, _ := entry["resource"].(map[string]any)
		if res == nil {
			continue
		}
		if search, ok := entry["search"].(map[string]any); ok {
			if mode, _ := search["mode"].(string); mode != "" && mode != "match" {
				continue
			}
		}
		out = append(out, res)
	}
	return out
}

// SearchBundle runs a type-level search and returns the raw Bundle.
func (f *FHIR) SearchBundle(ctx context.Context, typ string, params url.Values) (Resource, error) {
	return f.get(ctx, url.PathEscape(typ), params)
}

func (f *FHIR) get(ctx context.Context, path string, params url.Values) (Resource, error) {
	u := strings.TrimSuffix(f.Base, "/") + "/" + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	return f.getURL(ctx, u)
}

func (f *FHIR) getURL(ctx context.Context, u string) (Resource, error) {
	r, _, err := f.fetch(ctx, u)
	return r, err
}

// fetch reads one FHIR answer and says how many bytes it had.
func (f *FHIR) fetch(ctx context.Context, u string) (Resource, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("building request for %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	// An answer past largeReply bytes is read and decoded one at a time
	// (a decoded answer takes several times its bytes), so that concurrent
	// readers (the clock's polls, a population's specs) of a candidate
	// serving huge pages do not pile them up in memory.
	release := func() {}
	defer func() { release() }()
	body, status, err := sendGated(f.Client, req, f.Token, maxFHIRReply, largeReply, func() error {
		select {
		case largeDecode <- struct{}{}:
			release = func() { <-largeDecode }
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", u, err)
	}
	if status != http.StatusOK {
		return nil, len(body), &StatusError{URL: u, Status: status, Body: snippet(body)}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var r Resource
	if err := dec.Decode(&r); err != nil {
		return nil, len(body), fmt.Errorf("decoding answer of %s: %w (body %s)", u, err, snippet(body))
	}
	return r, len(body), nil
}

// ErrBound is wrapped by a search that ran past one of the bench's bounds
// (entries, bytes, pages): asking again gets the same answer.
var ErrBound = errors.New("the bench stops there")

// largeReply is the size past which an answer waits for largeDecode.
const largeReply = 4 << 20

var largeDecode = make(chan struct{}, 1)

// LinkURL returns the url of a Bundle's link with the given relation, or "".
func LinkURL(bundle Resource, relation string) string {
	links, _ := bundle["link"].([]any)
	for _, l := range links {
		link, _ := l.(map[string]any)
		if link["relation"] == relation {
			s, _ := link["url"].(string)
			return s
		}
	}
	return ""
}

// ReadURL reads a resource at an absolute URL, e.g. where a pointer in an
// index leads: it goes through the client's redirect and host policy.
func (f *FHIR) ReadURL(ctx context.Context, u string) (Resource, error) {
	return f.getURL(ctx, u)
}

// Transaction posts a Bundle to [base] (a FHIR transaction, such as IHE
// ITI-65 Provide Document Bundle) and returns the status and the answer;
// a refusal (4xx) is an answer, not an error.
func (f *FHIR) Transaction(ctx context.Context, bundle Resource) (int, Resource, error) {
	body, err := json.Marshal(bundle)
	if err != nil {
		return 0, nil, fmt.Errorf("encoding transaction: %w", err)
	}
	u := strings.TrimSuffix(f.Base, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("building transaction for %s: %w", u, err)
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	return f.answer(req)
}

// Delete sends DELETE [base]/Type/id and returns the status and the answer
// (an OperationOutcome or nothing).
func (f *FHIR) Delete(ctx context.Context, typ, id string) (int, Resource, error) {
	u := strings.TrimSuffix(f.Base, "/") + "/" + url.PathEscape(typ) + "/" + url.PathEscape(id)
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("building delete for %s: %w", u, err)
	}
	return f.answer(req)
}

// answer sends a request and decodes a JSON answer, if any.
func (f *FHIR) answer(req *http.Request) (int, Resource, error) {
	req.Header.Set("Accept", "application/fhir+json")
	body, status, err := send(f.Client, req, f.Token, maxFHIRReply)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return status, nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var r Resource
	if err := dec.Decode(&r); err != nil {
		return status, nil, fmt.Errorf("decoding answer of %s %s: %w (body %s)", req.Method, req.URL, err, snippet(body))
	}
	return status, r, nil
}

// SearchForm runs a type-level search as POST [base]/Type/_search with the
// parameters form-encoded (FHIR R4 search.html; IHE MHD ITI-67 asks a
// Document Responder to take both) and returns the matches of the first
// page.
func (f *FHIR) SearchForm(ctx context.Context, typ string, params url.Values) ([]Resource, error) {
	u := strings.TrimSuffix(f.Base, "/") + "/" + url.PathEscape(typ) + "/_search"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(params.Encode()))
	if err != nil {
		return nil, fmt.Errorf("building search for %s: %w", u, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, bundle, err := f.answer(req)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, &StatusError{URL: u, Status: status, Body: snippet([]byte(fmt.Sprint(bundle)))}
	}
	if bundle["resourceType"] != "Bundle" || bundle["type"] != "searchset" {
		return nil, fmt.Errorf("searching %s: answer is not a searchset Bundle (resourceType %v, type %v)", typ, bundle["resourceType"], bundle["type"])
	}
	return Matches(bundle), nil
}
