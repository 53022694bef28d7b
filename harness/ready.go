package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Prober is implemented by targets that can tell whether they still run; the
// bench asks it when a candidate stops answering, to say why.
type Prober interface {
	// Alive returns nil while the target runs, and why it stopped otherwise.
	Alive(ctx context.Context) error
}

// ErrNotStarted is returned by targets asked for something before Start.
var ErrNotStarted = errors.New("target not started")

// readBounded reads at most max bytes, failing beyond.
func readBounded(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return b, nil
}

// fileSHA256 returns the hex sha256 of a file.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var (
	selfOnce sync.Once
	selfPath string
	selfSum  string
)

// selfIdentity returns the running bench binary's path and sha256.
func selfIdentity() (string, string) {
	selfOnce.Do(func() {
		p, err := os.Executable()
		if err != nil {
			return
		}
		selfPath = p
		selfSum, _ = fileSHA256(p)
	})
	return selfPath, selfSum
}

// healthClient is used only to poll health endpoints. It follows no
// redirect: a health endpoint that sends the bench elsewhere is not
// healthy, and the token goes nowhere but the candidate.
var healthClient = &http.Client{
	Timeout: 2 * time.Second,
	Transport: &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// waitHealthy polls GET url until it answers 200, ctx ends, or alive (when
// set) says the target stopped. It returns the last problem seen.
func waitHealthy(ctx context.Context, url, token string, alive func(context.Context) error) error {
	shown := RedactURL(url)
	delay := 20 * time.Millisecond
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("building health request: %w", err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := healthClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("GET %s answered %d", shown, resp.StatusCode)
			if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
				last = fmt.Errorf("GET %s answered %d, a redirect to %s: the bench follows none", shown, resp.StatusCode, RedactURL(loc))
			}
		} else if ctx.Err() == nil || last == nil {
			// A request cut short by the deadline says less than the
			// answer before it.
			last = errors.New(RedactUserinfo(err.Error()))
		}
		if alive != nil {
			if err := alive(ctx); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			return fmt.Errorf("waiting for %s: %w (last: %v)", shown, ctx.Err(), last)
		case <-time.After(delay):
		}
		if delay < 250*time.Millisecond {
			delay *= 2
		}
	}
}

// maxCapability bounds a CapabilityStatement read for identity.
const maxCapability = 4 << 20

// software reads [fhirBase]/metadata and returns the CapabilityStatement's
// software name and version ("name version"), or "" with the reason.
func software(ctx context.Context, client *http.Client, metadataURL, token string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metadataURL, nil)
	if err != nil {
		return "", fmt.Errorf("building metadata request: %w", err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("reading CapabilityStatement: %w", err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		resp.Body.Close()
		return "", fmt.Errorf("reading CapabilityStatement: GET %s answered %d, a redirect: not followed", RedactURL(metadataURL), resp.StatusCode)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("reading CapabilityStatement: GET %s answered %d", metadataURL, resp.StatusCode)
	}
	body, err := readBounded(resp.Body, maxCapability)
	if err != nil {
		return "", fmt.Errorf("reading CapabilityStatement: %w", err)
	}
	var cs struct {
		ResourceType string `json:"resourceType"`
		Software     struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"software"`
	}
	if err := json.Unmarshal(body, &cs); err != nil {
		return "", fmt.Errorf("reading CapabilityStatement: %w", err)
	}
	if cs.ResourceType != "CapabilityStatement" {
		return "", fmt.Errorf("reading CapabilityStatement: got resourceType %q", cs.ResourceType)
	}
	s := strings.TrimSpace(cs.Software.Name + " " + cs.Software.Version)
	if s == "" {
		return "", errors.New("reading CapabilityStatement: no software name or version")
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s, nil
}
