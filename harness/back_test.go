package harness

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestTheBackRelayCarriesAContainersConnectionsToTheBenchOnly: a
// connection to the back relay's inner side reaches the bench's server
// only over a control connection the bench opened with the key; with
// another key nothing is carried, and a key too short is refused.
func TestTheBackRelayCarriesAContainersConnectionsToTheBenchOnly(t *testing.T) {
	old := backWait
	backWait = 2 * time.Second
	t.Cleanup(func() { backWait = old })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "de bench") }))
	t.Cleanup(srv.Close)
	const key = "0123456789abcdef0123456789abcdef"
	cases := []struct {
		name, relayKey, benchKey string
		wantErr                  bool
		want                     string // the answer through the inner side ("" for none)
	}{
		{name: "the bench's key", relayKey: key, benchKey: key, want: "de bench"},
		{name: "another key", relayKey: key, benchKey: strings.Repeat("x", len(key))},
		{name: "a short key", relayKey: "kort", benchKey: "kort", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			inner, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			control, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- RelayBack(ctx, inner, control, tc.relayKey) }()
			if tc.wantErr {
				if err := <-done; err == nil {
					t.Fatal("RelayBack accepted a short key")
				}
				inner.Close()
				control.Close()
				return
			}
			stop := dialBack(ctx, control.Addr().String(), tc.benchKey, strings.TrimPrefix(srv.URL, "http://"))
			hc := &http.Client{Timeout: 10 * time.Second}
			for i := range 3 { // one after another, each over a control connection of its own
				got := ""
				resp, err := hc.Get("http://" + inner.Addr().String() + "/")
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					got = string(b)
				}
				if got != tc.want {
					t.Fatalf("request %d through the inner side answered %q (%v), want %q", i, got, err, tc.want)
				}
				hc.CloseIdleConnections()
			}
			stop()
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("RelayBack ended with %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("RelayBack did not end with its context")
			}
		})
	}
}

// TestOnlyAContainerRoleExposesALoopbackServer: a server of the bench is
// exposed only to a role in a container of the run, under an alias that is
// no role's name, and only a loopback address.
func TestOnlyAContainerRoleExposesALoopbackServer(t *testing.T) {
	cand := &Candidate{}
	img := &RoleSpec{Image: &ImageSpec{Name: "viewer:dev", Port: 8080}}
	cases := []struct {
		name      string
		role      *Role
		alias, to string
		want      string
	}{
		{name: "a command role", role: &Role{Name: "viewer", Spec: &RoleSpec{Command: &CommandSpec{Path: "/bin/true"}}, cand: cand}, alias: "bcbench-xis", to: "127.0.0.1:1", want: "runs in no container"},
		{name: "no run network", role: &Role{Name: "viewer", Spec: img, cand: cand}, alias: "bcbench-xis", to: "127.0.0.1:1", want: "no container role"},
		{name: "a role's name", role: &Role{Name: "viewer", Spec: img, cand: &Candidate{network: &runNetwork{}, relay: "r", Roles: []*Role{{Name: "viewer"}}}}, alias: "viewer", to: "127.0.0.1:1", want: "role's name"},
		{name: "no DNS label", role: &Role{Name: "viewer", Spec: img, cand: &Candidate{network: &runNetwork{}, relay: "r"}}, alias: "Bench XIS", to: "127.0.0.1:1", want: "no DNS label"},
		{name: "not loopback", role: &Role{Name: "viewer", Spec: img, cand: &Candidate{network: &runNetwork{}, relay: "r"}}, alias: "bcbench-xis", to: "192.0.2.1:80", want: "no address on loopback"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.role.Expose(context.Background(), tc.alias, tc.to)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Expose = %v, want an error with %q", err, tc.want)
			}
		})
	}
}
