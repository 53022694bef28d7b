package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxAdapterReply bounds what the bench reads of an adapter's answer.
const maxAdapterReply = 1 << 20

// Adapter is the bench's client for a candidate's adapter contract
// (docs/adapter.md): POST {base}/events registers a scenario event, GET
// {base}/health says whether the candidate is ready.
type Adapter struct {
	// Base is the adapter's base URL, e.g. http://127.0.0.1:8080/bench.
	Base string
	// Client sends the requests; it must carry a timeout.
	Client *http.Client
	// Token, when set, is sent as a bearer token.
	Token string
}

// ErrNoAnswer marks an adapter call the candidate did not answer at all
// (refused connection, timeout, broken transfer), as opposed to a refusal.
var ErrNoAnswer = errors.New("no answer")

// Receipt is what an adapter answers to a registration.
type Receipt struct {
	// Registered is when the candidate says it stored the event.
	Registered time.Time `json:"registered"`
	// Resources optionally lists the resources the candidate made, as Type/id.
	Resources []string `json:"resources,omitempty"`
}

// Register sends one registration (any JSON-encodable value, normally a
// fixtures.Registration) and returns the candidate's receipt.
func (a *Adapter) Register(ctx context.Context, registration any) (Receipt, error) {
	body, err := json.Marshal(registration)
	if err != nil {
		return Receipt{}, fmt.Errorf("encoding registration: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(a.Base, "/")+"/events", bytes.NewReader(body))
	if err != nil {
		return Receipt{}, fmt.Errorf("building registration request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	return a.receipt(req, "registering event")
}

// Publish sends one event as the ADA instance a legacy XIS exports to a
// translator that publishes into the chain (POST {base}/publish,
// application/xml, docs/translator.md) and returns its receipt: it
// answers 201 once the translation is stored and registered in the index.
func (a *Adapter) Publish(ctx context.Context, ada []byte) (Receipt, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(a.Base, "/")+"/publish", bytes.NewReader(ada))
	if err != nil {
		return Receipt{}, fmt.Errorf("building publish request: %w", err)
	}
	req.Header.Set("Content-Type", "application/xml")
	return a.receipt(req, "publishing event")
}

// receipt sends an event and reads the adapter's receipt.
func (a *Adapter) receipt(req *http.Request, doing string) (Receipt, error) {
	reply, status, err := a.do(req)
	if err != nil {
		return Receipt{}, fmt.Errorf("%s: %w: %w", doing, ErrNoAnswer, err)
	}
	if status != http.StatusOK && status != http.StatusCreated && status != http.StatusAccepted {
		return Receipt{}, fmt.Errorf("%s: adapter answered %d: %s", doing, status, snippet(reply))
	}
	var r Receipt
	if len(bytes.TrimSpace(reply)) > 0 {
		if err := json.Unmarshal(reply, &r); err != nil {
			return Receipt{}, fmt.Errorf("reading adapter receipt: %w (body %s)", err, snippet(reply))
		}
	}
	return r, nil
}

// Health returns nil when GET {base}/health answers 200.
func (a *Adapter) Health(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(a.Base, "/")+"/health", nil)
	if err != nil {
		return fmt.Errorf("building health request: %w", err)
	}
	reply, status, err := a.do(req)
	if err != nil {
		return fmt.Errorf("asking adapter health: %w", err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("asking adapter health: answered %d: %s", status, snippet(reply))
	}
	return nil
}

func (a *Adapter) do(req *http.Request) ([]byte, int, error) {
	reply, status, err := send(a.Client, req, a.Token, maxAdapterReply)
	if err != nil {
		return nil, status, err
	}
	return reply, status, nil
}

// send sends a request with an optional bearer token through client (a
// client with a 30 s timeout when nil) and reads at most limit bytes of the
// answer; a longer answer is an error.
func send(client *http.Client, req *http.Request, token string, limit int64) ([]byte, int, error) {
	return sendGated(client, req, token, limit, 0, nil)
}

// sendGated is send that, when an answer runs past large bytes, calls gate
// before reading the rest (and gives up when gate fails): large answers
// then wait for their turn instead of piling up in memory together.
func sendGated(client *http.Client, req *http.Request, token string, limit, large int64, gate func() error) ([]byte, int, error) {
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	r := io.LimitReader(resp.Body, limit+1)
	var body []byte
	if gate != nil && large > 0 {
		body, err = io.ReadAll(io.LimitReader(r, large))
		if err == nil && int64(len(body)) == large {
			if err := gate(); err != nil {
				return nil, resp.StatusCode, fmt.Errorf("reading answer: %w", err)
			}
			var rest []byte
			rest, err = io.ReadAll(r)
			body = append(body, rest...)
		}
	} else {
		body, err = io.ReadAll(r)
	}
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("reading answer: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, resp.StatusCode, fmt.Errorf("reading answer: larger than %d bytes", limit)
	}
	return body, resp.StatusCode, nil
}

// snippet shortens a reply for an error message.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return fmt.Sprintf("%q", s)
}
