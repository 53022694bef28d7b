package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/fixtures"
)

func TestScenariosListShowsEveryGoldenScenario(t *testing.T) {
	code, out := bench(t, "scenarios", "list")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	for _, s := range fixtures.Golden() {
		if !strings.Contains(out, s.ID) || !strings.Contains(out, s.Title) {
			t.Errorf("list lacks %s (%s)", s.ID, s.Title)
		}
	}
}

func TestScenariosShowPrintsADutchTimeline(t *testing.T) {
	for _, s := range fixtures.Golden() {
		t.Run(s.ID, func(t *testing.T) {
			code, out := bench(t, "scenarios", "show", s.ID, "--reference-date", "2026-01-05")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, out)
			}
			for _, want := range []string{s.Title, "Tijdlijn:", s.Client.BSN, "Dag 0:     ma 5 januari 2026"} {
				if !strings.Contains(out, want) {
					t.Errorf("timeline lacks %q", want)
				}
			}
			for _, e := range s.Events {
				if !strings.Contains(out, e.Title) {
					t.Errorf("timeline lacks event %q", e.Title)
				}
				for _, f := range e.Facts {
					if !strings.Contains(out, f.Name) {
						t.Errorf("timeline lacks fact %q of %s", f.Name, e.ID)
					}
				}
			}
		})
	}
	code, out := bench(t, "scenarios", "show", "hypertensie")
	if code != 0 || !strings.Contains(out, "150/100 mmHg") || !strings.Contains(out, "LABETALOL TABLET 200MG: 2 maal per dag 1 stuk, oraal") {
		t.Errorf("hypertensie timeline lacks blood pressure or labetalol:\n%s", out)
	}
}

// TestScenariosShowReferenceDateAlias: show takes day 0 as run does
// (--reference-date), and the earlier name --ref still works the same.
func TestScenariosShowReferenceDateAlias(t *testing.T) {
	_, byName := bench(t, "scenarios", "show", "hypertensie", "--reference-date", "2025-03-03")
	_, byAlias := bench(t, "scenarios", "show", "hypertensie", "--ref", "2025-03-03")
	if !strings.Contains(byName, "Dag 0:     ma 3 maart 2025") || byName != byAlias {
		t.Errorf("--reference-date and --ref differ or ignore the date:\n%s\n---\n%s", byName, byAlias)
	}
}

func TestScenariosShowRejectsUnknownAndBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"unknown id", []string{"scenarios", "show", "bestaat-niet"}},
		{"bad reference date", []string{"scenarios", "show", "hypertensie", "--reference-date", "5-1-2026"}},
		{"bad reference date by the alias --ref", []string{"scenarios", "show", "hypertensie", "--ref", "5-1-2026"}},
		{"no id", []string{"scenarios", "show"}},
		{"unknown format", []string{"scenarios", "show", "hypertensie", "--format", "xml"}},
		{"count zero", []string{"scenarios", "generate", "--count", "0", "--out", t.TempDir()}},
		{"count huge", []string{"scenarios", "generate", "--count", "100000000", "--out", t.TempDir()}},
		{"no out", []string{"scenarios", "generate", "--count", "3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if code, out := bench(t, c.args...); code != exitSetup {
				t.Errorf("exit %d, want %d: %s", code, exitSetup, out)
			}
		})
	}
}

func TestScenariosGenerateIsByteIdentical(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for _, run := range []struct {
		dir, seed string
	}{{a, "42"}, {b, "42"}, {c, "43"}} {
		if code, out := bench(t, "scenarios", "generate", "--seed", run.seed, "--count", "25", "--out", run.dir); code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
	}
	same, differ := dirBytes(t, a), dirBytes(t, b)
	if !bytes.Equal(same, differ) {
		t.Fatal("two runs with seed 42 wrote different bytes")
	}
	if bytes.Equal(same, dirBytes(t, c)) {
		t.Fatal("seeds 42 and 43 wrote the same bytes")
	}
	files, _ := os.ReadDir(a)
	if len(files) != 26 {
		t.Errorf("wrote %d files, want 25 scenarios and index.json", len(files))
	}
	// A generated scenario can be shown by its id.
	if code, out := bench(t, "scenarios", "show", "g42-00003"); code != 0 || !strings.Contains(out, "g42-00003") {
		t.Errorf("show g42-00003: exit %d\n%s", code, out)
	}
}

func dirBytes(t *testing.T, dir string) []byte {
	t.Helper()
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		all = append(append(all, f.Name()...), b...)
	}
	return all
}

// TestScenariosShowFormats: every form of the ground truth a vendor can
// load: the facts, one FHIR transaction Bundle (R4, STU3), or the ADA of
// every event (well-formed, one <event> per event).
func TestScenariosShowFormats(t *testing.T) {
	cases := []struct {
		name, format string
		has          []string
	}{
		{"facts", "facts", []string{`"id": "tweeling"`, `"events"`}},
		{"r4 transaction", "r4", []string{`"type": "transaction"`, `"method": "PUT"`, `"resourceType": "ServiceRequest"`}},
		{"stu3 transaction", "stu3", []string{`"type": "transaction"`, `bc-Woman`, `"resourceType": "EpisodeOfCare"`}},
		{"ada", "ada", []string{`<scenario id="tweeling">`, `<event id="e06-baring">`, `<verloskundig_dossier_23 `, `<rangnummer_kind value="2"/>`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := bench(t, "scenarios", "show", "tweeling", "--format", c.format)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, out)
			}
			for _, h := range c.has {
				if !strings.Contains(out, h) {
					t.Errorf("--format %s lacks %s", c.format, h)
				}
			}
			if c.format == "ada" {
				dec := xml.NewDecoder(strings.NewReader(out[strings.Index(out, "<?xml"):]))
				events := 0
				for {
					tok, err := dec.Token()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatalf("the ADA listing is not well-formed: %v", err)
					}
					if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "event" {
						events++
					}
				}
				if events != 9 {
					t.Errorf("%d events, want the 9 of tweeling", events)
				}
			}
		})
	}
}
