// Package viewer holds the specs of the viewer (role E, seed 001 §2.3.4,
// docs/viewer.md): the bench plays the XIS that opens it in a headless
// chromium with a SMART EHR launch or a signed context token and judges what is at the glass — the
// launch without a separate log-in, the refusals, a context switch, every
// registered fact with value, unit and date, the medication overview of the
// viewing day, the access log and WCAG 2.1 AA. Without a viewer in the run
// every spec skips, never passes.
package viewer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads as prose
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/bcbench/bcbench/browser"
	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/suites/fact"
	"github.com/bcbench/bcbench/suites/match"
	"github.com/bcbench/bcbench/suites/spec"
	"github.com/bcbench/bcbench/token"
	"github.com/bcbench/bcbench/wcag"
)

var _ = Describe("Viewer", func() {
	env := spec.Current()
	var shared []*fixtures.Scenario
	for _, s := range env.Scenarios {
		if fact.Withheld(s) == fact.Shared {
			shared = append(shared, s)
		}
	}
	Context("opening from the XIS", func() {
		spec.It("VWR-01", "een geldige opening vanuit het XIS MOET het dossier van de cliënt tonen zonder wachtwoordveld en zonder inlogpagina", func(ctx SpecContext) {
			s := first(shared)
			v := viewOf(ctx, s)
			if vw := need(); vw.Evidence != nil && v.wcag != nil && len(v.wcag.Screenshot) > 0 {
				vw.Evidence("viewer-"+s.ID+".png", v.wcag.Screenshot, "VWR-01") // the view VWR-01 judged
			}
			network(v, "viewer-"+s.ID)
			var problems []string
			if v.password > 0 {
				problems = append(problems, fmt.Sprintf("de pagina heeft %d wachtwoordveld(en): een aparte inlog", v.password))
			}
			if !sameHost(v.url, v.launch) {
				problems = append(problems, "de opening eindigt niet in de viewer maar op "+redact(v.url))
			}
			for _, f := range v.browser {
				if f.Kind == browser.KindNavigation {
					problems = append(problems, "de viewer stuurde de browser naar een andere host: "+f.Message)
				}
			}
			if !strings.Contains(v.text, fullName(s.Client)) {
				problems = append(problems, fmt.Sprintf("de cliënt (%s %s) staat niet op de pagina", s.Client.Given, s.Client.Family))
			}
			Expect(problems).To(match.HaveNoProblems())
		})
		spec.It("VWR-02", "zonder geldige opening MOET de viewer weigeren zonder gegevens van de cliënt in pagina, opslag of netwerkverkeer", func(ctx SpecContext) {
			s := first(shared)
			vw := need()
			refusals, err := vw.Refusals(s.Client)
			if err != nil {
				spec.Broke(fmt.Errorf("making the refused launches: %w", err))
			}
			// a fresh launch opened once, to be opened again at once (the
			// earlier view's may be past its validity by now), and the
			// viewer's return address, used before
			used, launched := openedOnce(ctx, vw, s)
			refusals[replayed] = used
			v := viewOf(ctx, s)
			if v.callback != "" {
				refusals["herhaald terugkeeradres"] = v.callback
			}
			names := slices.Sorted(maps.Keys(refusals))
			seen := make([]*observed, len(names))
			errs := make([]error, len(names))
			bounded(len(names), func(i int) {
				seen[i], errs[i] = open(ctx, vw, refusals[names[i]], false)
			})
			var problems, unread []string
			for i, name := range names {
				if errs[i] != nil {
					spec.Broke(fmt.Errorf("opening the refused launch %q for %s: %w", name, s.ID, errs[i]))
				}
				if len(seen[i].png) > 0 && vw.Evidence != nil {
					vw.Evidence("viewer-weigering-"+strings.ReplaceAll(name, " ", "-")+".png", seen[i].png, "VWR-02")
				}
				network(seen[i], "viewer-weigering-"+strings.ReplaceAll(name, " ", "-"))
				if seen[i].stopped != nil {
					// a refusal the browser had to stop (it hung, or sent too
					// much) is no refusal the bench can see: never a pass
					problems = append(problems, fmt.Sprintf("%s: de pagina is gestopt (%v), dus niet na te gaan dat zij niets van de cliënt toont", name, seen[i].stopped))
				}
				for _, leak := range seen[i].leaks(s.Client) {
					problems = append(problems, name+": "+leak)
				}
				if c := seen[i].content; c != nil {
					for _, u := range c.Unread {
						unread = append(unread, name+": "+u)
					}
				}
				if name == replayed && stale(launched, seen[i].viewed) {
					// refused perhaps for its age, not for its reuse
					unread = append(unread, fmt.Sprintf("%s: pas na %s opnieuw geopend, langer dan een opening geldig is; een weigering zegt dan niet dat de viewer een gebruikte opening weigert",
						name, seen[i].viewed.Sub(launched).Round(time.Second)))
				}
			}
			Expect(problems).To(match.HaveNoProblems())
			if len(unread) > 0 {
				// nothing found, but not everything read: never a pass
				spec.Undecided("niet alles van de geweigerde openingen kon gelezen worden:\n" + strings.Join(unread, "\n"))
			}
		})
		spec.It("VWR-03", "na een nieuwe opening voor cliënt B MOET de viewer alleen cliënt B tonen", func(ctx SpecContext) {
			if len(shared) < 2 {
				spec.NotTestable("de run heeft minder dan twee cliënten met gedeelde gegevens")
			}
			a, b := shared[0], shared[1]
			Expect(switchProblems(ctx, a, b)).To(match.HaveNoProblems())
		})
	})
	for _, s := range shared {
		// every scenario's view is judged by these specs: the pages are
		// opened ahead, two at a time
		viewOf := func(ctx SpecContext, s *fixtures.Scenario) *observed {
			GinkgoHelper()
			return viewAhead(ctx, s, shared)
		}
		Context(fmt.Sprintf("%s (%s)", s.Title, s.ID), func() {
			spec.It("VWR-04", "elk geregistreerd gegeven MOET zichtbaar zijn met waarde, eenheid en datum in Nederlandse notatie", func(ctx SpecContext) {
				v := viewOf(ctx, s)
				Expect(glassProblems(v, s)).To(match.HaveNoProblems())
			})
			spec.It("VWR-05", "het medicatieoverzicht MOET op de dag van inzage de afspraken tonen die dan van kracht zijn", func(ctx SpecContext) {
				v := viewOf(ctx, s)
				Expect(medicationProblems(v, s)).To(match.HaveNoProblems())
			})
			spec.It("VWR-06", "elke inzage MOET gelogd zijn onder de zorgverlener die de viewer opende", func(ctx SpecContext) {
				v := viewOf(ctx, s)
				Expect(logProblems(ctx, v, s)).To(match.HaveNoProblems())
			})
			spec.It("VWR-07", "het dossier in de viewer MOET voldoen aan elke automatisch beslisbare controle van WCAG 2.1 AA", func(ctx SpecContext) {
				v := viewOf(ctx, s)
				Expect(wcagProblems(v.wcag, v.browser)).To(match.HaveNoProblems())
			})
		})
	}
	Context("tijdigheid", func() {
		spec.It("VWR-08", "een gegeven dat in het XIS is geregistreerd MOET binnen de grens van het profiel zichtbaar zijn in de viewer", func(ctx SpecContext) {
			s := first(shared)
			Expect(timelyProblems(ctx, s)).To(match.HaveNoProblems())
		})
	})
	Context("de weigering", func() {
		spec.It("VWR-07", "de weigeringspagina van de viewer MOET voldoen aan elke automatisch beslisbare controle van WCAG 2.1 AA", func(ctx SpecContext) {
			s := first(shared)
			refusals, err := need().Refusals(s.Client)
			if err != nil {
				spec.Broke(fmt.Errorf("making the refused launches: %w", err))
			}
			u, ok := refusals["geen context"]
			if !ok {
				spec.Broke(fmt.Errorf("no refusal without context"))
			}
			vw := need()
			var o *observed
			bounded(1, func(int) { o, err = open(ctx, vw, u, true) })
			if err != nil {
				spec.Broke(fmt.Errorf("opening the refusal for %s: %w", s.ID, err))
			}
			keep(o, "viewer-weigering", "VWR-02", "VWR-07")
			// a refusal answers 401/403: that status is no finding here
			bf := slices.DeleteFunc(o.browser, func(f browser.Finding) bool {
				return f.Kind == browser.KindLoad && strings.Contains(f.Message, "answered HTTP 4")
			})
			Expect(wcagProblems(o.wcag, bf)).To(match.HaveNoProblems())
		})
	})
})

