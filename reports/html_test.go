package reports

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// hostile values a candidate could put into anything that reaches the report.
var hostile = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(2)>`,
	`'><svg onload=alert(3)>`,
	`javascript:alert(4)`,
	`</style><script>alert(5)</script>`,
	`<a href="javascript:alert(6)">klik</a>`,
	`<iframe src="https://evil.example/"></iframe>`,
	`<link rel=stylesheet href=https://evil.example/x.css>`,
	"<!--",
	`<meta http-equiv="refresh" content="0;url=https://evil.example/">`,
}

func hostileResults(t *testing.T) *Results {
	res := richResults(t)
	h := strings.Join(hostile, " ")
	res.Candidate.Name = h
	res.Candidate.Vendor = h
	res.Candidate.Version = h
	res.Candidate.Roles[0].Software = h
	res.Candidate.Roles[0].Image = h
	res.Candidate.Roles[2].URL = "javascript:alert(7)"
	res.Profile.Title = h
	res.Scenarios = []string{h}
	res.Problems = []string{h}
	res.Requirements[1].Reason = h
	res.Requirements[1].Specs[0].Failure = h
	res.Requirements[1].Specs[0].Location = h
	res.Requirements[1].Specs[0].Name = h
	res.Requirements[0].Evidence = []string{"javascript:alert(8)", `evidence/"><script>alert(9)</script>.har`, "data:text/html,<script>alert(10)</script>"}
	res.Evidence = append(res.Evidence,
		Evidence{Path: "javascript:alert(11)", SHA256: h, Kind: h},
		Evidence{Path: "vbscript:msgbox(12)", Kind: "har"},
		Evidence{Path: " JaVaScRiPt:alert(13)", Kind: "har"})
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	res.Timeliness = MeasureTimeliness([]HopInput{{Hop: "publication", Limit: time.Second}, {Hop: h, Reason: h}},
		[]Measurement{
			{Scenario: h, Event: h, Title: h, Hop: "publication", Sent: t0, Start: t0, Latency: 3 * time.Second, Status: Late, Note: h},
			{Scenario: h, Event: h, Title: h, Hop: "publication", Sent: t0, Start: t0, Status: Missing, Note: h},
		}, []string{h})
	res.Transfers = []Transfer{{Scenario: h, Transfer: h, Title: h, Receiver: h, Items: 12, Structured: 11, Percent: Coverage(11, 12), Missing: []string{h}}}
	res.TestScripts = []ScriptFolder{{Folder: h, Scripts: 2, NotRun: 1, Pass: 3, Fail: 1, Skip: 2}}
	return res
}

