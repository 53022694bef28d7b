package reports

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkWriteAll writes a large run: 7 requirements × 100 specs each and a
// 4 MiB HAR, signed.
func BenchmarkWriteAll(b *testing.B) {
	keys := b.TempDir()
	if err := InitKeys(keys); err != nil {
		b.Fatal(err)
	}
	signer, err := LoadSigner(filepath.Join(keys, KeyFile))
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	os.MkdirAll(filepath.Join(dir, EvidenceDir), 0o755)
	os.WriteFile(filepath.Join(dir, EvidenceDir, "xis.har"), []byte(strings.Repeat("x", 4<<20)), 0o644)
	ids := []string{"MED-01", "MED-02", "STD-01", "STD-02", "HER-01", "HER-02", "CLI-01"}
	var specs []SpecOutcome
	for i := range 100 {
		for _, id := range ids {
			specs = append(specs, spec(fmt.Sprintf("%s spec %03d", id, i), Pass, id))
		}
	}
	in := baseInput(b, ids, specs...)
	in.Evidence = []Evidence{{Path: "evidence/xis.har"}}
	b.ResetTimer()
	for b.Loop() {
		res := Assemble(in)
		if err := WriteAll(dir, res, signer); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify re-checks the signature and re-hashes a 4 MiB HAR.
func BenchmarkVerify(b *testing.B) {
	keys, dir := b.TempDir(), b.TempDir()
	InitKeys(keys)
	signer, _ := LoadSigner(filepath.Join(keys, KeyFile))
	os.MkdirAll(filepath.Join(dir, EvidenceDir), 0o755)
	os.WriteFile(filepath.Join(dir, EvidenceDir, "xis.har"), []byte(strings.Repeat("x", 4<<20)), 0o644)
	in := baseInput(b, []string{"MED-01"}, spec("a", Pass, "MED-01"))
	in.Evidence = []Evidence{{Path: "evidence/xis.har"}}
	if err := WriteAll(dir, Assemble(in), signer); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := Verify(filepath.Join(dir, EnvelopeFile), filepath.Join(keys, PubFile)); err != nil {
			b.Fatal(err)
		}
	}
}
