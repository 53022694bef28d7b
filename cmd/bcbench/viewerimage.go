package main

import (
	"context"
	"net"
	"net/url"
	"strconv"

	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/reference/viewer"
)

// viewerXISAlias is the name a viewer in a container reaches the XIS the
// bench plays for it by, on the run's internal Docker network (docs/viewer.md,
// "A viewer in a container").
const viewerXISAlias = "bcbench-xis"

// viewerInner is the XIS host as the viewer reaches it when that is not
// the bench's loopback: for a viewer in a container, the back relay's alias
// on the run's network; "" for a viewer on the bench's host.
func viewerInner(r *harness.Role) string {
	if r.Spec.Kind() != "image" {
		return ""
	}
	return "http://" + net.JoinHostPort(viewerXISAlias, strconv.Itoa(harness.RelayPort))
}

// exposeViewerXIS lets a viewer in a container reach the stack's XIS host
// — its FHIR base and authorization server, not the bench's adapter — (and
// nothing else) at viewerInner, through a back relay; the browser and
// the bench still reach it on loopback. It does nothing for a viewer on
// the bench's host.
func exposeViewerXIS(ctx context.Context, r *harness.Role, st *viewer.Stack) (func(), error) {
	if r.Spec.Kind() != "image" {
		return func() {}, nil
	}
	if st.InnerTarget != "" {
		// the FHIR base and the authorization server, not the adapter
		return r.Expose(ctx, viewerXISAlias, st.InnerTarget)
	}
	u, err := url.Parse(st.XISURL)
	if err != nil {
		return nil, err
	}
	return r.Expose(ctx, viewerXISAlias, u.Host)
}
