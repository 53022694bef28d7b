package register

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const origin = "register.bcbench.test/keurmerk"

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func cert(i int) string { return fmt.Sprintf("%064x", i+1) }

func issued(i int) Entry {
	return Entry{Kind: Issued, Certificate: cert(i), System: fmt.Sprintf("VIS-%d", i), Vendor: "Voorbeeld BV",
		Version: "1.0", Profile: "keurmerk-niveau1", ProfileVersion: "0.2.0", Roles: []string{"xis"},
		NotBefore: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 12, 1, 0, 0, 0, 0, time.UTC)}
}

// fill makes a register of n certificates.
func fill(t *testing.T, n int) (string, ed25519.PrivateKey) {
	t.Helper()
	dir, priv := t.TempDir(), newKey(t)
	l, err := Open(dir, origin, pub(priv))
	if err != nil {
		t.Fatal(err)
	}
	// One opened log appends them all: Append verifies the whole register
	// before each entry, which a test of hundreds need not repeat.
	for i := range n {
		e, rec, err := encode(issued(i))
		if err == nil {
			_, err = l.append(e, rec, priv)
		}
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	return dir, priv
}

func pub(priv ed25519.PrivateKey) ed25519.PublicKey { return priv.Public().(ed25519.PublicKey) }

func TestAppendAndProve(t *testing.T) {
	// 260 entries cross a full tile of height 8 (256 hashes).
	dir, priv := fill(t, 260)
	l, err := Open(dir, origin, pub(priv))
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 260 {
		t.Fatalf("len %d, want 260", l.Len())
	}
	for _, i := range []int64{0, 1, 255, 256, 259} {
		p, err := l.Prove(i)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := CheckProof(p, origin, pub(priv))
		if err != nil {
			t.Fatalf("proof of %d: %v", i, err)
		}
		if cp.N != 260 {
			t.Fatalf("proof against tree %d", cp.N)
		}
		// The proof does not hold for another entry's bytes.
		q := p
		q.Entry = l.records[(i+1)%260]
		if _, err := CheckProof(q, origin, pub(priv)); err == nil {
			t.Fatalf("proof of %d accepted another entry", i)
		}
	}
	if _, err := CheckProof(mustProve(t, l, 3), origin, pub(newKey(t))); err == nil {
		t.Fatal("proof accepted with another key")
	}
}

func mustProve(t *testing.T, l *Log, i int64) Proof {
	t.Helper()
	p, err := l.Prove(i)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRevocation(t *testing.T) {
	dir, priv := fill(t, 3)
	if _, err := Append(dir, origin, priv, Entry{Kind: Revoked, Certificate: cert(1)}); err == nil {
		t.Fatal("a revocation without reason was appended")
	}
	if _, err := Append(dir, origin, priv, Entry{Kind: Revoked, Certificate: cert(1), Reason: "fout in MP9-01 na herkeuring"}); err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]Entry{
		"revoked twice":       {Kind: Revoked, Certificate: cert(1), Reason: "nogmaals"},
		"unknown certificate": {Kind: Revoked, Certificate: cert(9), Reason: "onbekend"},
		"issued twice":        issued(2),
		"same run certified twice": func() Entry {
			a := issued(7)
			a.Run = strings.Repeat("c", 64)
			if _, err := Append(dir, origin, priv, a); err != nil {
				t.Fatal(err)
			}
			b := issued(8)
			b.Run = a.Run
			return b
		}(),
	} {
		if _, err := Append(dir, origin, priv, e); err == nil {
			t.Errorf("%s: appended", name)
		}
	}
	l, err := Open(dir, origin, pub(priv))
	if err != nil {
		t.Fatal(err)
	}
	i, r, err := l.Find(cert(1))
	if err != nil || i != 1 || r != 3 {
		t.Fatalf("find: issued %d revoked %d err %v", i, r, err)
	}
}

// Each way of rewriting the register quietly is detected by Open, and Append
// then refuses to add anything.
func TestTamperDetected(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string, priv ed25519.PrivateKey)
		want   string
	}{
		{"entry rewritten", func(t *testing.T, dir string, _ ed25519.PrivateKey) {
			p := filepath.Join(dir, recordDir, "0000000002.json")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), "VIS-2", "VIS-X", 1)), 0o644)
		}, "does not match"},
		{"last entry dropped", func(t *testing.T, dir string, _ ed25519.PrivateKey) {
			os.Remove(filepath.Join(dir, recordDir, "0000000004.json"))
		}, "dropped"},
		{"middle entry dropped and the rest renumbered", func(t *testing.T, dir string, _ ed25519.PrivateKey) {
			for i := 1; i < 5; i++ {
				os.Rename(filepath.Join(dir, recordDir, fmt.Sprintf("%010d.json", i+1)), filepath.Join(dir, recordDir, fmt.Sprintf("%010d.json", i)))
			}
		}, "dropped"},
		{"entry added outside the log", func(t *testing.T, dir string, _ ed25519.PrivateKey) {
			os.WriteFile(filepath.Join(dir, recordDir, "0000000005.json"), []byte(`{}`), 0o644)
		}, "added"},
		{"tile truncated", func(t *testing.T, dir string, _ ed25519.PrivateKey) {
			p := filepath.Join(dir, "tile", "8", "0", "000.p", "5")
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(p, b[:len(b)-7], 0o644)
		}, "truncated"},
		{"checkpoint signed by another key", func(t *testing.T, dir string, _ ed25519.PrivateKey) {
			other := t.TempDir()
			Append(other, origin, newKey(t), issued(0))
			b, _ := os.ReadFile(filepath.Join(other, checkpointFile))
			os.WriteFile(filepath.Join(dir, checkpointFile), b, 0o644)
		}, "another key"},
		{"checkpoint dropped", func(t *testing.T, dir string, _ ed25519.PrivateKey) {
			os.Remove(filepath.Join(dir, checkpointFile))
		}, "no checkpoint"},
		{"history rewritten with the real key (fork)", func(t *testing.T, dir string, priv ed25519.PrivateKey) {
			// The bureau's key signs another tree of 2 entries: a fork.
			forked := t.TempDir()
			Append(forked, origin, priv, issued(0))
			Append(forked, origin, priv, issued(7))
			b, _ := os.ReadFile(filepath.Join(forked, historyDir, "2"))
			os.WriteFile(filepath.Join(dir, historyDir, "2"), b, 0o644)
		}, "fork"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, priv := fill(t, 5)
			c.tamper(t, dir, priv)
			_, err := Open(dir, origin, pub(priv))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("open: %v, want an error containing %q", err, c.want)
			}
			before, _ := countFiles(filepath.Join(dir, recordDir))
			if _, err := Append(dir, origin, priv, issued(20)); err == nil {
				t.Fatal("appended to a tampered register")
			}
			if after, _ := countFiles(filepath.Join(dir, recordDir)); after != before {
				t.Fatalf("records %d → %d after a refused append", before, after)
			}
		})
	}
}

