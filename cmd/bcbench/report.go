package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/bcbench/bcbench/reports"
)

func init() { register(newReportCmd) }

func newReportCmd() *cobra.Command {
	report := &cobra.Command{
		Use:   "report",
		Short: "Rebuild, verify and compare reports offline",
	}
	report.AddCommand(newReportRenderCmd(), newReportVerifyCmd(), newReportDiffCmd(), newReportSchemaCmd())
	return report
}

func newReportRenderCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "render RESULTS.JSON",
		Short: "Rebuild junit.xml and report.html from results.json",
		Long: `Rebuild junit.xml and report.html from a results.json, offline. The file is checked against
the results schema first. The signature is not touched: results.dsse.json still covers results.json.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := reports.ReadResults(args[0])
			if err != nil {
				return withCode(exitSetup, err)
			}
			if out == "" {
				out = filepath.Dir(args[0])
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return withCode(exitSetup, fmt.Errorf("making output folder: %w", err))
			}
			x, err := reports.JUnit(res)
			if err != nil {
				return withCode(exitSetup, err)
			}
			h, err := reports.HTML(res)
			if err != nil {
				return withCode(exitSetup, err)
			}
			for name, data := range map[string][]byte{reports.JUnitFile: x, reports.HTMLFile: h} {
				if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
					return withCode(exitSetup, fmt.Errorf("writing %s: %w", name, err))
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s (verdict %s)\n",
				filepath.Join(out, reports.JUnitFile), filepath.Join(out, reports.HTMLFile), res.Verdict)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "folder to write junit.xml and report.html to (default: the folder of results.json)")
	return cmd
}

func newReportVerifyCmd() *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "verify --key PUB RESULTS.DSSE.JSON",
		Short: "Check a report's signature and that nothing in it changed",
		Long: `Check the DSSE signature of results.dsse.json with a public key (bcbench.pub or bcbench.crt), then
re-hash results.json and every evidence file next to it. Exit 0 when intact, 1 with the reason when
the envelope, results.json or any evidence file was changed, added or removed, 2 when the files
cannot be read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" {
				return withCode(exitSetup, errors.New("--key is required (bcbench.pub or bcbench.crt)"))
			}
			if err := reports.CheckPublicKey(key); err != nil {
				return withCode(exitSetup, fmt.Errorf("reading key: %w", err))
			}
			if _, err := os.Stat(args[0]); err != nil {
				return withCode(exitSetup, fmt.Errorf("reading envelope: %w", err))
			}
			if err := reports.Verify(args[0], key); err != nil {
				return withCode(exitFail, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "intact: %s, results.json and every evidence file match the signature\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "public key (bcbench.pub) or certificate (bcbench.crt) of the signer")
	return cmd
}

func newReportDiffCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "diff A/results.json B/results.json",
		Short: "List requirements whose status changed; exit 1 if any got worse",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := reports.ReadResults(args[0])
			if err != nil {
				return withCode(exitSetup, err)
			}
			b, err := reports.ReadResults(args[1])
			if err != nil {
				return withCode(exitSetup, err)
			}
			w := cmd.OutOrStdout()
			changes := reports.Diff(a, b)
			if a.Verdict != b.Verdict {
				fmt.Fprintf(w, "verdict: %s → %s\n", a.Verdict, b.Verdict)
			}
			for _, c := range changes {
				mark := "  "
				if c.Worse {
					mark = "✗ "
				}
				fmt.Fprintf(w, "%s%-10s %-10s %s → %s\n", mark, c.ID, c.Level, orDash(c.Before), orDash(c.After))
			}
			worse := 0
			for _, c := range changes {
				if c.Worse {
					worse++
				}
			}
			fmt.Fprintf(w, "%d changed, %d worse\n", len(changes), worse)
			if worse > 0 {
				return withCode(exitFail, fmt.Errorf("%d requirement(s) got worse", worse))
			}
			return nil
		},
	}
}

func orDash(s reports.Status) string {
	if s == "" {
		return "(absent)"
	}
	return string(s)
}

func newReportSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of results.json",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(reports.Schema())
			return err
		},
	}
}
