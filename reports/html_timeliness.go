package reports

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// The timeliness section of report.html: a table of the figures per hop, a
// latency histogram per hop and a timeline per drawn scenario, all inline
// SVG built by html/template (every value escaped, no script, no external
// asset).

// hopNames are the Dutch names of the hops.
var hopNames = map[string]string{
	"publication": "publicatie in de FHIR-API van het XIS (vanaf de registratie)",
	"index":       "registratie in de index (vanaf de publicatie)",
	"consumer":    "vindbaar via de index voor de raadplegende zorgverlener (vanaf de registratie)",
}

// maxFindingsShown bounds the late and missing items the page lists;
// results.json holds them all.
const maxFindingsShown = 100

// Drawing sizes, in SVG user units.
const (
	plotLeft   = 230.0
	plotWidth  = 540.0
	rowHeight  = 16.0
	histHeight = 110.0
)

type htmlTimeliness struct {
	Hops      []htmlHop
	Timelines []htmlTimeline
	Findings  []htmlFinding
	More      int
}

type htmlHop struct {
	HopFigures
	Name                    string
	LimitText               string
	P50, P95, Max, Queued   string
	Bars                    []htmlBar
	Width, Height, Baseline float64
}

type htmlBar struct {
	X, Y, W, H float64
	LabelY     float64 // labels alternate between two lines
	Label      string
	Count      int
	Title      string
}

type htmlTimeline struct {
	Scenario      string
	Width, Height float64
	Rows          []htmlRow
	Ticks         []htmlTick
	Legend        []htmlLegend
}

type htmlRow struct {
	Y     float64
	Label string
	Marks []htmlMark
}

type htmlMark struct {
	X1, X2, Y float64
	Class     string
	Missing   bool
	Title     string
}

type htmlTick struct {
	X     float64
	Label string
}

type htmlLegend struct {
	X     float64
	Class string
	Label string
}

type htmlFinding struct {
	TimedItem
	HopName  string
	StatusNL string
	Latency  string
}

// timelinessView prepares the timeliness section; nil when the run
// measured none.
func timelinessView(t *Timeliness) *htmlTimeliness {
	if t == nil {
		return nil
	}
	v := &htmlTimeliness{}
	for _, h := range t.Hops {
		hv := htmlHop{HopFigures: h, Name: hopNames[h.Hop], LimitText: "geen", P50: msText(h.P50Ms), P95: msText(h.P95Ms), Max: msText(h.MaxMs), Queued: msText(h.QueuedP95Ms)}
		if hv.Name == "" {
			hv.Name = h.Hop
		}
		if d, err := time.ParseDuration(h.Limit); err == nil && d > 0 {
			hv.LimitText = durationText(float64(d.Milliseconds()))
		}
		hv.Bars, hv.Width, hv.Height, hv.Baseline = histogram(h.Histogram)
		v.Hops = append(v.Hops, hv)
	}
	for _, tl := range t.Timelines {
		if len(tl.Items) > 0 {
			v.Timelines = append(v.Timelines, timeline(tl))
		}
	}
	for i, f := range t.Findings {
		if i == maxFindingsShown {
			v.More = len(t.Findings) - i
			break
		}
		status := "te laat"
		if f.Status == Missing {
			status = "niet gevonden binnen de meethorizon"
		}
		v.Findings = append(v.Findings, htmlFinding{TimedItem: f, HopName: hopNames[f.Hop], StatusNL: status, Latency: msText(f.LatencyMs)})
	}
	return v
}

// histogram draws one bar per bucket, labelled with its upper bound.
func histogram(buckets []Bucket) (bars []htmlBar, width, height, baseline float64) {
	if len(buckets) == 0 {
		return nil, 0, 0, 0
	}
	most := 0
	for _, b := range buckets {
		most = max(most, b.Count)
	}
	step := plotWidth / float64(len(buckets))
	baseline = histHeight
	for i, b := range buckets {
		h := 0.0
		if most > 0 {
			h = histHeight * float64(b.Count) / float64(most)
		}
		label := "meer"
		if b.UpToMs != nil {
			label = "≤ " + durationText(*b.UpToMs)
		}
		bars = append(bars, htmlBar{X: round(float64(i)*step + 2), Y: round(baseline - h), W: round(step - 4), H: round(h), Label: label,
			LabelY: baseline + 14 + 14*float64(i%2), Count: b.Count, Title: fmt.Sprintf("%s: %d", label, b.Count)})
	}
	return bars, plotWidth, histHeight + 40, baseline
}