// A verifier that saved a checkpoint notices when the register it sees later
// does not extend it.
func TestConsistencyWithSavedCheckpoint(t *testing.T) {
	dir, priv := fill(t, 4)
	saved, _ := os.ReadFile(filepath.Join(dir, checkpointFile))
	for i := 4; i < 9; i++ {
		Append(dir, origin, priv, issued(i))
	}
	l, err := Open(dir, origin, pub(priv))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := l.OpenCheckpoint(saved)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Consistent(cp); err != nil {
		t.Fatalf("extension judged inconsistent: %v", err)
	}
	// A register rebuilt from scratch with one entry changed, all signed
	// with the real key, is consistent with itself but not with what the
	// verifier saved.
	rebuilt := t.TempDir()
	for i := range 9 {
		e := issued(i)
		if i == 1 {
			e.Version = "1.0-herschreven"
		}
		Append(rebuilt, origin, priv, e)
	}
	r, err := Open(rebuilt, origin, pub(priv))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Consistent(cp); err == nil || !strings.Contains(err.Error(), "fork") {
		t.Fatalf("rewritten register: %v, want a fork", err)
	}
}

func TestBadEntries(t *testing.T) {
	dir, priv := t.TempDir(), newKey(t)
	huge := issued(0)
	huge.System = strings.Repeat("x", MaxEntrySize)
	cases := map[string]Entry{
		"huge":           huge,
		"unknown kind":   {Kind: "x", Certificate: cert(0)},
		"bad digest":     {Kind: Issued, Certificate: "abc", System: "a", Version: "1", Profile: "p"},
		"missing system": {Kind: Issued, Certificate: cert(0), Version: "1", Profile: "p"},
	}
	for name, e := range cases {
		if _, err := Append(dir, origin, priv, e); err == nil {
			t.Errorf("%s: appended", name)
		}
	}
	if n, _ := countFiles(filepath.Join(dir, recordDir)); n != 0 {
		t.Fatalf("%d records written", n)
	}
}

func BenchmarkAppend(b *testing.B) {
	dir, priv := b.TempDir(), make(ed25519.PrivateKey, 0)
	_, priv, _ = ed25519.GenerateKey(rand.Reader)
	for i := 0; b.Loop(); i++ {
		if _, err := Append(dir, origin, priv, issued(i)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSite(t *testing.T) {
	dir, priv := t.TempDir(), newKey(t)
	a := issued(0)
	a.System = "MijnVIS <script>alert(1)</script>"
	b1, b2 := issued(1), issued(2)
	b1.System, b2.System, b2.Version = "ZwangerNet", "ZwangerNet", "2.0"
	for _, e := range []Entry{a, b1, b2, {Kind: Revoked, Certificate: b1.Certificate, Reason: "herkeuring mislukt"}} {
		if _, err := Append(dir, origin, priv, e); err != nil {
			t.Fatal(err)
		}
	}
	l, err := Open(dir, origin, pub(priv))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := l.Site(out, now); err != nil {
		t.Fatal(err)
	}
	index, _ := os.ReadFile(filepath.Join(out, "index.html"))
	page, err := os.ReadFile(filepath.Join(out, "zwangernet.html"))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		doc  []byte
		want []string
	}{
		"index":  {index, []string{"ZwangerNet", "ingetrokken", "geldig", "&lt;script&gt;"}},
		"system": {page, []string{"2.0", "1.0", "herkeuring mislukt", "ingetrokken"}},
	} {
		for _, w := range c.want {
			if !strings.Contains(string(c.doc), w) {
				t.Errorf("%s page lacks %q", name, w)
			}
		}
		if strings.Contains(string(c.doc), "<script") {
			t.Errorf("%s page has a script element", name)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "mijnvis-script-alert-1-script.html")); err != nil {
		t.Errorf("no page for the hostile name: %v", err)
	}
}
