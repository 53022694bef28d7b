package pki

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func root(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := InitCA(dir, "Programmabureau Geboortezorg (test)", 5*365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestOperatorChain(t *testing.T) {
	ca, other := root(t), root(t)
	now := time.Now()
	issue := func(t *testing.T, ca string, from, until time.Time) string {
		t.Helper()
		dir := t.TempDir()
		err := Issue(filepath.Join(ca, RootKeyFile), filepath.Join(ca, RootCertFile), Operator{Name: "Testlab", NotBefore: from, NotAfter: until}, dir)
		if err != nil {
			t.Fatal(err)
		}
		return dir
	}
	rootCert, err := ReadCertificate(filepath.Join(ca, RootCertFile))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		op   string
		at   time.Time
		want string // "" means valid
	}{
		{"valid now", issue(t, ca, now.Add(-time.Hour), now.AddDate(1, 0, 0)), now, ""},
		{"expired at signing", issue(t, ca, now.AddDate(-1, 0, 0), now.Add(-time.Hour)), now, "not valid at"},
		{"not yet valid at signing", issue(t, ca, now.Add(time.Hour), now.AddDate(1, 0, 0)), now, "not valid at"},
		{"valid at signing, expired now", issue(t, ca, now.AddDate(-1, 0, 0), now.Add(-time.Minute)), now.Add(-2 * time.Minute), ""},
		{"from another root", issue(t, other, now.Add(-time.Hour), now.AddDate(1, 0, 0)), now, "not issued by root"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			op, err := ReadCertificate(filepath.Join(c.op, OperatorCertFile))
			if err != nil {
				t.Fatal(err)
			}
			err = VerifyOperator(op, rootCert, c.at)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	// The root itself is not an operator certificate.
	if err := VerifyOperator(rootCert, rootCert, now); err == nil {
		t.Fatal("the root certificate was accepted as an operator's")
	}
}

func TestIssueRefuses(t *testing.T) {
	ca, other := root(t), root(t)
	now := time.Now()
	ok := Operator{Name: "Testlab", NotBefore: now, NotAfter: now.AddDate(1, 0, 0)}
	cases := []struct {
		name          string
		key, cert     string
		op            Operator
		want          string
		existingInOut bool
	}{
		{"key of another root", filepath.Join(other, RootKeyFile), filepath.Join(ca, RootCertFile), ok, "is not the key of", false},
		{"no name", filepath.Join(ca, RootKeyFile), filepath.Join(ca, RootCertFile), Operator{NotBefore: now, NotAfter: now.Add(time.Hour)}, "name is empty", false},
		{"ends before it starts", filepath.Join(ca, RootKeyFile), filepath.Join(ca, RootCertFile), Operator{Name: "x", NotBefore: now, NotAfter: now.Add(-time.Hour)}, "ends before", false},
		{"outlives the root", filepath.Join(ca, RootKeyFile), filepath.Join(ca, RootCertFile), Operator{Name: "x", NotBefore: now, NotAfter: now.AddDate(20, 0, 0)}, "after the root", false},
		{"not a certificate", filepath.Join(ca, RootKeyFile), filepath.Join(ca, RootKeyFile), ok, "no PEM CERTIFICATE", false},
		{"overwrites a key", filepath.Join(ca, RootKeyFile), filepath.Join(ca, RootCertFile), ok, "already exists", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			if c.existingInOut {
				os.WriteFile(filepath.Join(out, OperatorKeyFile), []byte("keep"), 0o600)
			}
			err := Issue(c.key, c.cert, c.op, out)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
	if err := InitCA(ca, "again", time.Hour); err == nil {
		t.Fatal("InitCA overwrote a root")
	}
	if fi, err := os.Stat(filepath.Join(ca, RootKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("root key mode: %v %v", fi.Mode(), err)
	}
}
