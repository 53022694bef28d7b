package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
)

func init() { register(newScenariosCmd) }

// maxGenerate bounds `scenarios generate --count` (about 16 s and a few GB
// of JSON at the bound).
const maxGenerate = 100_000

func newScenariosCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scenarios",
		Short: "List, show and generate synthetic pregnancies",
	}
	cmd.AddCommand(newScenariosListCmd(), newScenariosShowCmd(), newScenariosGenerateCmd())
	return cmd
}

func newScenariosListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the golden scenarios",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tGEBEURTENISSEN\tGEGEVENS\tCLIËNT\tTITEL")
			for _, s := range fixtures.Golden() {
				facts := 0
				for _, e := range s.Events {
					facts += len(e.Facts)
				}
				fmt.Fprintf(w, "%s\t%d\t%d\t%s %s\t%s\n", s.ID, len(s.Events), facts, s.Client.Given, s.Client.Family, s.Title)
			}
			if err := w.Flush(); err != nil {
				return withCode(exitSetup, fmt.Errorf("writing the list: %w", err))
			}
			return nil
		},
	}
}

// findScenario returns a golden scenario, or a generated one named
// g<seed>-<nnnnn> (regenerated from its seed).
func findScenario(id string) (*fixtures.Scenario, error) {
	if s, ok := fixtures.Lookup(id); ok {
		return s, nil
	}
	return nil, fmt.Errorf("no scenario %q (see `bcbench scenarios list`, or use g<seed>-<nnnnn> for a generated one)", id)
}

func newScenariosShowCmd() *cobra.Command {
	var ref, format string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Print a scenario as a readable Dutch timeline, or as facts, FHIR R4, FHIR STU3 or ADA",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := findScenario(args[0])
			if err != nil {
				return withCode(exitSetup, err)
			}
			day0, err := time.ParseInLocation(fixtures.DateLayout, ref, fixtures.Amsterdam)
			if err != nil {
				return withCode(exitSetup, fmt.Errorf("reading --reference-date: %w", err))
			}
			out := cmd.OutOrStdout()
			if asJSON {
				format = "facts"
			}
			switch format {
			case "timeline":
				return fixtures.WriteTimeline(out, s, day0)
			case "facts":
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			case "r4", "stu3", "ada":
				return writeRendering(out, s, day0, format)
			}
			return withCode(exitSetup, fmt.Errorf("--format %q: one of timeline, facts, r4, stu3, ada", format))
		},
	}
	def := fixtures.DefaultReference.Format(fixtures.DateLayout)
	cmd.Flags().StringVar(&ref, "reference-date", def,
		"day 0 of the scenario: the first day of the last menstruation (YYYY-MM-DD), as bcbench run --reference-date")
	// --ref is the earlier name, kept as an alias.
	cmd.Flags().StringVar(&ref, "ref", def, "alias of --reference-date")
	_ = cmd.Flags().MarkHidden("ref")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the scenario as JSON (the same as --format facts)")
	cmd.Flags().StringVar(&format, "format", "timeline", "timeline, facts (the scenario as JSON), r4 or stu3 (one FHIR transaction Bundle of the whole pregnancy), ada (every event as the legacy ADA a XIS exports, docs/translator.md)")
	return cmd
}

// writeRendering writes a scenario's ground truth as one FHIR transaction
// Bundle (r4, stu3: every resource of every event, the last version of
// each) or as the ADA instance of every event inside one <scenario>
// element (ada).
func writeRendering(w io.Writer, s *fixtures.Scenario, day0 time.Time, format string) error {
	regs, err := s.Registrations(day0)
	if err != nil {
		return withCode(exitSetup, fmt.Errorf("resolving scenario %s: %w", s.ID, err))
	}
	if format == "ada" {
		var b strings.Builder
		b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<scenario id=\"" + s.ID + "\">\n")
		for _, r := range regs {
			doc, err := truth.ADA(r)
			if err != nil {
				return withCode(exitSetup, err)
			}
			_, body, _ := strings.Cut(string(doc), "?>\n")
			b.WriteString("<event id=\"" + r.Event + "\">\n" + body + "</event>\n")
		}
		b.WriteString("</scenario>\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	render := truth.R4
	if format == "stu3" {
		render = truth.STU3
	}
	var order []string
	latest := map[string]map[string]any{}
	for _, r := range regs {
		rs, err := render(r)
		if err != nil {
			return withCode(exitSetup, err)
		}
		for _, res := range rs {
			key := fmt.Sprint(res["resourceType"], "/", res["id"])
			if _, seen := latest[key]; !seen {
				order = append(order, key)
			}
			latest[key] = res
		}
	}
	entries := make([]any, 0, len(order))
	for _, key := range order {
		entries = append(entries, map[string]any{
			"fullUrl":  "urn:uuid:" + fmt.Sprint(latest[key]["id"]),
			"resource": latest[key],
			"request":  map[string]any{"method": "PUT", "url": key},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

// populationIndex is DIR/index.json of a generated population.
type populationIndex struct {
	Generator string                   `json:"generator"`
	Seed      uint64                   `json:"seed"`
	Count     int                      `json:"count"`
	Scenarios []string                 `json:"scenarios"`
	Stats     fixtures.PopulationStats `json:"stats"`
}

func newScenariosGenerateCmd() *cobra.Command {
	var seed uint64
	var count int
	var out string
	cmd := &cobra.Command{
		Use:   "generate --seed S --count N --out DIR",
		Short: "Write N synthetic pregnancies for seed S to DIR (same seed, same bytes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return withCode(exitSetup, errors.New("--out is required"))
			}
			if count < 1 || count > maxGenerate {
				return withCode(exitSetup, fmt.Errorf("--count must be between 1 and %d, got %d", maxGenerate, count))
			}
			idx, err := writePopulation(out, seed, count)
			if err != nil {
				return withCode(exitSetup, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d zwangerschappen (%d gebeurtenissen, %d gegevens) voor seed %d geschreven naar %s\n",
				idx.Stats.Pregnancies, idx.Stats.Events, idx.Stats.Facts, seed, out)
			return nil
		},
	}
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the population")
	cmd.Flags().IntVar(&count, "count", 100, "number of pregnancies")
	cmd.Flags().StringVar(&out, "out", "", "directory to write <id>.json and index.json to")
	return cmd
}

func writePopulation(dir string, seed uint64, count int) (*populationIndex, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	idx := &populationIndex{Generator: fixtures.GeneratorVersion, Seed: seed, Count: count}
	var batch []*fixtures.Scenario
	var stats []fixtures.PopulationStats
	flush := func() {
		stats = append(stats, fixtures.Stats(batch))
		batch = batch[:0]
	}
	for s := range fixtures.Population(seed, count) {
		b, err := fixtures.EncodeScenario(s)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, s.ID+".json"), b, 0o644); err != nil {
			return nil, fmt.Errorf("writing scenario %s: %w", s.ID, err)
		}
		idx.Scenarios = append(idx.Scenarios, s.ID)
		if batch = append(batch, s); len(batch) == 1000 {
			flush()
		}
	}
	flush()
	idx.Stats = fixtures.MergeStats(stats...)
	f, err := os.Create(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("writing index: %w", err)
	}
	if err := writeIndex(f, idx); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing index: %w", err)
	}
	return idx, nil
}

func writeIndex(w io.Writer, idx *populationIndex) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(idx); err != nil {
		return fmt.Errorf("writing index: %w", err)
	}
	return nil
}