// replayed is VWR-02's refusal of a launch opened before.
const replayed = "al gebruikte opening"

// openedOnce makes a fresh launch for the scenario's client, opens it once
// (as a valid view, not judged) and returns it with when it was made, for
// VWR-02 to open again.
func openedOnce(ctx context.Context, vw *spec.Viewer, s *fixtures.Scenario) (string, time.Time) {
	GinkgoHelper()
	launched := time.Now()
	u, err := vw.Launch(s.Client)
	if err != nil {
		spec.Broke(fmt.Errorf("launching the viewer for %s: %w", s.ID, err))
	}
	bounded(1, func(int) { _, err = open(ctx, vw, u, false) })
	if err != nil {
		spec.Broke(fmt.Errorf("opening the viewer for %s: %w", s.ID, err))
	}
	return u, launched
}

// stale tells that a launch made at launched and opened again at reopened
// may be refused for its age alone: its context token (the shortest-lived
// launch) was no longer valid, so the refusal says nothing of the check
// against reuse.
func stale(launched, reopened time.Time) bool {
	return reopened.Sub(launched) >= token.ContextTTL
}

// need returns the run's viewer, or skips the spec; a viewer the bench
// cannot open (no browser) is the bench's error, never the candidate's fail.
func need() *spec.Viewer {
	GinkgoHelper()
	v := spec.Current().Viewer
	if v == nil {
		spec.NotTestable("de run heeft geen viewer")
	}
	if v.Problem != "" {
		spec.Broke(errors.New(v.Problem))
	}
	return v
}