// timelineHops orders and names the hops in a timeline's legend.
var timelineHops = []struct{ hop, label string }{
	{"publication", "publicatie"}, {"index", "index"}, {"consumer", "raadpleger"},
}

// timeline draws one row per registration: for each hop a line from when
// its limit started to when the facts were there (a cross at the right
// edge when they never came).
func timeline(tl Timeline) htmlTimeline {
	end := 1.0 // ms
	for _, it := range tl.Items {
		end = max(end, it.SentMs, it.StartMs)
		if it.LatencyMs != nil {
			end = max(end, it.StartMs+*it.LatencyMs)
		}
	}
	end *= 1.05
	x := func(msv float64) float64 { return round(plotLeft + plotWidth*msv/end) }
	v := htmlTimeline{Scenario: tl.Scenario, Width: plotLeft + plotWidth + 40}
	rows := map[string]int{}
	for _, it := range tl.Items {
		i, ok := rows[it.Event]
		if !ok {
			i = len(v.Rows)
			rows[it.Event] = i
			v.Rows = append(v.Rows, htmlRow{Y: 30 + float64(i)*rowHeight, Label: clip(it.Title, 34)})
		}
		r := &v.Rows[i]
		m := htmlMark{X1: x(it.StartMs), Y: r.Y - 4 + 3*float64(hopIndex(it.Hop)), Class: "tl-" + it.Hop + " tl-" + it.Status}
		switch {
		case it.LatencyMs != nil:
			m.X2 = x(it.StartMs + *it.LatencyMs)
			m.Title = fmt.Sprintf("%s › %s: %s na %s", it.Title, hopNames[it.Hop], msText(it.LatencyMs), map[bool]string{true: "de publicatie", false: "de registratie"}[it.Hop == "index"])
		default:
			m.X2, m.Missing = plotLeft+plotWidth, true
			m.Title = fmt.Sprintf("%s › %s: niet gevonden", it.Title, hopNames[it.Hop])
		}
		r.Marks = append(r.Marks, m)
	}
	v.Height = 30 + float64(len(v.Rows))*rowHeight + 10
	for i := range 5 {
		at := end * float64(i) / 4
		v.Ticks = append(v.Ticks, htmlTick{X: x(at), Label: durationText(at)})
	}
	for i, h := range timelineHops {
		v.Legend = append(v.Legend, htmlLegend{X: plotLeft + float64(i)*120, Class: "tl-" + h.hop, Label: h.label})
	}
	return v
}

func hopIndex(h string) int {
	for i, x := range timelineHops {
		if x.hop == h {
			return i
		}
	}
	return 0
}

// round keeps one decimal of a coordinate.
func round(v float64) float64 { return math.Round(v*10) / 10 }

// msText writes milliseconds as a Dutch duration, "—" for none.
func msText(v *float64) string {
	if v == nil {
		return "—"
	}
	return durationText(*v)
}

// durationText writes a number of milliseconds readably: "850 ms", "2,5 s",
// "3 min".
func durationText(msv float64) string {
	switch {
	case msv < 1000:
		return fmt.Sprintf("%.0f ms", msv)
	case msv < 60000:
		return strings.Replace(strings.TrimSuffix(fmt.Sprintf("%.1f", msv/1000), ".0"), ".", ",", 1) + " s"
	default:
		return strings.Replace(strings.TrimSuffix(fmt.Sprintf("%.1f", msv/60000), ".0"), ".", ",", 1) + " min"
	}
}

// clip shortens a label to n runes.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
