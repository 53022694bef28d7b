// Command testsum reads `go test -json` on stdin, prints the output of every
// failing test and the package results, lists the skipped tests grouped by
// the reason they give, and ends with the plain line
// "N passed, N failed, N skipped" that CI reads. It exits 1 when any test or
// package failed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

// summary is what testsum found.
type summary struct {
	passed, failed, skipped int
	failures, pkgFailures   []string
	// skips maps a reason to the tests that skipped with it.
	skips map[string][]string
	// slow holds the top-level tests that took longest.
	slow []timing
}

// timing is how long one top-level test took.
type timing struct {
	test    string
	elapsed float64
}

// slowest is how many of the longest top-level tests are listed, and
// slowFloor the least duration (seconds) worth listing.
const (
	slowest   = 12
	slowFloor = 20.0
)

func main() {
	s := summarise(os.Stdin, os.Stdout)
	if s.failed > 0 || len(s.pkgFailures) > 0 {
		os.Exit(1)
	}
}

// maxLines bounds the output kept per test: the first half and the last
// half (a test that hangs until the package's timeout says why at the end).
const maxLines = 400

// lines keeps the head and the tail of a test's output.
type lines struct {
	head, tail []string
	dropped    int
}

func (l *lines) add(s string) {
	if len(l.head) < maxLines/2 {
		l.head = append(l.head, s)
		return
	}
	l.tail = append(l.tail, s)
	if len(l.tail) > maxLines/2 {
		l.tail = l.tail[1:]
		l.dropped++
	}
}

func (l *lines) all() []string {
	if l == nil {
		return nil
	}
	out := append([]string(nil), l.head...)
	if l.dropped > 0 {
		out = append(out, fmt.Sprintf("    … %d lines left out …\n", l.dropped))
	}
	return append(out, l.tail...)
}

// summarise reads the events and writes the report to out.
func summarise(in io.Reader, out io.Writer) summary {
	s := summary{skips: map[string][]string{}}
	output := map[string]*lines{}           // package/test → lines
	running := map[string]map[string]bool{} // package → tests started, not ended
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			fmt.Fprintln(out, string(line)) // build errors and other plain text
			continue
		}
		key := e.Package + " " + e.Test
		if e.Test != "" {
			switch e.Action {
			case "run":
				if running[e.Package] == nil {
					running[e.Package] = map[string]bool{}
				}
				running[e.Package][e.Test] = true
			case "pass", "fail", "skip":
				delete(running[e.Package], e.Test)
			}
		}
		switch e.Action {
		case "output":
			if output[key] == nil {
				output[key] = &lines{}
			}
			output[key].add(e.Output)
			if e.Test == "" && strings.HasPrefix(e.Output, "FAIL") {
				fmt.Fprint(out, e.Output)
			}
		case "pass":
			if e.Test != "" && !strings.Contains(e.Test, "/") && e.Elapsed >= slowFloor {
				s.slow = append(s.slow, timing{short(e.Package) + " " + e.Test, e.Elapsed})
			}
			if e.Test != "" {
				s.passed++
			} else {
				fmt.Fprintf(out, "ok   %s (%.1fs)\n", e.Package, e.Elapsed)
			}
			delete(output, key)
		case "skip":
			if e.Test != "" {
				s.skipped++
				reason := skipReason(output[key].all())
				s.skips[reason] = append(s.skips[reason], short(e.Package)+" "+e.Test)
			} else {
				fmt.Fprintf(out, "--   %s (no tests)\n", e.Package)
			}
			delete(output, key)
		case "fail":
			if e.Test != "" {
				s.failed++
				s.failures = append(s.failures, key)
				fmt.Fprintf(out, "FAIL %s %s\n%s", e.Package, e.Test, strings.Join(output[key].all(), ""))
			} else {
				s.pkgFailures = append(s.pkgFailures, e.Package)
				fmt.Fprintf(out, "FAIL %s (%.1fs)\n%s", e.Package, e.Elapsed, strings.Join(output[key].all(), ""))
				// Tests that never ended (the package timed out or
				// crashed under them) are failures too: name them and
				// show how far they got.
				var open []string
				for t := range running[e.Package] {
					open = append(open, t)
				}
				sort.Strings(open)
				for _, t := range open {
					k := e.Package + " " + t
					s.failed++
					s.failures = append(s.failures, k+" (did not finish)")
					fmt.Fprintf(out, "FAIL %s %s (did not finish)\n%s", e.Package, t, strings.Join(output[k].all(), ""))
					delete(output, k)
				}
				delete(running, e.Package)
			}
			delete(output, key)
		}
	}
	printSkips(out, s.skips)
	printSlow(out, s.slow)
	sort.Strings(s.failures)
	if len(s.failures) > 0 {
		fmt.Fprintln(out, "\nfailed tests:")
		for _, f := range s.failures {
			fmt.Fprintln(out, "  "+f)
		}
	}
	if s.failed == 0 && len(s.pkgFailures) > 0 {
		s.failed = len(s.pkgFailures) // a package that did not build counts as a failure
	}
	fmt.Fprintf(out, "%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
	return s
}

// location is the "file_test.go:12: " prefix go test puts before t.Skip's text.
var location = regexp.MustCompile(`^\s*[\w.-]+\.go:\d+: `)

// skipReason is the text a skipped test gave: its output without the
// run/skip/pause lines and the file:line prefix. A skip that says nothing
// (t.SkipNow, or a parent's skip) is "(no reason given)".
func skipReason(lines []string) string {
	var parts []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		parts = append(parts, strings.TrimSpace(location.ReplaceAllString(l, "")))
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	r := strings.Join(parts, " ")
	if rs := []rune(r); len(rs) > 200 {
		r = string(rs[:199]) + "…"
	}
	return r
}

// short drops the module path of a package name.
func short(pkg string) string { return strings.TrimPrefix(pkg, "github.com/bcbench/bcbench/") }

// printSkips lists the skipped tests grouped by reason, the most frequent
// reason first, with up to five test names per reason.
func printSkips(out io.Writer, skips map[string][]string) {
	if len(skips) == 0 {
		return
	}
	reasons := make([]string, 0, len(skips))
	for r := range skips {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		a, b := skips[reasons[i]], skips[reasons[j]]
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return reasons[i] < reasons[j]
	})
	fmt.Fprintln(out, "\nskipped tests, by reason:")
	for _, r := range reasons {
		tests := skips[r]
		sort.Strings(tests)
		fmt.Fprintf(out, "  %d × %s\n", len(tests), r)
		for i, t := range tests {
			if i == 5 {
				fmt.Fprintf(out, "      … and %d more\n", len(tests)-5)
				break
			}
			fmt.Fprintf(out, "      %s\n", t)
		}
	}
}

// printSlow lists the longest passing top-level tests, longest first, so the
// CI time budget can be kept.
func printSlow(out io.Writer, slow []timing) {
	if len(slow) == 0 {
		return
	}
	sort.Slice(slow, func(i, j int) bool { return slow[i].elapsed > slow[j].elapsed })
	if len(slow) > slowest {
		slow = slow[:slowest]
	}
	fmt.Fprintf(out, "\nslowest tests (≥ %.0f s):\n", slowFloor)
	for _, t := range slow {
		fmt.Fprintf(out, "  %6.1fs %s\n", t.elapsed, t.test)
	}
}
