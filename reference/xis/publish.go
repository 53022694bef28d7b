package xis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
)

// IndexEnv names the environment variable that gives `bcbench reference
// serve --role xis` the FHIR base of the index it registers in.
const IndexEnv = "BCBENCH_INDEX_URL"

// indexTimeout bounds one exchange with the index: a slow or dead index
// delays an event by at most this, and never fails it.
const indexTimeout = 10 * time.Second

// publisher is the reference XIS's publisher side of the chain: after an
// event it registers the client's record in the index (ITI-65 Provide
// Document Bundle), replaces its earlier pointer on every update, and
// withdraws the pointers on a deletion request or withdrawn consent.
// Failures are logged, never fatal: the XIS keeps serving.
type publisher struct {
	base   string // the index's FHIR base
	client *http.Client
	logf   func(format string, args ...any)
	now    func() time.Time

	mu       sync.Mutex
	clients  map[string]*registered // by BSN
	children map[string][]string    // mother's BSN → her children's
	// withdrawn holds the mothers who withdrew consent: nothing of theirs
	// is registered until they give it again. It follows the events, not
	// the XIS's store, so that an XIS mutant's defect stays its own.
	withdrawn map[string]bool
	// care holds, by mother's BSN, the URAs of the organisations with a
	// care relationship with her family (those that registered for her or
	// her children, those her care was handed over to), as the events told
	// them: each pointer names them (context.related).
	care map[string]map[string]bool
}

// registered is what the XIS registered in the index for one client.
type registered struct {
	mu      sync.Mutex
	n       int            // pointers made so far
	current map[string]any // the current pointer as registered, with its id
	ids     []string       // every pointer id at the index (to withdraw them)
}

func newPublisher(base string, logf func(string, ...any), now func() time.Time) *publisher {
	if logf == nil {
		logf = log.Printf
	}
	return &publisher{
		base:      strings.TrimSuffix(base, "/"),
		client:    &http.Client{Timeout: indexTimeout},
		logf:      logf,
		now:       now,
		clients:   map[string]*registered{},
		children:  map[string][]string{},
		withdrawn: map[string]bool{},
		care:      map[string]map[string]bool{},
	}
}

func (p *publisher) of(bsn string) *registered {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.clients[bsn]
	if r == nil {
		r = &registered{}
		p.clients[bsn] = r
	}
	return r
}

// family is the client's BSN and her children's, as the events told them,
// and whether she shares her data (after this event's consent change).
func (p *publisher) family(reg fixtures.Registration) ([]string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	mother := reg.Client.BSN
	if reg.Consent != nil {
		p.withdrawn[mother] = !*reg.Consent
	}
	if p.care[mother] == nil {
		p.care[mother] = map[string]bool{}
	}
	for _, org := range []*fixtures.Provider{&reg.Author, reg.Recipient} {
		if org != nil && org.URA != "" {
			p.care[mother][org.URA] = true
		}
	}
	if reg.Subject != nil && reg.Subject.BSN != mother {
		kids := p.children[mother]
		found := false
		for _, k := range kids {
			found = found || k == reg.Subject.BSN
		}
		if !found {
			p.children[mother] = append(kids, reg.Subject.BSN)
		}
	}
	return append([]string{mother}, p.children[mother]...), !p.withdrawn[mother]
}

// after tells the index what one event changed. base is the XIS's own FHIR
// base as the bench reached it.
func (p *publisher) after(ctx context.Context, reg fixtures.Registration, base string) {
	family, shared := p.family(reg)
	switch {
	case reg.Kind == fixtures.Deletion || (reg.Consent != nil && !*reg.Consent):
		for _, bsn := range family {
			p.withdraw(ctx, bsn)
		}
	case reg.Consent != nil && *reg.Consent, reg.Recipient != nil && shared:
		// consent given again, or the care handed over: every record of the
		// family is registered (again), naming the receiving organisation
		for _, bsn := range family {
			p.register(ctx, bsn, reg.Author, base)
		}
	case shared:
		who := reg.Client.BSN
		if reg.Subject != nil {
			who = reg.Subject.BSN
		}
		p.register(ctx, who, reg.Author, base)
	}
}