func first(shared []*fixtures.Scenario) *fixtures.Scenario {
	GinkgoHelper()
	need()
	if len(shared) == 0 {
		spec.NotTestable("de run heeft geen cliënt met gedeelde gegevens")
	}
	return shared[0]
}

// observed is what a page showed, read in the browser.
type observed struct {
	launch   string // the address opened
	url      string // where the page ended
	callback string // the viewer's return address seen in the network log
	text     string // the visible text
	password int
	rows     [][]string // visible table rows (tr, role=row): the cells' text
	within   []string   // per row: the accessible name of its table (table, role=table/grid)
	med      [][]string // per table named Medicatieoverzicht…: the first cell of each body row
	store    string     // localStorage and sessionStorage
	urls     []string   // every request's URL
	browser  []browser.Finding
	wcag     *wcag.PageReport
	viewed   time.Time
	png      []byte // a screenshot of a page not checked for WCAG
	har      []byte // the page's network log as evidence (spec.Viewer.Network)
	stopped  error  // the browser stopped the page (hung, too large): its content is unknown
	// content is the whole DOM, traffic and cookies of a refused launch
	// (VWR-02); nil for other pages
	content *browser.Content
}

// pages bounds the pages the specs have open at once, all specs together:
// two on the bench's 2-core machine (each an incognito context of the one
// browser). A page is opened holding a slot.
var pages = make(chan struct{}, 2)

// bounded runs f(0) … f(n-1), each holding a page slot, in order as slots
// free up, and waits.
func bounded(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		pages <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-pages }()
			f(i)
		}()
	}
	wg.Wait()
}

// view is a scenario's view, opened once per run.
type view struct {
	done      chan struct{}
	v         *observed
	err       error
	evidenced bool
}

var (
	viewsMu sync.Mutex
	views   = map[string]*view{}
)

// viewOf opens the scenario's client once per run with a valid launch and
// keeps what the page showed: every judged spec reads the same view.
func viewOf(ctx context.Context, s *fixtures.Scenario) *observed {
	GinkgoHelper()
	return viewAhead(ctx, s, nil)
}

// viewAhead is viewOf that also opens the views of the scenarios in ahead
// (those not opened yet), each in a page slot, for the specs that will ask
// for them next. The pages are bounded by the browser's page budget, not by
// the spec that happened to start them.
func viewAhead(ctx context.Context, s *fixtures.Scenario, ahead []*fixtures.Scenario) *observed {
	GinkgoHelper()
	vw := need()
	viewsMu.Lock()
	var todo []*fixtures.Scenario
	var start []*view
	for _, x := range append([]*fixtures.Scenario{s}, ahead...) {
		if _, ok := views[x.ID]; !ok {
			views[x.ID] = &view{done: make(chan struct{})}
			todo = append(todo, x)
			start = append(start, views[x.ID])
		}
	}
	w := views[s.ID]
	viewsMu.Unlock()
	if len(todo) > 0 {
		bg := context.WithoutCancel(ctx)
		go bounded(len(todo), func(i int) {
			defer close(start[i].done)
			u, err := vw.Launch(todo[i].Client)
			if err != nil {
				start[i].err = fmt.Errorf("launching the viewer for %s: %w", todo[i].ID, err)
				return
			}
			start[i].v, start[i].err = open(bg, vw, u, true)
			if start[i].err != nil {
				start[i].err = fmt.Errorf("opening the viewer for %s: %w", todo[i].ID, start[i].err)
			}
		})
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		spec.Broke(fmt.Errorf("waiting for the view of %s: %w", s.ID, ctx.Err()))
	}
	if w.err != nil {
		spec.Broke(w.err)
	}
	viewsMu.Lock()
	first := !w.evidenced
	w.evidenced = true
	viewsMu.Unlock()
	if first {
		keep(w.v, "viewer-"+s.ID, "VWR-04", "VWR-05", "VWR-06", "VWR-07")
	}
	return w.v
}

// keep hands the screenshots of a judged view to the run's evidence: the
// page for the requirements named, each WCAG failure (its element
// outlined) for VWR-07.
func keep(v *observed, name string, requirements ...string) {
	vw := need()
	if vw.Evidence == nil || v.wcag == nil {
		return
	}
	if len(v.wcag.Screenshot) > 0 {
		vw.Evidence(name+".png", v.wcag.Screenshot, requirements...)
	}
	for i, shot := range v.wcag.Shots {
		vw.Evidence(fmt.Sprintf("%s-wcag-%02d.png", name, i+1), shot.PNG, "VWR-07")
	}
	network(v, name)
}

// network hands a judged page's network log to the run's evidence as
// name.har.
func network(v *observed, name string) {
	if vw := need(); vw.Network != nil && v != nil && len(v.har) > 0 {
		vw.Network(name+".har", v.har)
	}
}

