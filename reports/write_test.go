package reports

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteAll(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("HOME", home)
	dev, err := DevSigner()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "evidence"), 0o755)
	os.WriteFile(filepath.Join(dir, "evidence", "xis.har"), []byte(`{"log":{}}`), 0o644)
	res := richResults(t)
	res.Mode = ModeCertification // a development key must override this
	res.Evidence = []Evidence{{Path: "evidence/xis.har"}, {Path: "evidence/gone.har"}, {Path: "evidence/xis.har"}}
	if err := WriteAll(dir, res, dev); err != nil {
		t.Fatalf("WriteAll: %v", err)
	}
	for _, name := range []string{ResultsFile, JUnitFile, HTMLFile, EnvelopeFile} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", name, err)
		}
	}
	back, err := ReadResults(filepath.Join(dir, ResultsFile))
	if err != nil {
		t.Fatalf("written results.json: %v", err)
	}
	if back.Mode != ModeSelfTest {
		t.Errorf("mode = %q, want zelftest with a development key", back.Mode)
	}
	if len(back.Evidence) != 1 || back.Evidence[0].Path != "evidence/xis.har" || back.Evidence[0].Kind != "har" ||
		back.Evidence[0].SHA256 != sha256hex([]byte(`{"log":{}}`)) {
		t.Errorf("evidence = %+v, want one har with its digest", back.Evidence)
	}
	if !strings.Contains(strings.Join(back.Problems, "|"), "evidence/gone.har") {
		t.Errorf("problems = %v, want the missing evidence named", back.Problems)
	}
	x, _ := os.ReadFile(filepath.Join(dir, JUnitFile))
	if err := xml.Unmarshal(x, new(junitSuites)); err != nil {
		t.Errorf("junit.xml: %v", err)
	}
	h, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	if !strings.Contains(string(h), "Zelftest — geen certificaat") {
		t.Error("report.html of a development-key run does not say zelftest")
	}
	devDir, _ := DevKeyDir()
	if err := Verify(filepath.Join(dir, EnvelopeFile), filepath.Join(devDir, PubFile)); err != nil {
		t.Errorf("Verify of a fresh WriteAll: %v", err)
	}
}

func TestWriteAllCertificationMode(t *testing.T) {
	keys, dir := t.TempDir(), t.TempDir()
	InitKeys(keys)
	signer, err := LoadSigner(filepath.Join(keys, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	res := Assemble(baseInput(t, []string{"MED-01"}, spec("a", Pass, "MED-01")))
	if err := WriteAll(dir, res, signer); err != nil {
		t.Fatal(err)
	}
	back, err := ReadResults(filepath.Join(dir, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if back.Mode != ModeCertification || back.Verdict != VerdictPass {
		t.Fatalf("mode %q verdict %q", back.Mode, back.Verdict)
	}
}

func TestWriteAllWithoutSignerStillWritesResults(t *testing.T) {
	dir := t.TempDir()
	err := WriteAll(dir, Assemble(baseInput(t, []string{"MED-01"})), nil)
	if err == nil || !strings.Contains(err.Error(), "no signing key") {
		t.Fatalf("WriteAll(nil signer) = %v", err)
	}
	if _, err := ReadResults(filepath.Join(dir, ResultsFile)); err != nil {
		t.Fatalf("results.json not written: %v", err)
	}
}

func TestDiff(t *testing.T) {
	ids := []string{"MED-01", "MED-02", "STD-01", "STD-02", "HER-01"}
	a := Assemble(baseInput(t, ids, spec("a", Pass, "MED-01", "STD-01"), spec("b", Fail, "MED-02"), spec("c", Skip, "STD-02")))
	b := Assemble(baseInput(t, append(ids[1:], "CLI-01"), spec("a", Fail, "STD-01"), spec("b", Pass, "MED-02"), spec("c", Skip, "STD-02")))
	got := map[string]Change{}
	for _, c := range Diff(a, b) {
		got[c.ID] = c
	}
	cases := []struct {
		id     string
		before Status
		after  Status
		worse  bool
	}{
		{"STD-01", Pass, Fail, true},
		{"MED-02", Fail, Pass, false},
		{"CLI-01", "", NotTested, false},
		{"MED-01", Pass, "", true}, // a passing MOET requirement left the profile
	}
	for _, tc := range cases {
		c, ok := got[tc.id]
		if !ok {
			t.Errorf("%s: no change reported", tc.id)
			continue
		}
		if c.Before != tc.before || c.After != tc.after || c.Worse != tc.worse {
			t.Errorf("%s = %+v, want %s → %s worse=%v", tc.id, c, tc.before, tc.after, tc.worse)
		}
	}
	if _, ok := got["STD-02"]; ok {
		t.Error("unchanged STD-02 reported")
	}
	if _, ok := got["HER-01"]; ok {
		t.Error("unchanged HER-01 reported")
	}
	if !AnyWorse(Diff(a, b)) || AnyWorse(Diff(a, a)) || len(Diff(a, a)) != 0 {
		t.Error("AnyWorse / identical diff wrong")
	}
	worse := map[[2]Status]bool{{Pass, Skip}: true, {Skip, Fail}: true, {NotTested, Error}: true, {Error, Fail}: true,
		{Fail, Error}: false, {NotTested, Skip}: false, {Skip, Pass}: false}
	for pair, want := range worse {
		if got := rankOf(pair[1]) < rankOf(pair[0]); got != want {
			t.Errorf("%s → %s worse = %v, want %v", pair[0], pair[1], got, want)
		}
	}
}

// A profile that does not certify stays a self-test when signed with a real
// key, in results.json, on the page and in the signed statement.
func TestWriteAllSelfTestProfileWithRealKey(t *testing.T) {
	keys, dir := t.TempDir(), t.TempDir()
	if err := InitKeys(keys); err != nil {
		t.Fatal(err)
	}
	signer, err := LoadSigner(filepath.Join(keys, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	in := baseInput(t, []string{"MED-01"}, spec("a", Pass, "MED-01"))
	in.Profile.Certifies = false
	res := Assemble(in)
	res.Mode = ModeCertification // whatever a caller claims
	if err := WriteAll(dir, res, signer); err != nil {
		t.Fatal(err)
	}
	back, err := ReadResults(filepath.Join(dir, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if back.Mode != ModeSelfTest {
		t.Errorf("results.json mode %q, want zelftest", back.Mode)
	}
	page, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	if !strings.Contains(string(page), "Zelftest — geen certificaat") || strings.Contains(string(page), "Certificeringsrun") {
		t.Error("report.html does not say zelftest")
	}
}
