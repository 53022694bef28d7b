package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bcbench/bcbench/browser"
	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/profiles/certification"
	"github.com/bcbench/bcbench/reference/viewer"
	"github.com/bcbench/bcbench/suites/spec"
)

// viewerPageTimeout bounds one page of the viewer, from its launch to the
// last WCAG check, on a loaded 2-core machine.
const viewerPageTimeout = 60 * time.Second

// viewerRun is the viewer role of a run (docs/viewer.md): the XIS side the
// bench plays for it (the reference XIS with the bench's SMART authorization
// server on loopback, which the scenarios are replayed into) or its front
// for the run's own XIS, the one browser of the run, and the screenshots
// kept as evidence.
type viewerRun struct {
	stack   *viewer.Stack
	browser *browser.Browser
	spec    *spec.Viewer
	// xis and adapter are the XIS the bench plays, which the scenarios are
	// replayed into; nil when the viewer reads the run's XIS.
	xis     *harness.FHIR
	adapter *harness.Adapter
	// unexpose ends a container viewer's way to the XIS (exposeViewerXIS).
	unexpose func()

	closeOnce sync.Once
	mu        sync.Mutex
	shots     map[string][]string // evidence path → the requirements it shows
	err       error               // the first screenshot that could not be written
}

// viewerClient is how the bench opens the role: its launch address, its
// client_id and redirect URI, and its AuditEvent search (through the role's
// recording proxy; "" when it names none). The browser reaches the viewer
// at its own address (a command's 127.0.0.1:<port>, a url role's URL,
// the builtin's listener), where its redirect URI points.
func viewerClient(r *harness.Role) (viewer.Client, string, error) {
	base := strings.TrimSuffix(r.Proxy.Upstream(), "/")
	if r.Spec.Kind() == "url" {
		base = strings.TrimSuffix(r.Spec.URL, "/") // with a user:password, which Upstream hides
	}
	vs := r.Spec.Viewer
	if vs == nil {
		if r.Spec.Kind() != "builtin" {
			return viewer.Client{}, "", fmt.Errorf("role viewer names no viewer.clientId")
		}
		vs = &harness.ViewerSpec{ClientID: viewer.DefaultClientID, AuditEvent: viewer.AuditPath}
	}
	c := viewer.Client{LaunchURL: base + orDefault(vs.Launch, viewer.LaunchPath), ClientID: vs.ClientID, RedirectURI: vs.RedirectURI}
	if vs.ContextToken() {
		c.Launch, c.RedirectURI = viewer.LaunchContextToken, "" // no authorization-code flow
		return c, auditOf(r, vs), nil
	}
	switch {
	case c.RedirectURI == "":
		c.RedirectURI = base + viewer.CallbackPath
	case strings.HasPrefix(c.RedirectURI, "/"):
		c.RedirectURI = base + c.RedirectURI
	}
	ru, err1 := url.Parse(c.RedirectURI)
	bu, err2 := url.Parse(base)
	if err1 != nil || err2 != nil || ru.Host != bu.Host {
		return viewer.Client{}, "", fmt.Errorf("the viewer's redirectUri %s is not on its own host %s", harness.RedactURL(c.RedirectURI), bu.Host)
	}
	return c, auditOf(r, vs), nil
}

