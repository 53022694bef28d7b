package dvza_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/profiles/registry"
	"github.com/bcbench/bcbench/profiles/validator"
	"github.com/bcbench/bcbench/reference/dvza"
	"github.com/bcbench/bcbench/testscript"
)

const corpus = "../../../shared/corpus/nictiz-testscripts/output"

// The MedMij Geboortezorg XIS-Server folders: the scripts a DVZA is
// qualified with (EXCHANGE.md §A.2).
var dvzaFolders = []string{
	"STU3/Geboortezorg-1-0/MedMij/Cert/XIS-Server",
	"STU3/Geboortezorg-2/MedMij/Cert/XIS-Server",
	"STU3/Geboortezorg-2/MedMij/Cert/XIS-Server-CheckContent",
}

// fixtures reads the resources of a Cert folder's _reference (placeholders
// filled as Touchstone does) and the scripts' fixed tokens per patient.
func fixtures(t *testing.T, certDir string, scripts []*testscript.Script) ([]map[string]any, map[string]string) {
	t.Helper()
	var out []map[string]any
	patients := map[string]string{} // NAME (upper case) → Patient id
	err := filepath.WalkDir(filepath.Join(certDir, "_reference"), func(path string, d os.DirEntry, err error) error {
		ext := strings.ToLower(filepath.Ext(path))
		if err != nil || d.IsDir() || (ext != ".xml" && ext != ".json") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		res, err := validator.DecodeVersion(validator.FillPlaceholders(data), testscript.STU3)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if res["resourceType"] == "Bundle" {
			return nil
		}
		out = append(out, res)
		base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		if i := strings.Index(base, "nl-core-patient-"); i >= 0 {
			id, _ := res["id"].(string)
			patients[strings.ToUpper(base[i+len("nl-core-patient-"):])] = id
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, s := range scripts {
		for _, v := range s.Variables {
			if name, ok := strings.CutPrefix(v.Name, "patient-token-"); ok {
				if id, ok := patients[strings.ToUpper(name)]; ok {
					tokens[strings.TrimPrefix(v.DefaultValue, "Bearer ")] = id
				}
			}
		}
	}
	return out, tokens
}

// TestNictizScriptsAgainstDVZA runs Nictiz's MedMij Geboortezorg
// XIS-Server TestScripts against the reference DVZA loaded with the
// scripts' _reference fixtures and their fixed tokens: every script runs
// to completion and at least 95 % of the asserts pass; the assert table
// per folder is logged, and every assert that did not pass with
// TESTSCRIPT_DETAILS=1 (docs/medmij.md lists them with their cause).
func TestNictizScriptsAgainstDVZA(t *testing.T) {
	if _, err := os.Stat(corpus); err != nil {
		t.Skipf("the Nictiz TestScripts are not in the corpus (%s): %v", corpus, err)
	}
	if testing.Short() {
		t.Skip("runs every MedMij Geboortezorg XIS-Server script")
	}
	pkgs, err := registry.Defaults(testscript.STU3)
	if err != nil {
		t.Fatal(err)
	}
	vx, err := validator.New(validator.Options{FHIRVersion: testscript.STU3, Packages: pkgs})
	if err != nil {
		t.Fatal(err)
	}
	vxs := map[string]*validator.Validator{testscript.STU3: vx}
	var results []*testscript.Result
	var lines []string
	for _, folder := range dvzaFolders {
		paths, err := testscript.Discover([]string{filepath.Join(corpus, folder)})
		if err != nil {
			t.Fatal(err)
		}
		var scripts []*testscript.Script
		for _, p := range paths {
			s, err := testscript.Load(p, "")
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			scripts = append(scripts, s)
		}
		resources, tokens := fixtures(t, filepath.Dir(filepath.Join(corpus, folder)), scripts)
		for _, s := range scripts {
			d, err := dvza.New(dvza.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.LoadFixtures(resources, tokens); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(d)
			res := testscript.Run(context.Background(), s, testscript.Options{Server: srv.URL + "/fhir", Validators: vxs})
			srv.Close()
			res.Path, _ = filepath.Rel(corpus, res.Path)
			results = append(results, res)
			if res.Err != nil {
				t.Errorf("%s did not run to completion: %v", s.Path, res.Err)
			}
			for _, o := range res.Outcomes {
				if o.Status != testscript.Pass {
					lines = append(lines, fmt.Sprintf("%-7s %s | %s | %.90s | %.300s", o.Status, filepath.Base(s.Path), o.Test, o.Description, o.Message))
				}
			}
		}
	}
	var b strings.Builder
	testscript.WriteTable(&b, results)
	t.Log("\n" + b.String())
	_, total := testscript.Tally(results)
	pct := 100 * float64(total.Pass) / float64(max(1, total.Total()))
	t.Logf("%.2f %% of the asserts pass against the reference DVZA", pct)
	if os.Getenv("TESTSCRIPT_DETAILS") != "" || pct < 95 {
		t.Log("every assert that did not pass:\n" + strings.Join(lines, "\n"))
	}
	if pct < 95 {
		t.Errorf("%.2f %% of the asserts pass, the bar is 95 %%", pct)
	}
}
