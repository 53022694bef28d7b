package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bcbench/bcbench/browser"
	"github.com/bcbench/bcbench/wcag"
)

func init() { register(newWCAGCmd) }

type wcagOptions struct {
	format   string
	evidence string
	timeout  time.Duration
}

func newWCAGCmd() *cobra.Command {
	var o wcagOptions
	cmd := &cobra.Command{
		Use:   "wcag [flags] URL|FILE...",
		Short: "Check pages against WCAG 2.1 A/AA with bcbench's own rules in headless chromium",
		Long: `Check web pages against WCAG 2.1 level A and AA with bcbench's own rules
(docs/wcag.md), in Debian's headless chromium. A FILE is served from a loopback
server together with the files beside it. Each page is opened in a fresh
incognito context, bounded in time and size.

A finding is "failed" (the rule proves a violation) or "needs-review" (what
automation cannot decide; never a pass). --format json writes one JSON line per
page: {"page": …, "findings": [{"sc", "rule", "outcome", "element", "message"}]}.
--evidence DIR writes a screenshot of each page, one of each failed element
(outlined in red), and the page's network log (HAR).

Exit 0 when nothing failed, 1 when a rule failed or a page misbehaved (never
finished loading, pop-ups, another host, a download, too large), 2 when the
bench could not run (no chromium, a page not loadable).`,
		Example: `  bcbench wcag http://127.0.0.1:8080/viewer
  bcbench wcag --format json --evidence out/ pagina.html`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWCAG(cmd.Context(), cmd.OutOrStdout(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "output: text, or json (one line per page)")
	f.StringVar(&o.evidence, "evidence", "", "directory to write screenshots (PNG) and network logs (HAR) into")
	f.DurationVar(&o.timeout, "page-timeout", 30*time.Second, "time budget of one page, loading and checking")
	return cmd
}

func runWCAG(ctx context.Context, out io.Writer, o wcagOptions, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.format != "text" && o.format != "json" {
		return withCode(exitSetup, fmt.Errorf("--format %q: use text or json", o.format))
	}
	if o.timeout <= 0 || o.timeout > 10*time.Minute {
		return withCode(exitSetup, fmt.Errorf("--page-timeout %s: use a duration from 1s to 10m", o.timeout))
	}
	targets, cleanup, err := wcagTargets(args)
	if err != nil {
		return withCode(exitSetup, err)
	}
	defer cleanup()
	if o.evidence != "" {
		if err := os.MkdirAll(o.evidence, 0o755); err != nil {
			return withCode(exitSetup, fmt.Errorf("creating the evidence directory: %w", err))
		}
	}
	b, err := browser.Launch(ctx, browser.Options{PageTimeout: o.timeout})
	if err != nil {
		if errors.Is(err, browser.ErrNoBrowser) {
			return withCode(exitSetup, err)
		}
		return withCode(exitSetup, fmt.Errorf("starting the browser: %w", err))
	}
	defer b.Close()
	failed := false
	enc := json.NewEncoder(out)
	for i, t := range targets {
		rep, err := wcag.Check(ctx, b, t.url)
		if err != nil {
			return withCode(exitSetup, fmt.Errorf("%s: %w", t.name, err))
		}
		rep.Page = t.name
		failed = failed || rep.Failed()
		if o.format == "json" {
			if err := enc.Encode(rep); err != nil {
				return withCode(exitSetup, err)
			}
		} else {
			printWCAG(out, rep)
		}
		if o.evidence != "" {
			if err := writeWCAGEvidence(o.evidence, i+1, rep); err != nil {
				return withCode(exitSetup, err)
			}
		}
	}
	if failed {
		return withCode(exitFail, errors.New("WCAG check failed"))
	}
	return nil
}

type wcagTarget struct{ name, url string }

// wcagTargets turns the arguments into URLs: http(s) URLs as they are, files
// served from a loopback server per directory.
func wcagTargets(args []string) ([]wcagTarget, func(), error) {
	var servers []*httptest.Server
	cleanup := func() {
		for _, s := range servers {
			s.Close()
		}
	}
	byDir := map[string]string{}
	var out []wcagTarget
	for _, a := range args {
		if u, err := url.Parse(a); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			if u.Host == "" {
				cleanup()
				return nil, nil, fmt.Errorf("%q: a URL needs a host", a)
			}
			out = append(out, wcagTarget{name: a, url: a})
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("%s: neither an http(s) URL nor a readable file: %w", a, err)
		}
		if st.IsDir() {
			cleanup()
			return nil, nil, fmt.Errorf("%s: a directory; name the page files", a)
		}
		abs, err := filepath.Abs(a)
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		dir := filepath.Dir(abs)
		base, ok := byDir[dir]
		if !ok {
			s := httptest.NewServer(http.FileServer(http.Dir(dir)))
			servers = append(servers, s)
			base = s.URL
			byDir[dir] = base
		}
		out = append(out, wcagTarget{name: a, url: base + "/" + url.PathEscape(filepath.Base(abs))})
	}
	return out, cleanup, nil
}

func printWCAG(out io.Writer, rep *wcag.PageReport) {
	nf, nr := 0, 0
	for _, f := range rep.Findings {
		if f.Outcome == wcag.Failed {
			nf++
		} else {
			nr++
		}
	}
	fmt.Fprintf(out, "%s: %d failed, %d to review (%d rules)\n", sanitize(rep.Page), nf, nr, rep.Rules)
	for _, b := range rep.Browser {
		fmt.Fprintf(out, "  BROWSER  %-10s %s\n", b.Kind, sanitize(b.Message))
	}
	for _, f := range rep.Findings {
		tag := "FAIL"
		if f.Outcome != wcag.Failed {
			tag = "REVIEW"
		}
		fmt.Fprintf(out, "  %-6s %-6s %-7s %s: %s\n", tag, f.SC, f.Rule, sanitize(f.Element), sanitize(f.Message))
	}
}

// sanitize keeps a page's text from steering the terminal.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

func writeWCAGEvidence(dir string, n int, rep *wcag.PageReport) error {
	write := func(name string, data []byte) error {
		if len(data) == 0 {
			return nil
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("writing evidence: %w", err)
		}
		return nil
	}
	if err := write(fmt.Sprintf("page-%d.png", n), rep.Screenshot); err != nil {
		return err
	}
	for k, s := range rep.Shots {
		f := rep.Findings[s.Finding]
		if err := write(fmt.Sprintf("page-%d-fail-%d-%s.png", n, k+1, f.Rule), s.PNG); err != nil {
			return err
		}
	}
	if rep.HAR != nil {
		data, err := json.MarshalIndent(rep.HAR, "", "  ")
		if err != nil {
			return err
		}
		return write(fmt.Sprintf("page-%d.har", n), data)
	}
	return nil
}
