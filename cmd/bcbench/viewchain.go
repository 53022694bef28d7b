package main

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/reference/viewer"
	"github.com/bcbench/bcbench/suites/fact"
	"github.com/bcbench/bcbench/token"
)

// viewedRole is the role a viewer reads when the run has an XIS.
const viewedRole = "xis"

// viewedXIS is the run's XIS a viewer reads (docs/viewer.md, "A viewer on
// your XIS"): the role, the bench's reads of it as a professional (to find
// a client's Patient id there) and the issuer it trusts.
type viewedXIS struct {
	role   *harness.Role
	fhir   *harness.FHIR
	issuer *token.Issuer
}

// viewedXISOf is the XIS the run's viewer reads: nil without a viewer or
// without an xis role (the bench then plays the XIS for it), or without
// the bench's authorization server (checkViewedXIS refused that run).
func viewedXISOf(cand *running, auth *benchAuth) *viewedXIS {
	if cand.Viewer == nil || auth == nil {
		return nil
	}
	r := cand.Role(viewedRole)
	if r == nil {
		return nil
	}
	on := &viewedXIS{role: r, issuer: auth.srv.Issuer}
	for _, p := range cand.Publishers {
		if p.Role == viewedRole {
			on.fhir = p.XIS
		}
	}
	return on
}

// front starts the FHIR base the viewer is launched with: the bench's
// SMART configuration and authorization server, every read forwarded to
// the XIS through its recording proxy with the viewer's own token, whose
// aud is the role key as for the bench's own reads (docs/logging.md).
func (on *viewedXIS) front(ctx context.Context, c viewer.Client) (*viewer.Stack, error) {
	return viewer.StartFront(ctx, viewer.FrontOptions{
		Upstream:  on.role.FHIRBase(),
		Transport: on.role.Client().Transport,
		Issuer:    on.issuer,
		Audience:  on.role.Name,
		Viewer:    c,
	})
}

// patientIDs finds a client's Patient id at the XIS by her BSN, once per
// client: a candidate's XIS chooses its own ids.
func (on *viewedXIS) patientIDs(timeout time.Duration) func(fixtures.Client) (string, error) {
	var mu sync.Mutex
	found := map[string]string{}
	return func(c fixtures.Client) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if id, ok := found[c.BSN]; ok {
			return id, nil
		}
		if on.fhir == nil {
			return "", fmt.Errorf("finding the client at the XIS: the bench has no reader of role %s", on.role.Name)
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		entries, err := on.fhir.SearchEntries(ctx, "Patient", url.Values{"identifier": {fact.BSNSystem + "|" + c.BSN}})
		if err != nil {
			return "", fmt.Errorf("finding the client's Patient at the XIS: %w", err)
		}
		for _, e := range entries {
			if id, _ := e.Resource["id"].(string); e.Match && id != "" && fact.HasBSN(e.Resource, c.BSN) {
				found[c.BSN] = id
				return id, nil
			}
		}
		return "", fmt.Errorf("finding the client's Patient at the XIS: no Patient with her BSN (%d entries)", len(entries))
	}
}

// checkViewedXIS refuses, before anything starts, a viewer that could not
// be judged on the run's XIS: the XIS must trust the bench's authorization
// server (the viewer reads it with the bench's SMART tokens), and every
// event of the run's scenarios must be registered there, since the viewer
// reads only that XIS (a further publisher's events would be missing from
// its screen through no fault of the viewer).
func checkViewedXIS(m *harness.Manifest, trusting []string, scenarios []*fixtures.Scenario) error {
	if m.Roles["viewer"] == nil {
		return nil
	}
	var further []string
	for _, name := range m.RoleNames() {
		if harness.IsPublisher(name) && name != viewedRole {
			further = append(further, name)
		}
	}
	if m.Roles[viewedRole] == nil {
		if len(further) > 0 {
			return fmt.Errorf("a viewer reads role %s, which the run does not have (it has %v)", viewedRole, further)
		}
		return nil // the bench plays the XIS for it
	}
	if !slices.Contains(trusting, viewedRole) {
		return fmt.Errorf("roles.%s: the viewer reads this XIS with the bench's SMART access tokens (aud %q), so it must trust the bench's authorization server: give the role auth: {bench: true} (an image or command role; docs/viewer.md, docs/logging.md)", viewedRole, viewedRole)
	}
	for _, s := range scenarios {
		regs, err := s.Registrations(time.Now())
		if err != nil {
			return fmt.Errorf("scenario %s: %w", s.ID, err)
		}
		for _, r := range regs {
			if p := "xis-" + r.Author.Kind; slices.Contains(further, p) {
				return fmt.Errorf("scenario %s registers %q at %s, but the viewer reads only role %s: run the viewer with scenarios whose events are all registered at %s (--scenario), or without %s (docs/viewer.md)", s.ID, r.Title, p, viewedRole, viewedRole, p)
			}
		}
	}
	return nil
}
