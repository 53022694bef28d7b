package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/browser"
)

// TestViewerImageRun: `bcbench run --profile zelftest-viewer` judges a
// viewer delivered as an image. The reference viewer image runs on the
// run's internal Docker network (no route out); it reaches the XIS the
// bench plays for it only at bcbench-xis, through the back relay, while the
// browser reaches the viewer (its relay) and the authorization endpoint on
// loopback. The reference passes VWR-01..08 and the same image with the
// defect gewicht-in-gram fails exactly VWR-04; the browser's network logs
// name no host but those two, and a run leaves no container or network
// behind.
func TestViewerImageRun(t *testing.T) {
	if testing.Short() {
		t.Skip("a viewer run in chromium against a container")
	}
	if _, err := browser.Find(""); err != nil {
		t.Skip(err)
	}
	image := roleImage(t, "viewer")
	cases := []struct {
		name, defect string
		want         []string
	}{
		{name: "reference"},
		{name: "gewicht-in-gram", defect: "gewicht-in-gram", want: []string{"VWR-04=fail"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			viewerImageRun(t, image, tc.defect, tc.want)
		})
	}
}

// viewerImageRun runs zelftest-viewer on the viewer image (with the
// reference's defect, when named) and checks what it judged, the hosts
// the browser reached and what the run left behind.
func viewerImageRun(t *testing.T, image, defect string, want []string) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	manifest := filepath.Join(dir, "viewer.yaml")
	doc := "name: viewer in een container\nversion: dev\nroles:\n  viewer:\n    image:\n      name: " + image +
		"\n      port: 8080\n      env:\n        BCBENCH_REFERENCE_DEFECT: \"" + defect + "\"\n    viewer:\n      clientId: bcbench-viewer\n      auditEvent: /fhir/AuditEvent\n"
	if err := os.WriteFile(manifest, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	id := runID()
	code, text := benchEnvIn(t, filepath.Join(dir, "config"), []string{"BCBENCH_RUN_ID=" + id},
		"run", "--profile", "zelftest-viewer", "--candidate", manifest, "--out", out, "--quiet", "--timeliness-limit", "viewer=5s")
	res := readResults(t, out)
	var judged []string
	for _, r := range res.Requirements {
		judged = append(judged, r.ID)
	}
	if got := failed(res); !slices.Equal(got, want) || len(judged) != 8 {
		t.Fatalf("requirements not passed = %v of %v, want %v of VWR-01..08 (exit %d)\n%s", got, judged, want, code, text)
	}
	if wantCode := min(len(want), 1); code != wantCode {
		t.Fatalf("exit %d, want %d\n%s", code, wantCode, text)
	}
	// Every request of every judged page went to loopback, to at most two
	// hosts: the viewer's relay and the bench's authorization endpoint. The
	// viewer's own reads of the XIS (bcbench-xis) never pass the browser.
	hosts := map[string]bool{}
	for _, e := range res.Evidence {
		if !strings.HasPrefix(e.Path, "evidence/viewer-") || !strings.HasSuffix(e.Path, ".har") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(out, e.Path))
		if err != nil {
			t.Fatal(err)
		}
		urls, err := harRequestURLs(data)
		if err != nil {
			t.Fatalf("%s: %v", e.Path, err)
		}
		for _, raw := range urls {
			u, err := url.Parse(raw)
			if err != nil || u.Hostname() != "127.0.0.1" {
				t.Errorf("%s: the browser asked %s, not on loopback", e.Path, raw)
				continue
			}
			hosts[u.Host] = true
		}
	}
	if len(hosts) == 0 || len(hosts) > 2 {
		t.Errorf("the browser reached hosts %v, want the viewer's and the authorization server's", slices.Sorted(maps.Keys(hosts)))
	}
	if left := leftovers(t, id); left != "" {
		t.Errorf("the run left behind:\n%s", left)
	}
}

// harRequestURLs reads a network log (HAR) and returns the URL of each
// request it holds; an error when it is no HAR with entries.
func harRequestURLs(data []byte) ([]string, error) {
	var h struct {
		Log struct {
			Entries []struct {
				Request struct{ URL string } `json:"request"`
			} `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("no network log: %w", err)
	}
	if len(h.Log.Entries) == 0 {
		return nil, errors.New("a network log without entries")
	}
	urls := make([]string, len(h.Log.Entries))
	for i, e := range h.Log.Entries {
		urls[i] = e.Request.URL
	}
	return urls, nil
}
