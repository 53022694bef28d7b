package spec

import (
	"testing"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
)

// TestPublisherFor: each event goes to the XIS of its organisation's kind
// when the chain has one, to the first publisher (xis) otherwise.
func TestPublisherFor(t *testing.T) {
	midwife := &harness.Adapter{Base: "http://127.0.0.1:1/bench"}
	hospital := &harness.Adapter{Base: "http://127.0.0.1:2/bench"}
	chain := []Publisher{{Role: "xis", Adapter: midwife}, {Role: "xis-ziekenhuis", Adapter: hospital}}
	reg := func(kind string) fixtures.Registration {
		return fixtures.Registration{Author: fixtures.Provider{Kind: kind}}
	}
	cases := []struct {
		name       string
		publishers []Publisher
		kind       string
		want       string
		adapter    *harness.Adapter
	}{
		{"midwife in a chain", chain, "verloskundigenpraktijk", "xis", midwife},
		{"hospital in a chain", chain, "ziekenhuis", "xis-ziekenhuis", hospital},
		{"lab has no XIS of its own", chain, "laboratorium", "xis", midwife},
		{"hospital with one XIS", chain[:1], "ziekenhuis", "xis", midwife},
		{"no publishers: the run's XIS", nil, "ziekenhuis", "xis", midwife},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &Env{Adapter: midwife, Publishers: tc.publishers}
			got := e.PublisherFor(reg(tc.kind))
			if got.Role != tc.want || got.Adapter != tc.adapter {
				t.Fatalf("PublisherFor(%s) = %s %v, want %s %v", tc.kind, got.Role, got.Adapter, tc.want, tc.adapter)
			}
		})
	}
}