// register makes a new pointer to the client's record, replacing the
// current one.
func (p *publisher) register(ctx context.Context, bsn string, author fixtures.Provider, base string) {
	r := p.of(bsn)
	r.mu.Lock()
	defer r.mu.Unlock()
	source := "urn:uuid:" + truth.ID("XIS|"+base)
	care, mother := p.careTeam(bsn, author.URA)
	ptr := truth.Pointer{
		UniqueID: truth.PointerUniqueID(source, bsn, r.n+1),
		BSN:      bsn,
		URL:      base + "/Patient/" + truth.PatientID(bsn),
		Author:   author,
		CareTeam: care,
		Mother:   mother,
		Date:     p.now(),
	}
	if r.current != nil {
		ptr.Replaces, ptr.Old = "DocumentReference/"+r.current["id"].(string), r.current
	}
	bundle := truth.ProvideBundle(source, source+"|"+bsn+"|"+strconv.Itoa(r.n+1), ptr)
	id, err := p.provide(ctx, bundle)
	if err != nil {
		p.logf("reference xis: registering client %s in the index %s: %v", mask(bsn), p.base, err)
		return
	}
	r.n++
	doc := ptr.DocumentReference()
	doc["id"] = id
	r.current = doc
	r.ids = append(r.ids, id)
}

// careTeam lists the URAs, but the author's, of the organisations with a
// care relationship with the client's family, sorted, and, for a child,
// her mother's BSN.
func (p *publisher) careTeam(bsn, author string) (care []string, mother string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	family := bsn
	for m, kids := range p.children {
		if slices.Contains(kids, bsn) {
			family, mother = m, m
		}
	}
	for ura := range p.care[family] {
		if ura != author {
			care = append(care, ura)
		}
	}
	slices.Sort(care)
	return care, mother
}

// withdraw deletes every pointer the XIS registered for the client.
func (p *publisher) withdraw(ctx context.Context, bsn string) {
	r := p.of(bsn)
	r.mu.Lock()
	defer r.mu.Unlock()
	var kept []string
	for _, id := range r.ids {
		if err := p.remove(ctx, id); err != nil {
			p.logf("reference xis: withdrawing pointer %s of client %s from the index %s: %v", id, mask(bsn), p.base, err)
			kept = append(kept, id)
		}
	}
	r.ids, r.current = kept, nil
}

// provide sends an ITI-65 transaction and returns the id of the pointer it
// made (the second entry; the first is the SubmissionSet).
func (p *publisher) provide(ctx context.Context, bundle map[string]any) (string, error) {
	body, err := json.Marshal(bundle)
	if err != nil {
		return "", fmt.Errorf("encoding bundle: %w", err)
	}
	reply, status, err := p.send(ctx, http.MethodPost, p.base, body)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("index answered %d: %.300s", status, reply)
	}
	var resp struct {
		Entry []struct {
			Response struct {
				Location string `json:"location"`
			} `json:"response"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(reply, &resp); err != nil || len(resp.Entry) < 2 {
		return "", fmt.Errorf("reading transaction-response: %d entries, %v", len(resp.Entry), err)
	}
	segs := strings.Split(resp.Entry[1].Response.Location, "/")
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] == "DocumentReference" && segs[i+1] != "" {
			return segs[i+1], nil
		}
	}
	return "", fmt.Errorf("reading transaction-response: location %q names no DocumentReference", resp.Entry[1].Response.Location)
}

// remove deletes one pointer; one already gone is no error.
func (p *publisher) remove(ctx context.Context, id string) error {
	reply, status, err := p.send(ctx, http.MethodDelete, p.base+"/DocumentReference/"+id, nil)
	if err != nil {
		return err
	}
	switch status {
	case http.StatusOK, http.StatusNoContent, http.StatusNotFound, http.StatusGone:
		return nil
	}
	return fmt.Errorf("index answered %d: %.300s", status, reply)
}

func (p *publisher) send(ctx context.Context, method, u string, body []byte) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, indexTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("building request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("reading answer: %w", err)
	}
	return reply, resp.StatusCode, nil
}

// mask shows a BSN in a log line by its last three digits only.
func mask(bsn string) string {
	if len(bsn) < 3 {
		return "…"
	}
	return "…" + bsn[len(bsn)-3:]
}