// read is the script that reads a page as the bench judges it.
const read = `(() => {
  const vis = e => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  const txt = e => (e.innerText || '').replace(/\s+/g, ' ').trim();
  const name = t => {
    const l = t.getAttribute('aria-labelledby');
    if (l) return l.split(/\s+/).map(id => { const e = document.getElementById(id); return e ? txt(e) : ''; }).join(' ').trim();
    if (t.getAttribute('aria-label')) return t.getAttribute('aria-label');
    const c = t.querySelector('caption'); return c ? txt(c) : '';
  };
  const cells = 'th,td,[role=cell],[role=rowheader],[role=gridcell],[role=columnheader]';
  const shown = [...document.querySelectorAll('tr,[role=row]')].filter(vis);
  const rows = shown.map(r => [...r.querySelectorAll(cells)].map(txt));
  const within = shown.map(r => { const t = r.closest('table,[role=table],[role=grid]'); return t ? name(t).replace(/\s+/g, ' ').trim() : ''; });
  const med = [...document.querySelectorAll('table,[role=table],[role=grid]')].filter(t => vis(t) && /^medicatieoverzicht/i.test(name(t)))
    .map(t => [...t.querySelectorAll('tbody tr,[role=rowgroup] [role=row]')].filter(vis).map(r => { const c = r.querySelector(cells); return c ? txt(c) : ''; }));
  let store = '';
  try { for (const s of [localStorage, sessionStorage]) for (let i = 0; i < s.length; i++) { const k = s.key(i); store += k + '=' + s.getItem(k) + '\n'; } } catch (e) {}
  return {url: location.href, text: document.body ? txt(document.body) : '', password: document.querySelectorAll('input[type=password]').length, rows, within, med, store};
})()`

// open loads a launch address in a fresh incognito context, reads the
// page, runs the WCAG checks on a judged view and closes it. It runs
// outside the spec's goroutine: an error is the bench's, for the spec to
// report.
func open(ctx context.Context, vw *spec.Viewer, u string, judged bool) (*observed, error) {
	o := &observed{launch: u, viewed: time.Now()}
	p, err := vw.Browser.OpenAllowing(ctx, u, vw.Origins)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	vw.Time("open", o.viewed)
	vw.Steps("open ", p.Phases())
	start := time.Now()
	if err := o.read(p); err != nil {
		return nil, err
	}
	vw.Time("read", start)
	if !judged {
		if p.Err() == nil {
			start = time.Now()
			c, err := p.Content()
			if err != nil {
				// what the page holds is unknown: never a pass by silence
				c = &browser.Content{Unread: []string{"de pagina kon niet geheel gelezen worden: " + err.Error()}}
			}
			o.content = c
			vw.Time("content", start)
		}
		if vw.Evidence != nil && p.Err() == nil {
			o.png, _ = p.Screenshot(nil) // evidence only: a page without one is still judged
		}
		return o, nil
	}
	start = time.Now()
	rep, err := wcag.CheckPage(p)
	if err != nil {
		return nil, fmt.Errorf("checking the viewer's page: %w", err)
	}
	vw.Time("wcag", start)
	vw.Steps("wcag ", rep.Phases)
	o.wcag = rep
	o.browser = p.Findings()
	return o, nil
}

func (o *observed) read(p *browser.Page) error {
	var r page
	o.stopped = p.Err()
	if o.stopped == nil {
		got, err := chromedp.Run(p.Context(), chromedp.Evaluate[page](read))
		if err != nil {
			return fmt.Errorf("reading the viewer's page: %w", err)
		}
		r = got
	}
	o.url, o.text, o.password, o.rows, o.within, o.med, o.store = r.URL, r.Text, r.Password, r.Rows, r.Within, r.Med, r.Store
	if vw := need(); vw.Network != nil {
		o.har, _ = p.EvidenceJSON() // evidence only: a page without one is still judged
	}
	if h := p.HAR(); h != nil {
		for _, e := range h.Log.Entries {
			o.urls = append(o.urls, e.Request.URL)
			if q, err := url.Parse(e.Request.URL); err == nil && q.Query().Get("code") != "" && q.Query().Get("state") != "" && sameHost(e.Request.URL, o.launch) {
				o.callback = e.Request.URL
			}
		}
	}
	o.browser = p.Findings()
	return nil
}

// page is what the read script returns.
type page struct {
	URL      string     `json:"url"`
	Text     string     `json:"text"`
	Password int        `json:"password"`
	Rows     [][]string `json:"rows"`
	Within   []string   `json:"within"`
	Med      [][]string `json:"med"`
	Store    string     `json:"store"`
}

