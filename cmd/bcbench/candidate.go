package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bcbench/bcbench/harness"
)

func init() { register(newCandidateCmd) }

func newCandidateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "candidate",
		Short: "Check a candidate manifest, print its JSON Schema, or clean up after a killed run",
	}
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Validate a candidate manifest without starting anything",
		Long: `Validate a candidate manifest (YAML) against the published schema
(bcbench candidate schema) without starting anything. Each problem is printed
as FILE:LINE: field: message. Exit 0 when valid, 1 when not, 2 when the file
cannot be read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCandidateCheck(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0])
		},
	}
	schema := &cobra.Command{
		Use:   "schema",
		Short: "Print the candidate manifest's JSON Schema (draft 2020-12)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(harness.ManifestSchema())
			return err
		},
	}
	var runID string
	cleanup := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove what runs of a bench that was killed left running",
		Long: `Remove the Docker containers and networks (labelled bcbench.run) and the
processes of runs whose bench process is gone: a bench killed with SIGKILL,
crashed, or on a machine that lost power. Live runs, of this user or any
other, are left alone. With --run ID only that run, and only when its bench
is gone (exit 2 otherwise: stop a live run with Ctrl-C where it runs).

A run does the same before it starts anything, and says so on stderr; a
run removes its own on exit, Ctrl-C, SIGTERM and SIGHUP.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			return runCleanup(ctx, cmd.OutOrStdout(), runID)
		},
	}
	cleanup.Flags().StringVar(&runID, "run", "", "only this run's id (the bcbench.run label)")
	var listen, to, back string
	relay := &cobra.Command{
		Use:    "relay",
		Short:  "Forward TCP connections to a container candidate, or back to the bench (runs inside the bench's relay container)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (to == "") == (back == "") {
				return withCode(exitSetup, errors.New("relay: give either --to HOST:PORT or --back ADDRESS"))
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return withCode(exitSetup, fmt.Errorf("relay: %w", err))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if to != "" {
				return harness.Relay(ctx, ln, to)
			}
			control, err := net.Listen("tcp", back)
			if err != nil {
				ln.Close()
				return withCode(exitSetup, fmt.Errorf("relay: %w", err))
			}
			if err := harness.RelayBack(ctx, ln, control, os.Getenv(harness.BackKeyEnv)); err != nil {
				return withCode(exitSetup, err)
			}
			return nil
		},
	}
	relay.Flags().StringVar(&listen, "listen", ":8080", "address to listen on")
	relay.Flags().StringVar(&to, "to", "", "HOST:PORT to forward every connection to")
	relay.Flags().StringVar(&back, "back", "", "control address the bench dials in at, to carry every connection back to the bench (key in "+harness.BackKeyEnv+")")
	cmd.AddCommand(check, schema, cleanup, relay)
	return cmd
}

// runCleanup removes leftovers of dead runs (or of one run) and says what
// it removed and what it left alone.
func runCleanup(ctx context.Context, out io.Writer, runID string) error {
	if runID != "" {
		removed, err := harness.CleanupRun(ctx, runID)
		for _, l := range removed {
			fmt.Fprintln(out, "removed", l.Kind, l.ID)
		}
		if err != nil {
			return withCode(exitSetup, err)
		}
		if len(removed) == 0 {
			fmt.Fprintf(out, "nothing left by run %s\n", runID)
		}
		return nil
	}
	sw, err := harness.RemoveLeftovers(ctx)
	for _, l := range sw.Removed {
		fmt.Fprintf(out, "removed %s %s (run %s)\n", l.Kind, l.ID, l.Run)
	}
	for _, r := range sw.Live {
		fmt.Fprintf(out, "left alone: run %s, its bench still runs\n", r)
	}
	if sw.Foreign > 0 {
		fmt.Fprintf(out, "left alone: %d containers or networks of runs this bench cannot judge (another machine, or an older bench); name one with --run\n", sw.Foreign)
	}
	if err != nil {
		return withCode(exitSetup, fmt.Errorf("cleaning up: %w", err))
	}
	if len(sw.Removed) == 0 {
		fmt.Fprintln(out, "nothing left by bench runs that are gone")
	}
	return nil
}

func runCandidateCheck(out, errOut io.Writer, path string) error {
	m, err := harness.LoadManifest(path)
	var me *harness.ManifestError
	if errors.As(err, &me) {
		for _, p := range me.Problems {
			loc := path
			if p.Line > 0 {
				loc = fmt.Sprintf("%s:%d", path, p.Line)
			}
			field := p.Field
			if field == "" {
				field = "(document)"
			}
			fmt.Fprintf(errOut, "%s: %s: %s\n", loc, field, p.Message)
		}
		return withCode(exitFail, fmt.Errorf("%s: not a valid candidate manifest (%d problem%s)", path, len(me.Problems), plural(len(me.Problems))))
	}
	if err != nil {
		return withCode(exitSetup, err)
	}
	if _, err := trusting(m); err != nil {
		fmt.Fprintf(errOut, "%s: %v\n", path, err)
		return withCode(exitFail, fmt.Errorf("%s: not a valid candidate manifest (1 problem)", path))
	}
	title := m.Name
	if v := strings.TrimSpace(m.Vendor + " " + m.Version); v != "" {
		title += " (" + v + ")"
	}
	// name, vendor, version, paths and image names are the vendor's text:
	// control characters (terminal escape sequences) are not printed.
	fmt.Fprintf(out, "%s: valid candidate manifest: %s\n", plainText(path), plainText(title))
	for _, name := range m.RoleNames() {
		r := m.Roles[name]
		fmt.Fprintf(out, "  %-10s %s\n", name, plainText(describeRole(m, r)))
	}
	if err := harness.CheckCertifying(m); err != nil {
		fmt.Fprintf(out, "  certification: self-tests only: %s\n", plainText(err.Error()))
	} else {
		fmt.Fprintln(out, "  certification: may run in a certifying run")
	}
	return nil
}

func describeRole(m *harness.Manifest, r *harness.RoleSpec) string {
	paths := fmt.Sprintf("FHIR %s, adapter %s", r.FHIRBase, r.Adapter)
	switch r.Kind() {
	case "image":
		s := "image " + r.Image.Name + fmt.Sprintf(" port %d", r.Image.Port)
		if r.Image.Dockerfile != "" {
			s += " (built from " + r.Image.Dockerfile + ")"
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := harness.ImagePresent(ctx, r.Image.Name); err != nil {
				s += " (note: " + err.Error() + ")"
			}
		}
		return s + "; " + paths
	case "command":
		s := "command " + r.Command.Path
		if p := m.CommandPath(r); p != "" {
			if _, err := exec.LookPath(p); err != nil {
				if _, serr := os.Stat(p); serr != nil {
					s += " (not found yet: " + p + ")"
				}
			}
		}
		return s + "; " + paths
	case "url":
		return "url " + r.URL + "; " + paths
	default:
		return "builtin reference; " + paths
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
