package reports

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestMeasureTimeliness: the figures per hop are nearest-rank percentiles
// over what arrived, late and missing items are findings, only the drawn
// scenarios get a timeline, and a hop without limit keeps its reason.
func TestMeasureTimeliness(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	item := func(scenario string, i int, status string, latency time.Duration) Measurement {
		sent := t0.Add(time.Duration(i) * time.Second)
		return Measurement{Scenario: scenario, Event: fmt.Sprintf("e%02d", i), Title: "t", Hop: "publication",
			Sent: sent, Start: sent, Latency: latency, Status: status, Queued: latency / 10}
	}
	cases := []struct {
		name                 string
		items                []Measurement
		drawn                []string
		count, late, missing int
		p50, p95, maxMs      float64
		queuedP95            float64
		findings, timelines  int
	}{
		{name: "twenty on time", drawn: []string{"a"},
			items: func() []Measurement {
				var out []Measurement
				for i := range 20 {
					out = append(out, item("a", i, OnTime, time.Duration(i+1)*10*time.Millisecond))
				}
				return out
			}(),
			count: 20, p50: 100, p95: 190, maxMs: 200, queuedP95: 19, timelines: 1},
		{name: "one late, one missing, population not drawn", drawn: []string{"a"},
			items: []Measurement{item("a", 0, OnTime, 5*time.Millisecond), item("a", 1, Late, 3*time.Second), item("g1-00001", 0, Missing, 0)},
			count: 2, late: 1, missing: 1, p50: 5, p95: 3000, maxMs: 3000, queuedP95: 300, findings: 2, timelines: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := MeasureTimeliness([]HopInput{{Hop: "publication", Limit: time.Second}, {Hop: "index", Reason: "geen index"}}, tc.items, tc.drawn)
			h := got.Hops[0]
			if h.Count != tc.count || h.Late != tc.late || h.Missing != tc.missing {
				t.Errorf("count/late/missing = %d/%d/%d, want %d/%d/%d", h.Count, h.Late, h.Missing, tc.count, tc.late, tc.missing)
			}
			if *h.P50Ms != tc.p50 || *h.P95Ms != tc.p95 || *h.MaxMs != tc.maxMs {
				t.Errorf("p50/p95/max = %v/%v/%v, want %v/%v/%v", *h.P50Ms, *h.P95Ms, *h.MaxMs, tc.p50, tc.p95, tc.maxMs)
			}
			if h.QueuedP95Ms == nil || *h.QueuedP95Ms != tc.queuedP95 {
				t.Errorf("queued p95 = %v, want %v", h.QueuedP95Ms, tc.queuedP95)
			}
			n := 0
			for _, b := range h.Histogram {
				n += b.Count
			}
			if n != tc.count {
				t.Errorf("histogram holds %d, want %d", n, tc.count)
			}
			if len(got.Findings) != tc.findings || len(got.Timelines) != tc.timelines {
				t.Errorf("findings %d, timelines %d; want %d, %d", len(got.Findings), len(got.Timelines), tc.findings, tc.timelines)
			}
			if got.Hops[1].Reason != "geen index" || got.Hops[1].P50Ms != nil || got.Hops[1].Count != 0 {
				t.Errorf("unmeasured hop = %+v", got.Hops[1])
			}
			if !slices.ContainsFunc(got.Timelines, func(tl Timeline) bool { return tl.Scenario == "a" && len(tl.Items) > 0 }) {
				t.Errorf("no timeline of the drawn scenario a")
			}
		})
	}
}