// leaks lists what of the client a page still holds: her name, family name
// or BSN (also written with dots, spaces or dashes) in the visible text,
// in local or session storage, or in a request URL. For a refused launch
// (content read) also her birth date (ISO and Dutch), and all of them
// anywhere in the DOM of every frame, in the page's traffic and in its
// cookies.
func (o *observed) leaks(c fixtures.Client) []string {
	type place struct{ where, text string }
	places := []place{{"staat op de pagina", o.text}, {"staat in de opslag van de browser", o.store}}
	for _, u := range o.urls {
		places = append(places, place{"staat in het netwerkverkeer: adres " + redact(u), unescaped(u)})
	}
	ns := needles(c, o.content != nil)
	if x := o.content; x != nil {
		places = append(places, place{"staat in de DOM van de pagina (tekst, commentaar, attributen, verborgen elementen)", x.DOM})
		for _, t := range x.Traffic {
			places = append(places, place{"staat in het netwerkverkeer: " + t.Where, unescaped(t.Text)})
		}
		places = append(places, place{"staat in een cookie", unescaped(strings.Join(x.Cookies, "\n"))})
	}
	var out []string
	for _, p := range places {
		for _, n := range ns {
			found := n.what + " " + p.where
			// her family name where her full name already is says nothing more
			if n.what == "haar achternaam" && slices.Contains(out, "haar naam "+p.where) {
				continue
			}
			if !slices.Contains(out, found) && n.re.MatchString(p.text) {
				out = append(out, found)
			}
		}
	}
	return out
}

// needle is one way the client can be written down.
type needle struct {
	what string
	re   *regexp.Regexp
}

// space matches what separates the parts of a name or date on a page: any
// white space (non-breaking and narrow ones included), zero-width spaces and
// joiners, and a non-breaking space still written as an HTML entity.
const space = `(?:[\s\p{Z}\x{200b}-\x{200d}\x{2060}\x{feff}]|&nbsp;|&#160;|&#x[aA]0;)+`

