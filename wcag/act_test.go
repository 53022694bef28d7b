package wcag

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bcbench/bcbench/browser"
	"github.com/bcbench/bcbench/internal/shared"
)

// actCase is one test case of an ACT rule: an example and what it expects.
type actCase struct {
	Rule   string
	Expect string // passed, failed, inapplicable
	N      int
	Ext    string // html, svg, xhtml
	Source string
}

var exampleHeading = regexp.MustCompile(`^#### (Passed|Failed|Inapplicable) Example (\d+)`)

// readACTCases reads the examples of every rule file in dir.
func readACTCases(t *testing.T, dir string) map[string][]actCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "_rules", "*.md"))
	if err != nil || len(files) == 0 {
		t.Skipf("no ACT rules in %s", dir)
	}
	out := map[string][]actCase{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		id := ""
		var cur *actCase
		inCode := false
		var code strings.Builder
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if id == "" && strings.HasPrefix(line, "id: ") {
				id = strings.TrimSpace(strings.TrimPrefix(line, "id: "))
			}
			if m := exampleHeading.FindStringSubmatch(line); m != nil {
				var n int
				fmt.Sscan(m[2], &n)
				cur = &actCase{Rule: id, Expect: strings.ToLower(m[1]), N: n}
				continue
			}
			if cur == nil {
				continue
			}
			switch {
			case !inCode && strings.HasPrefix(line, "```") && cur.Source == "":
				inCode = true
				cur.Ext = map[string]string{"svg": "svg", "xml": "xhtml", "xhtml": "xhtml"}[strings.TrimPrefix(line, "```")]
				if cur.Ext == "" {
					cur.Ext = "html"
				}
				code.Reset()
			case inCode && strings.HasPrefix(line, "```"):
				inCode = false
				cur.Source = code.String()
				out[id] = append(out[id], *cur)
				cur = nil
			case inCode:
				code.WriteString(line + "\n")
			}
		}
	}
	return out
}

// page returns what the server sends for the case: a fragment is put into
// the body of an English page with a title, as the ACT test cases are.
func (c actCase) page() (string, string) {
	switch c.Ext {
	case "svg":
		return "image/svg+xml", c.Source
	case "xhtml":
		return "application/xhtml+xml", c.Source
	}
	if strings.Contains(strings.ToLower(c.Source), "<html") {
		return "text/html; charset=utf-8", c.Source
	}
	return "text/html; charset=utf-8", "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"UTF-8\" />\n<title>ACT test case</title>\n</head>\n<body>\n" + c.Source + "</body>\n</html>\n"
}

func (c actCase) path() string {
	return fmt.Sprintf("/cases/%s/%s-%d.%s", c.Rule, c.Expect, c.N, c.Ext)
}

// wcagAA reports whether a rule maps to at least one WCAG 2.1 A/AA criterion.
func wcagAA(r Rule) bool {
	for _, sc := range r.SC {
		if _, ok := levels[sc]; ok {
			return true
		}
	}
	return false
}

