// Package wcag is bcbench's own WCAG 2.1 A/AA engine: rules written in Go
// over Chrome's accessibility tree, the DOM and computed styles of a page
// (see Snapshot), each mapped to the WCAG success criteria it tests and to
// its W3C ACT rule where one exists. A rule reports what it can prove as
// failed; what automation cannot decide is needs-review, never a pass.
package wcag

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/bcbench/bcbench/browser"
)

// Outcome of a rule on one element or page.
type Outcome string

// The outcomes a finding can have. A check that found nothing wrong
// leaves no finding; that is not a pass of the success criterion.
const (
	Failed      Outcome = "failed"
	NeedsReview Outcome = "needs-review"
)

// Finding is one thing a rule found on a page.
type Finding struct {
	SC      string  `json:"sc"`
	Rule    string  `json:"rule"`
	Outcome Outcome `json:"outcome"`
	Element string  `json:"element,omitempty"`
	Message string  `json:"message"`
	// Node is the snapshot index of the element (-1: the page); Box its
	// border box, for screenshots.
	Node int  `json:"-"`
	Box  Rect `json:"-"`
}

// Rule is one check.
type Rule struct {
	// ID is the ACT rule id (ACT true) or our own id (bcb-…).
	ID   string
	ACT  bool
	Name string
	// SC lists the WCAG 2.1 A/AA success criteria a failure violates.
	SC []string
	// Check returns the rule's results on the page.
	Check func(a *Audit) []Result
	// Interactive rules change the page (keys, viewport, styles) and run
	// after the others.
	Interactive bool
}

// Result is a rule's outcome on one node (Node -1: the page).
type Result struct {
	Node    int
	Element string // describes the element when Node is -1 (found by a probe)
	Outcome Outcome
	Message string
}

// Audit is one page under check: its snapshot, and the page itself for the
// interactive rules.
type Audit struct {
	Snap *Snapshot
	Ctx  context.Context
	// phases, when set, hears how long each rule took.
	phases *[]browser.Phase
}

var registry []Rule

func register(r Rule) {
	for _, o := range registry {
		if o.ID == r.ID {
			panic("wcag: rule " + r.ID + " registered twice")
		}
	}
	registry = append(registry, r)
}

// Rules returns every rule, ACT rules first, each group by id.
func Rules() []Rule {
	out := append([]Rule(nil), registry...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ACT != out[j].ACT {
			return out[i].ACT
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Lookup returns the rule with id.
func Lookup(id string) (Rule, bool) {
	for _, r := range registry {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

// Run runs rules (all when nil) on the page behind ctx and returns the
// findings, one per success criterion of the rule and element.
func Run(ctx context.Context, rules []Rule) ([]Finding, error) {
	if rules == nil {
		rules = Rules()
	}
	snap, err := Capture(ctx)
	if err != nil {
		return nil, err
	}
	return (&Audit{Snap: snap, Ctx: ctx}).run(rules)
}

// run runs the rules, those that interact with the page last.
func (a *Audit) run(rules []Rule) ([]Finding, error) {
	var out []Finding
	for _, pass := range []bool{false, true} {
		for _, r := range rules {
			if r.Interactive != pass {
				continue
			}
			start := time.Now()
			res, err := a.check(r)
			if a.phases != nil {
				*a.phases = append(*a.phases, browser.Phase{Name: "rule " + r.ID, Duration: time.Since(start)})
			}
			if err != nil {
				return out, err
			}
			out = append(out, a.findings(r, res)...)
		}
	}
	return out, nil
}

// check runs one rule, turning a panic into an error (a rule bug must not
// take the bench down, nor read as a pass).
func (a *Audit) check(r Rule) (res []Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("rule %s: %v", r.ID, p)
		}
	}()
	return r.Check(a), nil
}

func (a *Audit) findings(r Rule, res []Result) []Finding {
	var out []Finding
	for _, x := range res {
		for _, sc := range r.SC {
			f := Finding{SC: sc, Rule: r.ID, Outcome: x.Outcome, Message: x.Message, Node: x.Node, Element: x.Element}
			if x.Node >= 0 && x.Node < len(a.Snap.Nodes) {
				n := a.Snap.Nodes[x.Node]
				f.Element = a.Snap.Describe(n)
				f.Box = n.Box
			}
			out = append(out, f)
		}
	}
	return out
}

// Failed reports whether any finding failed.
func AnyFailed(fs []Finding) bool {
	for _, f := range fs {
		if f.Outcome == Failed {
			return true
		}
	}
	return false
}

func fail(n *Node, format string, args ...any) Result {
	return Result{Node: index(n), Outcome: Failed, Message: fmt.Sprintf(format, args...)}
}

func review(n *Node, format string, args ...any) Result {
	return Result{Node: index(n), Outcome: NeedsReview, Message: fmt.Sprintf(format, args...)}
}

func index(n *Node) int {
	if n == nil {
		return -1
	}
	return n.Index
}

// Describe names an element for a person: tag, id, role and a little text.
func (s *Snapshot) Describe(n *Node) string {
	var b strings.Builder
	b.WriteString(n.Tag)
	if id, ok := n.Attr("id"); ok && id != "" {
		b.WriteString("#" + id)
	}
	for _, name := range []string{"role", "type", "href", "src", "lang", "name"} {
		if v, ok := n.Attr(name); ok {
			fmt.Fprintf(&b, "[%s=%q]", name, clip(v, 40))
		}
	}
	if n.is("html", "body", "head") {
		return b.String()
	}
	if t := strings.Join(strings.Fields(s.TextContent(n)), " "); t != "" {
		fmt.Fprintf(&b, " %q", clip(t, 60))
	}
	return b.String()
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