// needles are the client's full name and family name (any case, any
// spacing), her BSN with or without separators, and with born her birth
// date as 1995-04-12, 12-04-1995, 12-4-1995, 12/04/1995 and 12 april 1995.
func needles(c fixtures.Client, born bool) []needle {
	words := func(s string) *regexp.Regexp {
		parts := strings.Fields(s)
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		return regexp.MustCompile(`(?i)(^|\P{L})` + strings.Join(parts, space) + `($|\P{L})`)
	}
	digits := func(s string) *regexp.Regexp {
		var b strings.Builder
		for i, r := range s {
			if i > 0 {
				b.WriteString(`[ .\-\x{a0}]?`)
			}
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
		return regexp.MustCompile(`(^|\D)` + b.String() + `($|\D)`)
	}
	var out []needle
	if name := fullName(c); name != "" {
		out = append(out, needle{"haar naam", words(name)})
	}
	if strings.TrimSpace(c.Family) != "" {
		out = append(out, needle{"haar achternaam", words(c.Family)})
	}
	if c.BSN != "" {
		out = append(out, needle{"haar BSN", digits(c.BSN)})
	}
	if d, err := time.Parse(fixtures.DateLayout, c.BirthDate); born && err == nil {
		var forms []string
		for _, f := range []string{"2006-01-02", "02-01-2006", "2-1-2006", "02/01/2006", "2/1/2006"} {
			forms = append(forms, regexp.QuoteMeta(d.Format(f)))
		}
		forms = append(forms, fmt.Sprintf(`%d%s%s%s%d`, d.Day(), space, dutchMonths[d.Month()-1], space, d.Year()))
		out = append(out, needle{"haar geboortedatum", regexp.MustCompile(`(?i)(^|\D)(` + strings.Join(slices.Compact(forms), "|") + `)($|\D)`)})
	}
	return out
}

var dutchMonths = [...]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"}

// unescaped is s with its percent-encoding undone (a name in a URL or a
// form body), or s when it holds none or is not valid encoding.
func unescaped(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil && u != s {
		return s + "\n" + u
	}
	return s
}

// switchProblems opens A, then B in the same browser context.
func switchProblems(ctx context.Context, a, b *fixtures.Scenario) []string {
	GinkgoHelper()
	vw := need()
	ua, err := vw.Launch(a.Client)
	if err != nil {
		spec.Broke(fmt.Errorf("launching the viewer for %s: %w", a.ID, err))
	}
	ub, err := vw.Launch(b.Client)
	if err != nil {
		spec.Broke(fmt.Errorf("launching the viewer for %s: %w", b.ID, err))
	}
	pages <- struct{}{}
	defer func() { <-pages }()
	p, err := vw.Browser.OpenAllowing(ctx, ua, vw.Origins)
	if err != nil {
		spec.Broke(fmt.Errorf("opening the viewer for %s: %w", a.ID, err))
	}
	defer p.Close()
	oa := &observed{launch: ua}
	if err := oa.read(p); err != nil {
		spec.Broke(err)
	}
	if !strings.Contains(oa.text, a.Client.Family) {
		spec.NotTestable(fmt.Sprintf("cliënt A (%s) werd na de eerste opening niet getoond (zie VWR-01)", a.Client.Family))
	}
	if err := p.Goto(ub); err != nil {
		spec.Broke(fmt.Errorf("opening the viewer for %s: %w", b.ID, err))
	}
	ob := &observed{launch: ub}
	if err := ob.read(p); err != nil {
		spec.Broke(err)
	}
	if vw.Evidence != nil && p.Err() == nil {
		if png, err := p.Screenshot(nil); err == nil {
			vw.Evidence("viewer-wissel.png", png, "VWR-03")
		}
	}
	network(ob, "viewer-wissel")
	var problems []string
	if !strings.Contains(ob.text, b.Client.Family) {
		problems = append(problems, fmt.Sprintf("cliënt B (%s %s) wordt na de nieuwe opening niet getoond", b.Client.Given, b.Client.Family))
	}
	for _, leak := range ob.leaks(a.Client) {
		problems = append(problems, "van cliënt A: "+leak)
	}
	return problems
}

// expected is a registered fact a viewer shows as a row, and the day it
// was registered.
type expected struct {
	f   fixtures.Fact
	day int
}

// expectedFacts are the registered facts about one person (the client or a
// child) a viewer shows as a row: observations and referrals (not
// medication: VWR-05). A child's facts are those of the events whose
// subject she is; the client's those of the events about her.
func expectedFacts(s *fixtures.Scenario, who fixtures.Client) []expected {
	var out []expected
	for _, e := range s.Events {
		subject := s.SubjectOf(e)
		if subject != who.ID {
			continue
		}
		for _, f := range e.Facts {
			if f.Medication != nil || (f.ResourceType != "Observation" && f.ResourceType != "ServiceRequest") {
				continue
			}
			out = append(out, expected{f, e.Day})
		}
	}
	return out
}

var kindSuffix = regexp.MustCompile(` kind [0-9]+$`)

// glassProblems names each fact without a visible row holding its name,
// its value with unit (Dutch notation) and its date. The client's facts are
// looked for in the rows that name none of her children; a child's facts in
// the rows that name her (her given and family name in a cell or in the
// accessible name of the row's table), so twins are told apart.
func glassProblems(v *observed, s *fixtures.Scenario) []string {
	ref := spec.Current().Reference
	rows := make([]string, len(v.rows))
	whose := make([]int, len(v.rows)) // index in s.Children, -1 for none
	for i, r := range v.rows {
		rows[i] = norm(strings.Join(r, " | "))
		context := rows[i]
		if i < len(v.within) {
			context += " | " + norm(v.within[i])
		}
		whose[i] = childOf(strings.ToLower(context), s.Children)
	}
	holds := func(i int, x expected) bool {
		value := norm(fixtures.ShowValue(x.f, ref))
		date := fixtures.Date(ref, x.day).Format("02-01-2006")
		// a twin's fact ("Type partus kind 2") may be shown under the
		// concept's name: the value and date tell the children apart
		name := strings.ToLower(kindSuffix.ReplaceAllString(x.f.Name, ""))
		return strings.Contains(strings.ToLower(rows[i]), name) && strings.Contains(rows[i], value) && strings.Contains(rows[i], date)
	}
	var problems []string
	for k := -1; k < len(s.Children); k++ {
		who, prefix := s.Client, ""
		if k >= 0 {
			who, prefix = s.Children[k], "kind "+fullName(s.Children[k])+": "
		}
		for _, x := range expectedFacts(s, who) {
			found, elsewhere := false, ""
			for i := range rows {
				if !holds(i, x) {
					continue
				}
				if whose[i] == k {
					found = true
					break
				}
				switch {
				case whose[i] >= 0:
					elsewhere = " (wel bij kind " + fullName(s.Children[whose[i]]) + ")"
				case k >= 0:
					elsewhere = " (wel in een rij die het kind niet noemt)"
				}
			}
			if !found {
				value := norm(fixtures.ShowValue(x.f, ref))
				date := fixtures.Date(ref, x.day).Format("02-01-2006")
				problems = append(problems, fmt.Sprintf("%s%s %q van %s staat in geen rij met die naam, waarde en datum%s", prefix, x.f.Name, value, date, elsewhere))
			}
		}
	}
	return problems
}

// childOf is the index of the one child a row's text names, or -1 when it
// names none (or several: such a row is nobody's).
func childOf(text string, children []fixtures.Client) int {
	at := -1
	for i, c := range children {
		if strings.Contains(text, strings.ToLower(fullName(c))) {
			if at >= 0 {
				return -1
			}
			at = i
		}
	}
	return at
}

func fullName(c fixtures.Client) string { return strings.TrimSpace(c.Given + " " + c.Family) }

// medicationProblems compares the products of the overview shown with the
// agreements in force on the viewing day.
func medicationProblems(v *observed, s *fixtures.Scenario) []string {
	env := spec.Current()
	now := need().Now().In(fixtures.Amsterdam)
	ref := env.Reference.In(fixtures.Amsterdam)
	day := int(time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, time.UTC).Sub(time.Date(ref.Year(), ref.Month(), ref.Day(), 12, 0, 0, 0, time.UTC)).Hours() / 24)
	var want []string
	for _, m := range fixtures.MedicationOverview(s, fixtures.MedicatieAfspraak, day) {
		want = append(want, norm(m.Product.Display))
	}
	var got []string
	for _, t := range v.med {
		for _, p := range t {
			got = append(got, norm(p))
		}
	}
	if len(v.med) == 0 && len(want) > 0 {
		return []string{fmt.Sprintf("geen tabel met de naam Medicatieoverzicht; verwacht %s", strings.Join(want, ", "))}
	}
	slices.Sort(want)
	slices.Sort(got)
	if slices.Equal(want, got) {
		return nil
	}
	var problems []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			problems = append(problems, "ontbreekt op het medicatieoverzicht: "+w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			problems = append(problems, "staat op het medicatieoverzicht maar is niet van kracht: "+g)
		}
	}
	if len(problems) == 0 {
		problems = append(problems, fmt.Sprintf("het medicatieoverzicht toont %v, verwacht %v", got, want))
	}
	return problems
}

