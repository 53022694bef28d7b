package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bcbench/bcbench/cert"
	"github.com/bcbench/bcbench/reports"
)

// outputNames are the entries a bcbench output folder holds: the reports,
// the evidence folder, and the temporary files the writers rename into place.
var outputNames = []string{reports.ResultsFile, reports.JUnitFile, reports.HTMLFile, reports.EnvelopeFile, reports.EvidenceDir, cert.SignerCertFile}

// prepareOutput makes the output folder ready for a run. Files already in it
// would be signed as this run's evidence, so it must be absent or empty.
// With force, a folder that holds a previous bcbench output is cleared first;
// force never clears "/", the home folder, the working folder or a folder
// above it, nor a folder holding anything a bcbench run does not write.
func prepareOutput(out string, force bool) error {
	st, err := os.Stat(out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return makeOutput(out)
	case err != nil:
		return fmt.Errorf("reading output folder: %w", err)
	case !st.IsDir():
		return fmt.Errorf("output folder %s is not a folder", out)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("reading output folder: %w", err)
	}
	if len(entries) == 0 {
		return makeOutput(out)
	}
	if !force {
		return fmt.Errorf("output folder %s is not empty (%s …): files in it would be signed as this run's evidence; choose an empty folder, or pass --force to clear it", out, entries[0].Name())
	}
	if err := clearable(out, entries); err != nil {
		return fmt.Errorf("--force: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(out, e.Name())); err != nil {
			return fmt.Errorf("--force: clearing output folder: %w", err)
		}
	}
	return makeOutput(out)
}

func makeOutput(out string) error {
	if err := os.MkdirAll(filepath.Join(out, reports.EvidenceDir), 0o755); err != nil {
		return fmt.Errorf("creating output folder: %w", err)
	}
	return nil
}

// clearable says why --force may not clear a folder: it is "/", the home
// folder, the working folder or one of its parents, or it holds an entry a
// bcbench run does not write (a checkout's .git, someone's documents).
func clearable(out string, entries []os.DirEntry) error {
	dir, err := resolve(out)
	if err != nil {
		return err
	}
	if filepath.Dir(dir) == dir {
		return fmt.Errorf("refusing to clear %s: it is the root of the file system", out)
	}
	if home, err := os.UserHomeDir(); err == nil {
		if h, err := resolve(home); err == nil && h == dir {
			return fmt.Errorf("refusing to clear %s: it is the home folder", out)
		}
	}
	if wd, err := os.Getwd(); err == nil {
		if inside, err := within(wd, dir); err == nil && inside {
			return fmt.Errorf("refusing to clear %s: the working folder lies in it", out)
		}
	}
	for _, e := range entries {
		if !isOutputName(e) {
			return fmt.Errorf("refusing to clear %s: it does not look like a bcbench output folder (it holds %q)", out, e.Name())
		}
	}
	return nil
}

// isOutputName: a report file, the evidence folder, or a writer's
// temporary file (".results.json.123").
func isOutputName(e os.DirEntry) bool {
	name := e.Name()
	for _, n := range outputNames {
		if name == n {
			return (n == reports.EvidenceDir) == e.IsDir()
		}
		if strings.HasPrefix(name, "."+n+".") && n != reports.EvidenceDir && e.Type().IsRegular() {
			return true
		}
	}
	return false
}