// TestACTConsistency runs every Passed, Failed and Inapplicable example of
// each implemented ACT rule in the browser: a Failed example must be failed,
// a Passed or Inapplicable one must not be. BCBENCH_ACT_RULE=id,id limits
// the rules (to work on one).
func TestACTConsistency(t *testing.T) {
	corpus := shared.Corpus(t, "the W3C ACT Rules test cases are read from it")
	dir := filepath.Join(corpus, "act-rules")
	if _, err := browser.Find(""); err != nil {
		t.Skipf("skipping: %v", err)
	}
	cases := readACTCases(t, dir)
	var rules []Rule
	only := os.Getenv("BCBENCH_ACT_RULE")
	for _, r := range Rules() {
		if r.ACT && (only == "" || strings.Contains(","+only+",", ","+r.ID+",")) {
			if len(cases[r.ID]) == 0 {
				t.Errorf("rule %s: no test cases in the corpus", r.ID)
			}
			rules = append(rules, r)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/test-assets/", http.FileServer(http.Dir(dir)))
	var all []actCase
	for _, r := range rules {
		for _, c := range cases[r.ID] {
			mime, body := c.page()
			mux.HandleFunc(c.path(), func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", mime)
				fmt.Fprint(w, body)
			})
			all = append(all, c)
		}
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	start := time.Now()
	b, err := browser.Launch(context.Background(), browser.Options{PageTimeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	type verdict struct {
		ok     bool
		detail string
	}
	got := make([]verdict, len(all))
	var wg sync.WaitGroup
	next := make(chan int)
	go func() {
		for i := range all {
			next <- i
		}
		close(next)
	}()
	for range 3 { // a few tabs; each goes through its cases one after another
		wg.Go(func() {
			var p *browser.Page
			defer func() {
				if p != nil {
					p.Close()
				}
			}()
			for i := range next {
				c := all[i]
				r, _ := Lookup(c.Rule)
				var failed bool
				var detail string
				var err error
				p, failed, detail, err = judgeCase(b, p, srv.URL+c.path(), r)
				switch {
				case err != nil:
					got[i] = verdict{false, "error: " + err.Error()}
				case (c.Expect == "failed") == failed:
					got[i] = verdict{true, ""}
				default:
					got[i] = verdict{false, fmt.Sprintf("expected %s, rule failed=%v %s", c.Expect, failed, detail)}
				}
			}
		})
	}
	wg.Wait()

	// The table: rules × cases.
	var table strings.Builder
	fmt.Fprintf(&table, "%-8s %-9s %-10s %s\n", "rule", "SC", "consistent", "cases (P passed, F failed, I inapplicable; lower case = not consistent)")
	consistent, counted := 0, 0
	var notConsistent []string
	for _, r := range rules {
		var cells []string
		ok, n := 0, 0
		for i, c := range all {
			if c.Rule != r.ID {
				continue
			}
			n++
			cell := fmt.Sprintf("%s%d", strings.ToUpper(c.Expect[:1]), c.N)
			if got[i].ok {
				ok++
			} else {
				cell = strings.ToLower(cell)
				t.Logf("%s %s example %d: %s", r.ID, c.Expect, c.N, got[i].detail)
			}
			cells = append(cells, cell)
		}
		fmt.Fprintf(&table, "%-8s %-9s %3d/%-3d %s\n", r.ID, strings.Join(r.SC, ","), ok, n, strings.Join(cells, " "))
		if ok == n && n > 0 {
			consistent++
			if wcagAA(r) {
				counted++
			}
		} else {
			notConsistent = append(notConsistent, r.ID)
		}
	}
	sort.Strings(notConsistent)
	fmt.Fprintf(&table, "%d of %d ACT rules consistent on 100%% of their cases; %d of them map to WCAG 2.1 A/AA; not consistent: %v; %d cases in %s\n",
		consistent, len(rules), counted, notConsistent, len(all), time.Since(start).Round(time.Second))
	t.Log("\n" + table.String())
	if out := os.Getenv("BCBENCH_ACT_TABLE"); out != "" {
		os.WriteFile(out, []byte(table.String()), 0o644)
	}
	if only == "" && counted < 25 {
		t.Errorf("only %d consistent ACT rules map to WCAG 2.1 A/AA; the bar is 25", counted)
	}
	if only != "" && len(notConsistent) > 0 {
		t.Errorf("not consistent: %v", notConsistent)
	}
}

// judgeCase loads one case, in the worker's tab when it has one, and runs
// one rule. It returns the tab to use for the next case.
func judgeCase(b *browser.Browser, p *browser.Page, url string, r Rule) (*browser.Page, bool, string, error) {
	var err error
	if p != nil {
		if err = p.Goto(url); err != nil {
			p.Close()
			p = nil
		}
	}
	if p == nil {
		if p, err = b.Open(context.Background(), url); err != nil {
			return nil, false, "", err
		}
	}
	fs, err := Run(p.Context(), []Rule{r})
	if err != nil {
		p.Close()
		return nil, false, "", err
	}
	var msgs []string
	for _, f := range fs {
		msgs = append(msgs, fmt.Sprintf("[%s %s: %s]", f.Outcome, f.Element, f.Message))
	}
	return p, AnyFailed(fs), strings.Join(msgs, " "), nil
}
