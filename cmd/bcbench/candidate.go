package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
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
		Short: "Remove containers and networks left by a bench run that was killed outright",
		Long: `Remove the Docker containers and networks labelled bcbench.run (of one run
with --run, of every run otherwise). A run removes its own on exit and on
Ctrl-C; this is for a bench that was killed with SIGKILL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			removed, err := harness.RemoveLeftovers(ctx, runID)
			for _, id := range removed {
				fmt.Fprintln(cmd.OutOrStdout(), "removed", id)
			}
			if err != nil {
				return withCode(exitSetup, fmt.Errorf("cleaning up: %w", err))
			}
			if len(removed) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "nothing left by bench runs")
			}
			return nil
		},
	}
	cleanup.Flags().StringVar(&runID, "run", "", "only this run's id (the bcbench.run label)")
	cmd.AddCommand(check, schema, cleanup)
	return cmd
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
	title := m.Name
	if v := strings.TrimSpace(m.Vendor + " " + m.Version); v != "" {
		title += " (" + v + ")"
	}
	fmt.Fprintf(out, "%s: valid candidate manifest: %s\n", path, title)
	for _, name := range m.RoleNames() {
		r := m.Roles[name]
		fmt.Fprintf(out, "  %-10s %s\n", name, describeRole(m, r))
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
