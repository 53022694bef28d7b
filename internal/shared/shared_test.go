package shared

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFindWalksUp(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "main", "a", "b")
	if err := os.MkdirAll(filepath.Join(root, "shared", "corpus"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(deep)
	got, ok := Find()
	if !ok || got != filepath.Join(root, "shared", "corpus") {
		t.Fatalf("Find() = %q, %v", got, ok)
	}
	t.Chdir(t.TempDir())
	if _, ok := Find(); ok {
		t.Fatal("Find() found a corpus where there is none")
	}
}
