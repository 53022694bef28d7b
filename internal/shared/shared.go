// Package shared finds the shared folder that lies beside a checkout of
// bcbench (../shared in CI): the public reference corpus the tests read.
// Nothing of it is copied into the project.
package shared

import (
	"os"
	"path/filepath"
	"testing"
)

// Find returns the shared/corpus folder of the nearest parent directory of
// the working directory that has one.
func Find() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		c := filepath.Join(dir, "shared", "corpus")
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Corpus returns the corpus folder, or skips the test with why it needs it.
func Corpus(t testing.TB, why string) string {
	t.Helper()
	c, ok := Find()
	if !ok {
		t.Skip("no shared/corpus in a parent directory of the checkout: " + why)
	}
	return c
}