// auditOf is the viewer's AuditEvent search through its recording proxy;
// "" when it names none.
func auditOf(r *harness.Role, vs *harness.ViewerSpec) string {
	if vs.AuditEvent == "" {
		return ""
	}
	return r.URL() + vs.AuditEvent
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// startViewer starts the XIS side of the viewer role and the run's browser.
// Without chromium, or when it does not start, it fails: the run then ends
// with the bench's setup problem (exit 2, nothing judged), never with a
// verdict that blames the candidate.
// When on is set the viewer reads that XIS of the run (docs/viewer.md, "A
// viewer on your XIS") through the bench's front; else the bench plays the
// XIS for it (on host, when set: a viewer opened with a context token
// learned its issuer when it started).
func startViewer(ctx context.Context, r *harness.Role, limits certification.Limits, scenarios []*fixtures.Scenario, evidenceDir string, on *viewedXIS, host *viewer.Host) (*viewerRun, error) {
	// Without a browser nothing of the viewer can be judged: the bench's
	// setup problem (exit 2, every requirement not-tested), never a verdict.
	if _, err := browser.Find(""); err != nil {
		return nil, fmt.Errorf("de bench kan de viewer niet openen: geen browser (%w); installeer chromium of zet BCBENCH_CHROMIUM", err)
	}
	client, audit, err := viewerClient(r)
	if err != nil {
		return nil, err
	}
	reader, ok := fixtures.Reader(scenarios)
	if !ok {
		// without a professional the launches name nobody, and VWR-06
		// could not tell whose view was logged
		return nil, fmt.Errorf("the viewer's scenarios name no professional to open the viewer as")
	}
	var st *viewer.Stack
	if on != nil {
		if r.Spec.Kind() == "image" {
			return nil, fmt.Errorf("a viewer in a container cannot be judged on the run's XIS yet: give it as command or url")
		}
		st, err = on.front(ctx, client)
	} else {
		st, err = viewer.StartStack(ctx, viewer.StackOptions{External: &client, Host: host, Inner: viewerInner(r)})
	}
	if err != nil {
		return nil, fmt.Errorf("starting the XIS side of the viewer: %w", err)
	}
	unexpose, err := exposeViewerXIS(ctx, r, st)
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("letting the viewer's container reach the XIS: %w", err)
	}
	httpc := &http.Client{Timeout: limits.RequestTimeout}
	pro := viewer.Professional(reader)
	pid := func(c fixtures.Client) (string, error) { return truth.PatientID(c.BSN), nil }
	vr := &viewerRun{stack: st, shots: map[string][]string{}, unexpose: unexpose}
	if on != nil {
		pid = on.patientIDs(limits.RequestTimeout)
	} else {
		vr.xis = &harness.FHIR{Base: st.LocalFHIR(), Client: httpc}
		vr.adapter = &harness.Adapter{Base: st.XISURL + "/bench", Client: httpc}
	}
	vr.spec = &spec.Viewer{
		Launch: func(c fixtures.Client) (string, error) {
			id, err := pid(c)
			if err != nil {
				return "", err
			}
			return st.LaunchURL(id, pro)
		},
		Refusals: func(c fixtures.Client) (map[string]string, error) {
			id, err := pid(c)
			if err != nil {
				return nil, err
			}
			return st.Refusals(id, pro)
		},
		Origins:      st.Origins(),
		Professional: pro,
		PatientID:    func(c fixtures.Client) string { id, _ := pid(c); return id },
		AuditURL:     audit,
		Now:          time.Now,
		Timely:       limits.Timeliness.Viewer,
		Evidence:     vr.keep(evidenceDir),
		Network:      vr.keepNetwork(evidenceDir),
	}
	b, err := browser.Launch(ctx, browser.Options{PageTimeout: viewerPageTimeout})
	if err != nil {
		vr.close()
		return nil, fmt.Errorf("de bench kan de viewer niet openen: de browser start niet (%w)", err)
	}
	vr.browser, vr.spec.Browser = b, b
	return vr, nil
}

// keep writes a screenshot into evidence/ and remembers the requirements
// it shows; the report links and shows it beside them.
func (vr *viewerRun) keep(dir string) func(name string, png []byte, requirements ...string) {
	return func(name string, png []byte, requirements ...string) {
		name = filepath.Base(name)
		vr.mu.Lock()
		defer vr.mu.Unlock()
		if !vr.write(dir, name, png, "screenshot") {
			return
		}
		path := "evidence/" + name
		for _, id := range requirements {
			if !slices.Contains(vr.shots[path], id) {
				vr.shots[path] = append(vr.shots[path], id)
			}
		}
	}
}

// keepNetwork writes a judged page's network log (HAR) into evidence/,
// beside its screenshot; the signature covers it like every evidence file.
func (vr *viewerRun) keepNetwork(dir string) func(name string, har []byte) {
	return func(name string, har []byte) {
		vr.mu.Lock()
		defer vr.mu.Unlock()
		vr.write(dir, filepath.Base(name), har, "network log")
	}
}

// write writes one evidence file; the first failure is kept as the run's
// problem. vr.mu is held.
func (vr *viewerRun) write(dir, name string, data []byte, what string) bool {
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	if err != nil {
		if vr.err == nil {
			vr.err = fmt.Errorf("writing %s %s: %w", what, name, err)
		}
		return false
	}
	return true
}

// evidenceFor lists the screenshots that show any of the requirements.
func (vr *viewerRun) evidenceFor(requirements []string) []string {
	if vr == nil {
		return nil
	}
	vr.mu.Lock()
	defer vr.mu.Unlock()
	var out []string
	for path, ids := range vr.shots {
		if slices.ContainsFunc(ids, func(id string) bool { return slices.Contains(requirements, id) }) {
			out = append(out, path)
		}
	}
	slices.Sort(out)
	return out
}

// problem is a screenshot the bench could not write ("" when none).
func (vr *viewerRun) problem() string {
	if vr == nil {
		return ""
	}
	vr.mu.Lock()
	defer vr.mu.Unlock()
	if vr.err == nil {
		return ""
	}
	return vr.err.Error()
}

// close ends the browser (and every chromium process of it) and the XIS side.
func (vr *viewerRun) close() {
	if vr == nil {
		return
	}
	vr.closeOnce.Do(func() {
		if vr.browser != nil {
			vr.browser.Close()
		}
		vr.unexpose()
		_ = vr.stack.Close()
	})
}