func TestHTMLStaysInertWithHostileInput(t *testing.T) {
	out, err := HTML(hostileResults(t))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("report.html does not parse: %v", err)
	}
	var texts strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "img", "iframe", "link", "object", "embed", "base", "form", "foreignobject", "use", "image", "animate":
				t.Errorf("element <%s> in the report: it can only have come from input", n.Data)
			case "svg": // only the report's own charts (timeliness)
				if !slices.ContainsFunc(n.Attr, func(a html.Attribute) bool { return a.Key == "class" && a.Val == "chart" }) {
					t.Errorf("element <svg> without class chart in the report: it can only have come from input")
				}
			case "meta":
				for _, a := range n.Attr {
					if a.Key == "http-equiv" && strings.EqualFold(a.Val, "refresh") {
						t.Error("a meta refresh came from input")
					}
				}
			case "style":
				if n.Parent == nil || n.Parent.Data != "head" {
					t.Error("a <style> element outside <head> came from input")
				}
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(strings.ToLower(a.Key), "on") {
					t.Errorf("event-handler attribute %s=%q on <%s>", a.Key, a.Val, n.Data)
				}
				if a.Key == "href" || a.Key == "src" || a.Key == "action" {
					v := strings.ToLower(strings.TrimSpace(a.Val))
					for _, scheme := range []string{"javascript:", "vbscript:", "data:", "http:", "https:"} {
						if strings.HasPrefix(v, scheme) {
							t.Errorf("<%s %s=%q>: a %s URL came from input", n.Data, a.Key, a.Val, scheme)
						}
					}
				}
			}
		}
		if n.Type == html.TextNode {
			texts.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	// The hostile strings must still be shown, as text.
	shown := texts.String()
	for _, h := range []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(2)>`, `javascript:alert(4)`} {
		if !strings.Contains(shown, h) {
			t.Errorf("hostile value %q is not shown as text", h)
		}
	}
	if !strings.Contains(string(out), "Content-Security-Policy") {
		t.Error("the report has no Content-Security-Policy")
	}
}

func TestHTMLReadable(t *testing.T) {
	cases := []struct {
		name    string
		res     func() *Results
		want    []string
		notWant []string
	}{
		{"fail, self-test", func() *Results { return richResults(t) },
			[]string{"Niet geslaagd", "Zelftest — geen certificaat", "1 MOET-eis", "medicatieveiligheid", "niet beoordeeld",
				"7,5 %", "50 %", "Het XIS MOET a.", ReasonNotTested, "voldoet niet", `href="evidence/xis.har"`, "ref-xis", "23 november 2026, 13:00:00 UTC"},
			[]string{"Certificeringsrun", "<script", "terugbetaald"}},
		{"transfers with their coverage", func() *Results {
			r := richResults(t)
			r.Transfers = []Transfer{{Scenario: "overdracht-jgz", Transfer: "overdracht-jgz", Title: "Overdracht naar de JGZ", Receiver: "JGZ Zuiderhaven (jeugdarts)",
				Items: 12, Structured: 11, Percent: Coverage(11, 12), Missing: []string{"Apgarscore na 5 minuten: gevonden met een andere waarde"}}}
			return r
		}, []string{"Overdrachten", "JGZ Zuiderhaven (jeugdarts)", "91,6 %", "niet gestructureerd: Apgarscore na 5 minuten"}, nil},
		{"pass, certification", func() *Results {
			r := Assemble(baseInput(t, []string{"MED-01", "STD-01"}, spec("a", Pass, "MED-01", "STD-01")))
			r.Mode = ModeCertification
			return r
		}, []string{"Geslaagd", "Certificeringsrun", "0 %", "100 %"}, []string{"Zelftest", "Niet geslaagd"}},
		{"all goals under 50 %: repay everything", func() *Results {
			return Assemble(baseInput(t, []string{"MED-01", "CLI-01", "STD-01", "HER-01"}, spec("a", Fail, "MED-01", "CLI-01", "STD-01", "HER-01")))
		}, []string{"volledige subsidiebedrag worden terugbetaald", "40 %"}, nil},
		{"certification claimed for a profile that does not certify", func() *Results {
			in := baseInput(t, []string{"MED-01"}, spec("a", Pass, "MED-01"))
			in.Profile.Certifies = false
			r := Assemble(in)
			r.Mode = ModeCertification // as a hand-edited results.json would say
			return r
		}, []string{"Zelftest — geen certificaat", "keurmerk-test certificeert niet", "Geslaagd"}, []string{"Certificeringsrun"}},
		{"v1 results are never a certification", func() *Results {
			r := Assemble(baseInput(t, []string{"MED-01"}, spec("a", Pass, "MED-01")))
			r.Schema = SchemaV1
			return r
		}, []string{"Zelftest — geen certificaat", "oude formaat"}, []string{"Certificeringsrun"}},
		{"setup problem: nothing judged, no subsidy sentence", func() *Results {
			in := baseInput(t, []string{"MED-01", "CLI-01", "STD-01", "HER-01"})
			in.SetupProblem = "de kandidaat startte niet binnen 1m0s"
			return Assemble(in)
		}, []string{"Onvolledig — niets beoordeeld", "de kandidaat startte niet binnen 1m0s", "Er is niets getoetst", "Niet beoordeeld."},
			[]string{"terugbetaald", "40 %", "10 %", "Realisatie", "Geslaagd", "Niet geslaagd"}},
		{"incomplete", func() *Results {
			return Assemble(baseInput(t, []string{"MED-01", "STD-01"}, spec("a", Pass, "MED-01")))
		},
			[]string{"Onvolledig", "1 MOET-eis is niet getest"}, []string{"Geslaagd"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := HTML(tc.res())
			if err != nil {
				t.Fatal(err)
			}
			s := string(out)
			for _, w := range tc.want {
				if !strings.Contains(s, w) {
					t.Errorf("report lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(s, w) {
					t.Errorf("report has %q", w)
				}
			}
		})
	}
}

func TestHTMLPutsProblemsFirst(t *testing.T) {
	out, err := HTML(richResults(t))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	fail, pass := strings.Index(s, ">MED-02<"), strings.Index(s, ">MED-01<")
	if fail < 0 || pass < 0 || fail > pass {
		t.Fatalf("failing MED-02 at %d, passing MED-01 at %d: want failures first", fail, pass)
	}
}

// TestPageIsDutch: the page a midwife reads carries no English
// catalogue titles or English table heads (results.json keeps the titles).
func TestPageIsDutch(t *testing.T) {
	res := richResults(t)
	data, err := HTML(res)
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	if res.Requirements[0].Title == "" || res.Bench.Suite == "" {
		t.Fatalf("the sample has no title or suite digest to leave out")
	}
	for _, english := range []string{res.Requirements[0].Title, "— bron: ", "<th>Spec</th>", " · suite "} {
		if strings.Contains(page, english) {
			t.Errorf("the page shows English text %q", english)
		}
	}
	for _, dutch := range []string{res.Requirements[0].Text, "Bron: " + res.Requirements[0].Source, "<th>Controle</th>"} {
		if !strings.Contains(page, dutch) {
			t.Errorf("the page lacks %q", dutch)
		}
	}
}

// TestHTMLShowsTheTestScriptTable: the assert table of the TestScripts is
// in the report when the run ran scripts, and absent otherwise.
func TestHTMLShowsTheTestScriptTable(t *testing.T) {
	cases := []struct {
		name    string
		folders []ScriptFolder
		want    bool
	}{
		{name: "met scripts", folders: []ScriptFolder{{Folder: "Serving-MGB-MA", Scripts: 17, Pass: 391}}, want: true},
		{name: "zonder scripts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := richResults(t)
			res.TestScripts = tc.folders
			out, err := HTML(res)
			if err != nil {
				t.Fatal(err)
			}
			page := string(out)
			if got := strings.Contains(page, "Kwalificatiescripts (FHIR TestScripts)"); got != tc.want {
				t.Fatalf("table shown = %v, want %v", got, tc.want)
			}
			if tc.want && !strings.Contains(page, "<td>Serving-MGB-MA</td><td class=\"num\">17</td>") {
				t.Errorf("the folder's row is not in the report")
			}
		})
	}
}