// logProblems looks for the view in the viewer's access log.
func logProblems(ctx context.Context, v *observed, s *fixtures.Scenario) []string {
	GinkgoHelper()
	vw := need()
	if vw.AuditURL == "" {
		spec.NotTestable("de viewer noemt geen toegangslog (AuditEvent)")
	}
	pid := vw.PatientID(s.Client)
	q := url.Values{"patient": {"Patient/" + pid}}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, vw.AuditURL+"?"+q.Encode(), nil)
	if err != nil {
		spec.Broke(err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		spec.Broke(fmt.Errorf("reading the viewer's access log: %w", err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return []string{fmt.Sprintf("het toegangslog antwoordt %d", resp.StatusCode)}
	}
	var b struct {
		Entry []struct {
			Resource struct {
				Action   string `json:"action"`
				Recorded string `json:"recorded"`
				Agent    []struct {
					Who struct {
						Identifier struct{ System, Value string } `json:"identifier"`
					} `json:"who"`
					Requestor bool `json:"requestor"`
				} `json:"agent"`
				Entity []struct {
					What struct {
						Reference string `json:"reference"`
					} `json:"what"`
				} `json:"entity"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&b); err != nil {
		return []string{"het toegangslog is geen leesbare Bundle: " + err.Error()}
	}
	who := vw.Professional.ID()
	var seen []string
	for _, e := range b.Entry {
		r := e.Resource
		of := slices.ContainsFunc(r.Entity, func(x struct {
			What struct {
				Reference string `json:"reference"`
			} `json:"what"`
		}) bool {
			return strings.HasSuffix(x.What.Reference, "Patient/"+pid)
		})
		at, err := time.Parse(time.RFC3339, r.Recorded)
		if !of || err != nil || at.Before(v.viewed.Add(-time.Minute)) {
			continue
		}
		for _, a := range r.Agent {
			if a.Requestor {
				seen = append(seen, a.Who.Identifier.Value)
				if a.Who.Identifier.Value == who && r.Action == "R" {
					return nil
				}
			}
		}
	}
	if len(seen) > 0 {
		return []string{fmt.Sprintf("de inzage is gelogd onder %s, niet onder de zorgverlener die de viewer opende (%s, %s)", strings.Join(seen, ", "), vw.Professional.Name, who)}
	}
	return []string{fmt.Sprintf("geen AuditEvent (actie R) van de inzage van %s sinds %s", pid, v.viewed.UTC().Format(time.RFC3339))}
}

func wcagProblems(rep *wcag.PageReport, bf []browser.Finding) []string {
	var out []string
	for _, f := range bf {
		out = append(out, "browser: "+f.Kind+": "+f.Message)
	}
	if rep == nil {
		return append(out, "de pagina kon niet gecontroleerd worden")
	}
	for _, f := range rep.Findings {
		if f.Outcome == wcag.Failed {
			out = append(out, fmt.Sprintf("WCAG %s (%s) %s: %s", f.SC, f.Rule, f.Element, f.Message))
		}
	}
	return out
}

// norm folds the spaces a browser may render (no-break, thin) into one.
func norm(s string) string {
	s = strings.NewReplacer("\u00a0", " ", "\u202f", " ", "\u2009", " ").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && ua.Host == ub.Host
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(onleesbaar adres)"
	}
	u.RawQuery, u.User, u.Fragment = "", nil, ""
	return u.String()
}

// pollEvery is how often VWR-08 opens the viewer again while it waits for
// the new fact.
const pollEvery = 2 * time.Second

// timelyProblems views the client's record, registers a new fact about her
// at the XIS (a measurement of the viewing day with a value she has not
// had) and opens the viewer again, each time with a new launch, until the
// fact is visible or the profile's limit has passed. A view counts from
// when it was opened: the bench's own page load is not the viewer's delay.
func timelyProblems(ctx context.Context, s *fixtures.Scenario) []string {
	GinkgoHelper()
	vw, env := need(), spec.Current()
	if vw.Timely <= 0 {
		spec.NotTestable("het profiel stelt geen grens aan de tijdigheid van de viewer")
	}
	if env.Adapter == nil {
		spec.NotTestable("de run heeft geen XIS waarin de bench een nieuw gegeven kan registreren")
	}
	viewOf(ctx, s) // the record as the viewer showed it before
	reg, f, ok := lateFact(s, env.Reference, vw.Now())
	if !ok {
		spec.NotTestable(fmt.Sprintf("%s heeft geen meting met een getal waarvan de bench een nieuwe kan registreren", s.ID))
	}
	value := norm(fixtures.ShowValue(f, env.Reference))
	date := reg.Time.In(fixtures.Amsterdam).Format("02-01-2006")
	name := strings.ToLower(f.Name)
	if _, err := env.Adapter.Register(ctx, reg); err != nil {
		spec.Broke(fmt.Errorf("registering a new fact at the XIS: %w", err))
	}
	registered := time.Now()
	var lastMiss time.Duration
	for {
		opened := time.Now()
		u, err := vw.Launch(s.Client)
		if err != nil {
			spec.Broke(fmt.Errorf("launching the viewer for %s: %w", s.ID, err))
		}
		shown, late, err := lookFor(ctx, vw, u, func(o *observed) bool {
			return slices.ContainsFunc(o.rows, func(r []string) bool {
				row := norm(strings.Join(r, " | "))
				return strings.Contains(strings.ToLower(row), name) && strings.Contains(row, value) && strings.Contains(row, date)
			})
		}, func() bool { return opened.Sub(registered) > vw.Timely })
		if err != nil {
			spec.Broke(fmt.Errorf("opening the viewer for %s: %w", s.ID, err))
		}
		if shown && late {
			// it appeared between the last page that missed it (within the
			// limit) and this one (past it): when exactly, the bench does
			// not know
			spec.NotTestable(fmt.Sprintf("%s verscheen tussen %s na registratie (nog niet te zien, binnen de grens %s) en %s (te zien, na de grens): wanneer precies weet de bench niet",
				f.Name, lastMiss.Round(time.Second), vw.Timely, opened.Sub(registered).Round(time.Second)))
		}
		if shown {
			return nil
		}
		lastMiss = opened.Sub(registered)
		if late {
			return []string{fmt.Sprintf("%s %q van %s, om %s in het XIS geregistreerd, stond %s later nog niet in de viewer (grens %s)",
				f.Name, value, date, registered.In(fixtures.Amsterdam).Format("15:04:05"), opened.Sub(registered).Round(time.Second), vw.Timely)}
		}
		select {
		case <-ctx.Done():
			spec.Broke(fmt.Errorf("waiting for the new fact in the viewer: %w", ctx.Err()))
		case <-time.After(pollEvery):
		}
	}
}

// lookFor opens a launch (holding a page slot), reads the page and tells
// whether it shows what is looked for; the page that ends the wait (shown, or late) is kept as
// VWR-08's screenshot.
func lookFor(ctx context.Context, vw *spec.Viewer, u string, shows func(*observed) bool, late func() bool) (bool, bool, error) {
	pages <- struct{}{}
	defer func() { <-pages }()
	p, err := vw.Browser.OpenAllowing(ctx, u, vw.Origins)
	if err != nil {
		return false, false, err
	}
	defer p.Close()
	o := &observed{launch: u, viewed: time.Now()}
	if err := o.read(p); err != nil {
		return false, false, err
	}
	shown, isLate := shows(o), late()
	if (shown || isLate) && vw.Evidence != nil && p.Err() == nil {
		if png, err := p.Screenshot(nil); err == nil {
			vw.Evidence("viewer-tijdigheid.png", png, "VWR-08")
		}
		network(o, "viewer-tijdigheid")
	}
	return shown, isLate, nil
}

// lateFact is the registration VWR-08 sends: the client's first measured
// number (not her weight or the pregnancy's duration, which other checks
// and mutants read) registered again now with another value, as a new
// event of her scenario by the same author.
func lateFact(s *fixtures.Scenario, ref, now time.Time) (fixtures.Registration, fixtures.Fact, bool) {
	regs, err := s.Registrations(ref)
	if err != nil {
		return fixtures.Registration{}, fixtures.Fact{}, false
	}
	for i, e := range s.Events {
		if e.Subject != "" && e.Subject != s.Client.ID {
			continue
		}
		for j, f := range e.Facts {
			q := f.Value.Quantity
			if f.ResourceType != "Observation" || q == nil || f.Code == fixtures.CodeBodyWeight || f.Code == fixtures.CodePregnancyDuration {
				continue
			}
			v, err := strconv.ParseFloat(q.Value, 64)
			if err != nil {
				continue
			}
			decimals := 0
			if _, frac, ok := strings.Cut(q.Value, "."); ok {
				decimals = len(frac)
			}
			late := f
			late.Key = f.Key + "-vwr08"
			late.Value = fixtures.Value{Quantity: &fixtures.Quantity{Value: strconv.FormatFloat(v+1.3, 'f', decimals, 64), Unit: q.Unit}}
			r := regs[i]
			r.Event = e.ID + "-vwr08"
			r.Title = "Nieuwe meting (tijdigheid van de viewer)"
			r.Time = now.Truncate(time.Minute)
			rf := r.Facts[j]
			rf.Key = late.Key
			rf.Value = fixtures.RegisteredValue{Quantity: late.Value.Quantity}
			r.Facts = []fixtures.RegisteredFact{rf}
			return r, late, true
		}
	}
	return fixtures.Registration{}, fixtures.Fact{}, false
}
