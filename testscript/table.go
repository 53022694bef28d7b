package testscript

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Discover lists the TestScripts named by args: a file is taken as it is;
// a folder is searched for .xml and .json files whose root is a
// TestScript, leaving out folders whose name starts with "_" (Nictiz's
// _reference fixtures) and properties.json.
func Discover(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("discover test scripts: %w", err)
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() {
				if p != a && strings.HasPrefix(name, "_") {
					return filepath.SkipDir
				}
				return nil
			}
			lower := strings.ToLower(name)
			if lower == "properties.json" || !(strings.HasSuffix(lower, ".xml") || strings.HasSuffix(lower, ".json")) {
				return nil
			}
			if isScript(p) {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("discover test scripts in %s: %w", a, err)
		}
	}
	sort.Strings(out)
	return out, nil
}

// isScript sniffs whether a file holds a TestScript (its first 64 KiB).
func isScript(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return true // reported when it is loaded
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if bytes.HasPrefix(bytes.TrimSpace(head), []byte("<")) {
		for _, tag := range [][]byte{[]byte("<TestScript"), []byte(":TestScript")} {
			if bytes.Contains(head, tag) {
				return true
			}
		}
		return false
	}
	return bytes.Contains(head, []byte(`"TestScript"`))
}

// FolderCounts are the figures of one folder of scripts.
type FolderCounts struct {
	Folder  string
	Scripts int
	// NotRun counts the scripts that could not be run to completion.
	NotRun int
	Counts
}

// Tally groups results by the folder of their script, in folder order.
func Tally(results []*Result) (folders []FolderCounts, total FolderCounts) {
	by := map[string]*FolderCounts{}
	for _, r := range results {
		dir := filepath.Dir(r.Path)
		fc := by[dir]
		if fc == nil {
			fc = &FolderCounts{Folder: dir}
			by[dir] = fc
		}
		fc.Scripts++
		total.Scripts++
		if r.Err != nil {
			fc.NotRun++
			total.NotRun++
		}
		c := r.Asserts()
		fc.Add(c)
		total.Add(c)
	}
	for _, fc := range by {
		folders = append(folders, *fc)
	}
	sort.Slice(folders, func(i, j int) bool { return folders[i].Folder < folders[j].Folder })
	total.Folder = "total"
	return folders, total
}

// WriteTable prints the assert table per folder: scripts, scripts not
// run, and asserts by result, with the share that passed.
func WriteTable(w io.Writer, results []*Result) {
	folders, total := Tally(results)
	width := len("folder")
	for _, f := range folders {
		width = max(width, len(f.Folder))
	}
	line := func(name string, f FolderCounts) {
		fmt.Fprintf(w, "%-*s %7d %7d %6d %6d %6d %6d %6d %7s\n", width, name, f.Scripts, f.NotRun, f.Pass, f.Fail, f.Warning, f.Skip, f.Error, percent(f.Counts))
	}
	fmt.Fprintf(w, "%-*s %7s %7s %6s %6s %6s %6s %6s %7s\n", width, "folder", "scripts", "not run", "pass", "fail", "warn", "skip", "error", "pass %")
	for _, f := range folders {
		line(f.Folder, f)
	}
	line("total", total)
}

func percent(c Counts) string {
	if c.Total() == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", 100*float64(c.Pass)/float64(c.Total()))
}
