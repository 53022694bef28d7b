package reports

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bcbench/bcbench/requirements"
)

//go:embed report.html.tmpl
var reportTemplate string

var htmlTemplate = template.Must(template.New("report").Parse(reportTemplate))

// statusLabels are the Dutch words for the statuses, as a midwife reads them.
var statusLabels = map[Status]string{
	Pass:      "voldoet",
	Fail:      "voldoet niet",
	Error:     "fout bij het testen",
	Skip:      "overgeslagen",
	NotTested: "niet getest",
}

// statusOrder puts what needs attention first in the HTML report.
var statusOrder = map[Status]int{Fail: 0, Error: 1, NotTested: 2, Skip: 3, Pass: 4}

type htmlView struct {
	Res      *Results
	SelfTest bool
	// SelfTestWhy says why a self-test is not a certificate.
	SelfTestWhy string
	// V2 is set for results that record packages and terminology.
	V2                  bool
	MemoryText, CPUText string
	VerdictClass        string
	VerdictTitle        string
	VerdictText         string
	Started             string
	Finished            string
	Duration            string
	Goals               []htmlGoal
	Requirements        []htmlRequirement
	Counts              []htmlCount
	MustOpen            int
	// RepayAll is set when every outcome goal was assessed and each is
	// realised below 50 %: then the whole subsidy is repaid (seed 001 §5.5).
	RepayAll bool
	// Timeliness is the drawn timeliness section; nil when none was measured.
	Timeliness *htmlTimeliness
	// Transfers is the structured coverage of each transfer.
	Transfers []htmlTransfer
}

type htmlTransfer struct {
	Transfer
	PercentText string
}

type htmlGoal struct {
	OutcomeGoal
	RealisationText string
	DiscountText    string
}

type htmlCount struct {
	Label string
	Class string
	N     int
}

type htmlRequirement struct {
	RequirementResult
	StatusLabel string
	StatusClass string
	Specs       []htmlSpec
	// Images are the requirement's screenshots (HTMLWith).
	Images []htmlImage
}

type htmlSpec struct {
	SpecRun
	StatusLabel string
	StatusClass string
	SecondsText string
}

// HTML renders results as one self-contained, script-free HTML page. Every
// value is escaped by html/template; links go to evidence files only through
// the template's URL sanitiser.
func HTML(res *Results) ([]byte, error) { return renderHTML(res, nil) }

