package reports

import (
	"math"
	"slices"
	"time"
)

// Timeliness is what the bench measured of the hops of the chain
// (requirements TIJ-*): per hop the figures over every measured
// registration, the timelines of the named scenarios, and every late or
// missing item. Since v2; absent when the run measured no timeliness.
type Timeliness struct {
	Hops []HopFigures `json:"hops"`
	// Timelines hold the items of the named scenarios (at most
	// MaxTimelines); a generated population counts in the figures only.
	Timelines []Timeline `json:"timelines"`
	// Findings are every late or missing item, of every scenario.
	Findings []TimedItem `json:"findings"`
}

// HopFigures are the latency figures of one hop.
type HopFigures struct {
	Hop string `json:"hop"` // publication, index, consumer
	// Limit is the hop's limit (Go duration); "" when the profile sets none.
	Limit string `json:"limit,omitempty"`
	// Reason says why the hop was not measured (no index in the run …).
	Reason string `json:"reason,omitempty"`
	// Count is the items whose facts arrived; Late those of them that came
	// after the limit; Missing the items that did not come within the
	// horizon; Unknown the items the bench could not follow (no answer).
	Count   int `json:"count"`
	Late    int `json:"late"`
	Missing int `json:"missing"`
	Unknown int `json:"unknown"`
	// P50Ms, P95Ms and MaxMs are over the items that arrived (nearest rank),
	// in milliseconds; null when none arrived.
	P50Ms *float64 `json:"p50Ms"`
	P95Ms *float64 `json:"p95Ms"`
	MaxMs *float64 `json:"maxMs"`
	// QueuedP95Ms is the p95, over the items that arrived, of the longest
	// wait of one of their polls for a free slot after it came due: the
	// bench's own share of the figures (docs/timeliness.md, "Load").
	QueuedP95Ms *float64 `json:"queuedP95Ms,omitempty"`
	Histogram   []Bucket `json:"histogram"`
}

// Bucket counts the latencies up to UpToMs (and above the bucket before);
// the last bucket has no upper bound (UpToMs null).
type Bucket struct {
	UpToMs *float64 `json:"upToMs"`
	Count  int      `json:"count"`
}

// Timeline is the measured items of one scenario.
type Timeline struct {
	Scenario string      `json:"scenario"`
	Items    []TimedItem `json:"items"`
}

// Statuses of a timed item.
const (
	OnTime      = "on-time"
	Late        = "late"
	Missing     = "missing"
	Unknown     = "unknown" // the bench could not follow it
	MaxTimeline = 30        // scenarios drawn
)

// TimedItem is one registration's facts at one hop.
type TimedItem struct {
	Scenario string `json:"scenario"`
	Event    string `json:"event"`
	Title    string `json:"title"`
	Hop      string `json:"hop"`
	// SentMs is when the registration was sent, in ms after the scenario's
	// first measured registration; StartMs when the hop's limit started
	// (the publication, for the index hop).
	SentMs  float64 `json:"sentMs"`
	StartMs float64 `json:"startMs"`
	// LatencyMs is from the start of the limit to the answer that first
	// held the facts; null when none did.
	LatencyMs *float64 `json:"latencyMs"`
	Status    string   `json:"status"`
	// Note says what the bench found instead (a pointer to an unknown host,
	// the error of the last poll).
	Note string `json:"note,omitempty"`
}

// Measurement is one measured item as the run hands it over.
type Measurement struct {
	Scenario, Event, Title, Hop string
	Sent, Start                 time.Time
	Latency                     time.Duration // when Status is OnTime or Late
	Queued                      time.Duration // the longest a poll of the item waited for a slot
	Status                      string
	Note                        string
}

// HopInput names a hop, its limit, and why it was not measured.
type HopInput struct {
	Hop    string
	Limit  time.Duration
	Reason string
}

// bucketsMs are the upper bounds of the histogram's buckets.
var bucketsMs = []float64{10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000, 300000, 900000}

// MeasureTimeliness builds the timeliness section from the measured items:
// figures per hop, the timelines of the scenarios drawn (at most
// MaxTimeline, in the order given), and every late or missing item.
func MeasureTimeliness(hops []HopInput, items []Measurement, drawn []string) *Timeliness {
	t := &Timeliness{Hops: []HopFigures{}, Timelines: []Timeline{}, Findings: []TimedItem{}}
	first := map[string]time.Time{}
	for _, m := range items {
		if f, ok := first[m.Scenario]; !ok || m.Sent.Before(f) {
			first[m.Scenario] = m.Sent
		}
	}
	drawn = drawn[:min(len(drawn), MaxTimeline)]
	lines := map[string]*Timeline{}
	for _, id := range drawn {
		t.Timelines = append(t.Timelines, Timeline{Scenario: id, Items: []TimedItem{}})
	}
	for i := range t.Timelines {
		lines[t.Timelines[i].Scenario] = &t.Timelines[i]
	}
	latencies, queued := map[string][]float64{}, map[string][]float64{}
	figures := map[string]*HopFigures{}
	for _, h := range hops {
		f := HopFigures{Hop: h.Hop, Reason: h.Reason, Histogram: []Bucket{}}
		if h.Limit > 0 {
			f.Limit = h.Limit.String()
		}
		t.Hops = append(t.Hops, f)
	}
	for i := range t.Hops {
		figures[t.Hops[i].Hop] = &t.Hops[i]
	}
	for _, m := range items {
		f := figures[m.Hop]
		if f == nil {
			continue
		}
		ti := TimedItem{Scenario: m.Scenario, Event: m.Event, Title: m.Title, Hop: m.Hop, Status: m.Status, Note: m.Note,
			SentMs: ms(m.Sent.Sub(first[m.Scenario])), StartMs: ms(m.Start.Sub(first[m.Scenario]))}
		switch m.Status {
		case OnTime, Late:
			v := ms(m.Latency)
			ti.LatencyMs = &v
			latencies[m.Hop] = append(latencies[m.Hop], v)
			queued[m.Hop] = append(queued[m.Hop], ms(m.Queued))
			f.Count++
			if m.Status == Late {
				f.Late++
			}
		case Missing:
			f.Missing++
		default:
			f.Unknown++
		}
		if m.Status == Late || m.Status == Missing {
			t.Findings = append(t.Findings, ti)
		}
		if l := lines[m.Scenario]; l != nil {
			l.Items = append(l.Items, ti)
		}
	}
	for i := range t.Hops {
		f := &t.Hops[i]
		l := latencies[f.Hop]
		if len(l) == 0 {
			continue
		}
		slices.Sort(l)
		f.P50Ms, f.P95Ms, f.MaxMs = percentile(l, 50), percentile(l, 95), ptr(l[len(l)-1])
		q := queued[f.Hop]
		slices.Sort(q)
		f.QueuedP95Ms = percentile(q, 95)
		counts := make([]int, len(bucketsMs)+1)
		for _, v := range l {
			counts[bucketOf(v)]++
		}
		for b, n := range counts {
			bk := Bucket{Count: n}
			if b < len(bucketsMs) {
				bk.UpToMs = ptr(bucketsMs[b])
			}
			f.Histogram = append(f.Histogram, bk)
		}
	}
	return t
}

func bucketOf(v float64) int {
	for i, up := range bucketsMs {
		if v <= up {
			return i
		}
	}
	return len(bucketsMs)
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) *float64 {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return ptr(sorted[max(i, 0)])
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }

func ptr(v float64) *float64 { return &v }
