package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrepareOutput(t *testing.T) {
	write := func(t *testing.T, dir string, names ...string) {
		t.Helper()
		for _, n := range names {
			p := filepath.Join(dir, n)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	previous := []string{"results.json", "report.html", "junit.xml", "results.dsse.json", "evidence/xis.har", ".report.html.123"}
	cases := []struct {
		name  string
		setup func(t *testing.T) string // returns the output folder
		force bool
		want  string // part of the error; "" for success
		keeps string // a file that must survive
	}{
		{"absent", func(t *testing.T) string { return filepath.Join(t.TempDir(), "out") }, false, "", ""},
		{"empty", func(t *testing.T) string { return t.TempDir() }, false, "", ""},
		{"earlier output without --force", func(t *testing.T) string {
			d := t.TempDir()
			write(t, d, previous...)
			return d
		}, false, "not empty", "evidence/xis.har"},
		{"earlier output with --force", func(t *testing.T) string {
			d := t.TempDir()
			write(t, d, previous...)
			return d
		}, true, "", ""},
		{"someone's documents", func(t *testing.T) string {
			d := t.TempDir()
			write(t, d, "results.json", "scriptie.docx")
			return d
		}, true, "does not look like a bcbench output folder", "scriptie.docx"},
		{"a checkout", func(t *testing.T) string {
			d := t.TempDir()
			write(t, d, "results.json", ".git/HEAD")
			return d
		}, true, "does not look like", ".git/HEAD"},
		{"evidence is a file", func(t *testing.T) string {
			d := t.TempDir()
			write(t, d, "evidence")
			return d
		}, true, "does not look like", "evidence"},
		{"the home folder", func(t *testing.T) string {
			d := t.TempDir()
			write(t, d, "results.json")
			t.Setenv("HOME", d)
			return d
		}, true, "home folder", "results.json"},
		{"the working folder lies in it", func(t *testing.T) string {
			d := t.TempDir()
			write(t, d, "results.json", "evidence/x.log")
			t.Chdir(filepath.Join(d, "evidence"))
			return d
		}, true, "working folder", "evidence/x.log"},
		{"the root", func(t *testing.T) string { return "/" }, true, "root of the file system", ""},
		{"a file", func(t *testing.T) string {
			d := t.TempDir()
			write(t, d, "f")
			return filepath.Join(d, "f")
		}, true, "not a folder", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := tc.setup(t)
			err := prepareOutput(out, tc.force)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				entries, _ := os.ReadDir(out)
				if len(entries) != 1 || entries[0].Name() != "evidence" {
					t.Errorf("output folder holds %v, want only an empty evidence/", entries)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("prepareOutput = %v, want an error mentioning %q", err, tc.want)
			}
			if tc.keeps != "" {
				if _, err := os.Stat(filepath.Join(out, tc.keeps)); err != nil {
					t.Errorf("%s did not survive: %v", tc.keeps, err)
				}
			}
		})
	}
}