// renderHTML renders results, with the screenshots given by evidence path.
func renderHTML(res *Results, images map[string]template.URL) ([]byte, error) {
	v := htmlView{
		Res:      res,
		V2:       res.Schema == SchemaVersion,
		SelfTest: res.Mode != ModeCertification || res.Schema != SchemaVersion || !res.Profile.Certifies,
		Started:  dutchTime(res.Started),
		Finished: dutchTime(res.Finished),
		Duration: dutchDuration(res.Finished.Sub(res.Started)),
	}
	switch {
	case res.Schema != SchemaVersion:
		v.SelfTestWhy = "Dit rapport heeft het oude formaat (" + res.Schema + "), van vóór de certificering per profiel."
	case !res.Profile.Certifies:
		v.SelfTestWhy = "Het profiel " + res.Profile.ID + " certificeert niet, met welke sleutel dan ook."
	default:
		v.SelfTestWhy = "Dit rapport is ondertekend met een ontwikkelsleutel op de computer waarop de test draaide."
	}
	v.Timeliness = timelinessView(res.Timeliness)
	for _, t := range res.Transfers {
		v.Transfers = append(v.Transfers, htmlTransfer{Transfer: t, PercentText: strings.Replace(strconv.FormatFloat(t.Percent, 'f', 1, 64), ".", ",", 1) + " %"})
	}
	if l := res.Limits; l != nil {
		v.MemoryText = byteText(l.Memory)
		v.CPUText = strings.Replace(strconv.FormatFloat(l.CPUs, 'f', -1, 64), ".", ",", 1)
	}
	mustFailed, mustOpen := 0, 0
	for _, r := range res.Requirements {
		if r.Level != requirements.Must {
			continue
		}
		switch r.Status {
		case Fail, Error:
			mustFailed++
		case Skip, NotTested:
			mustOpen++
		}
	}
	v.MustOpen = mustOpen
	profile := res.Profile.Title
	if profile == "" {
		profile = res.Profile.ID
	}
	switch res.Verdict {
	case VerdictPass:
		v.VerdictClass = "pass"
		v.VerdictTitle = "Geslaagd"
		v.VerdictText = fmt.Sprintf("Het systeem voldoet aan alle MOET-eisen van %s.", profile)
	case VerdictFail:
		v.VerdictClass = "fail"
		v.VerdictTitle = "Niet geslaagd"
		v.VerdictText = fmt.Sprintf("Het systeem voldoet niet aan %s van %s. Hieronder staat welke eisen en waarom.",
			plural(mustFailed, "MOET-eis", "MOET-eisen"), profile)
	default:
		v.VerdictClass = "incomplete"
		v.VerdictTitle = "Onvolledig"
		v.VerdictText = fmt.Sprintf("Er is geen MOET-eis van %s afgekeurd, maar %s niet getest of overgeslagen. Zonder die controles is er geen oordeel.",
			profile, plural(mustOpen, "MOET-eis is", "MOET-eisen zijn"))
	}
	if res.SetupProblem != "" {
		v.VerdictClass = "incomplete"
		v.VerdictTitle = "Onvolledig — niets beoordeeld"
		v.VerdictText = "De testbank kon het systeem niet beoordelen: " + res.SetupProblem +
			". Er is niets getoetst; dit rapport zegt niets over het systeem, alleen over de opzet van de test."
	}
	for _, g := range res.OutcomeGoals {
		hg := htmlGoal{OutcomeGoal: g, RealisationText: "niet beoordeeld", DiscountText: "—"}
		if g.Assessed && g.Realisation != nil && g.Discount != nil {
			hg.RealisationText = percent(math.Floor(*g.Realisation*10)/10) + " %"
			hg.DiscountText = percent(*g.Discount) + " %"
		}
		v.Goals = append(v.Goals, hg)
	}
	v.RepayAll = len(res.OutcomeGoals) == 4
	for _, g := range res.OutcomeGoals {
		if !g.Assessed || g.Realisation == nil || *g.Realisation >= 50 {
			v.RepayAll = false
		}
	}
	s := res.Summary
	v.Counts = []htmlCount{
		{statusLabels[Pass], "pass", s.Pass},
		{statusLabels[Fail], "fail", s.Fail},
		{statusLabels[Error], "error", s.Error},
		{statusLabels[NotTested], "not-tested", s.NotTested},
		{statusLabels[Skip], "skip", s.Skip},
	}
	for i := range v.Counts {
		if v.Counts[i].N == 0 {
			v.Counts[i].Class = "zero"
		}
	}
	for _, r := range res.Requirements {
		hr := htmlRequirement{RequirementResult: r, StatusLabel: label(r.Status), StatusClass: class(r.Status)}
		for _, sp := range r.Specs {
			hr.Specs = append(hr.Specs, htmlSpec{SpecRun: sp, StatusLabel: label(sp.Status), StatusClass: class(sp.Status),
				SecondsText: strings.Replace(fmt.Sprintf("%.2f s", sp.Seconds), ".", ",", 1)})
		}
		v.Requirements = append(v.Requirements, hr)
	}
	slices.SortStableFunc(v.Requirements, func(a, b htmlRequirement) int {
		return statusOrder[a.Status] - statusOrder[b.Status]
	})
	placeImages(v.Requirements, images)
	var buf bytes.Buffer
	if err := htmlTemplate.Execute(&buf, v); err != nil {
		return nil, fmt.Errorf("rendering report.html: %w", err)
	}
	return buf.Bytes(), nil
}

// byteText writes a memory size in MiB or GiB.
func byteText(b int64) string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", b>>30)
	case b >= 1<<20:
		return strings.Replace(fmt.Sprintf("%.4g MiB", float64(b)/(1<<20)), ".", ",", 1)
	default:
		return fmt.Sprintf("%d bytes", b)
	}
}

func label(s Status) string {
	if l, ok := statusLabels[s]; ok {
		return l
	}
	return string(s)
}

func class(s Status) string {
	if _, ok := statusLabels[s]; ok {
		return string(s)
	}
	return "error"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// percent writes a number the Dutch way: 66,6 or 10.
func percent(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	s = strings.TrimSuffix(s, ".0")
	return strings.Replace(s, ".", ",", 1)
}

var dutchMonths = []string{"januari", "februari", "maart", "april", "mei", "juni", "juli",
	"augustus", "september", "oktober", "november", "december"}

func dutchTime(t time.Time) string {
	if t.IsZero() {
		return "onbekend"
	}
	t = t.UTC()
	return fmt.Sprintf("%d %s %d, %02d:%02d:%02d UTC", t.Day(), dutchMonths[t.Month()-1], t.Year(), t.Hour(), t.Minute(), t.Second())
}

func dutchDuration(d time.Duration) string {
	if d < 0 {
		return "onbekend"
	}
	if d < time.Minute {
		return strings.Replace(fmt.Sprintf("%.1f seconden", d.Seconds()), ".", ",", 1)
	}
	m := int(d.Minutes())
	return fmt.Sprintf("%d min %d s", m, int(d.Seconds())-60*m)
}
