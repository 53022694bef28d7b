package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/profiles/certification"
)

// TestEmbeddedPackages opens every shipped tarball: its bytes match the
// index's sha256, its package.json names the id and version of the index, it
// carries a CC0 licence, and it holds the resources the index counts and no
// examples.
func TestEmbeddedPackages(t *testing.T) {
	all, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range all {
		ids = append(ids, s.Source())
	}
	want := []string{"hl7.fhir.r4.core#4.0.1", "nictiz.fhir.nl.r4.zib2020#0.12.1-beta.1", "nictiz.fhir.nl.r4.nl-core#0.12.1-beta.1",
		"nictiz.fhir.nl.r4.medicationprocess9#2.0.0-rc.7", "hl7.fhir.core#3.0.1", "nictiz.fhir.nl.stu3.zib2017#2.2.18", "geboortezorgnictiz#3.0.0"}
	if !slices.Equal(ids, want) {
		t.Fatalf("embedded packages %v, want %v", ids, want)
	}
	for _, s := range all {
		t.Run(s.Source(), func(t *testing.T) {
			data, err := openShipped(s)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) != s.Size {
				t.Errorf("size %d, the index says %d", len(data), s.Size)
			}
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if zr.Name != "" || !zr.ModTime.IsZero() {
				t.Errorf("gzip header carries name %q and time %v: not reproducible", zr.Name, zr.ModTime)
			}
			tr := tar.NewReader(zr)
			var names []string
			var licence []byte
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, h.Name)
				if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || !h.ModTime.Equal(time.Date(1985, 10, 26, 8, 15, 0, 0, time.UTC)) {
					t.Errorf("%s: owner %d/%d %q or time %v is not fixed", h.Name, h.Uid, h.Gid, h.Uname, h.ModTime)
				}
				content, err := io.ReadAll(tr)
				if err != nil {
					t.Fatal(err)
				}
				switch h.Name {
				case "package/LICENSE":
					licence = content
				case "package/package.json", "package/SOURCE.txt":
				default:
					if rt := rootName(content); !definitions[rt] || strings.Count(h.Name, "/") != 1 {
						t.Errorf("%s: a %q in a package of definitions", h.Name, rt)
					}
				}
			}
			if !slices.IsSorted(names) {
				t.Error("tar entries are not sorted by name")
			}
			if !bytes.Contains(licence, []byte("CC0 1.0 Universal")) {
				t.Errorf("package/LICENSE is missing or not CC0 (%d bytes)", len(licence))
			}
			r, err := Load(Options{}, s.Source())
			if err != nil {
				t.Fatal(err)
			}
			p := r.Packages()[0]
			if p.Name != s.ID || p.Version != s.Version || !p.Embedded || p.SHA256 != s.SHA256 {
				t.Errorf("loaded as %s#%s embedded=%v sha256 %s", p.Name, p.Version, p.Embedded, p.SHA256)
			}
			if p.Resources == 0 || p.Resources > s.Resources || len(p.Skipped) > 0 {
				t.Errorf("%d resources indexed of %d packed, skipped %v", p.Resources, s.Resources, p.Skipped)
			}
		})
	}
}

// definitions are the resource types the packages may hold.
var definitions = map[string]bool{
	"StructureDefinition": true, "ValueSet": true, "CodeSystem": true, "ConceptMap": true, "NamingSystem": true,
	"SearchParameter": true, "CapabilityStatement": true, "OperationDefinition": true, "ImplementationGuide": true,
}

// rootName is the resourceType of a JSON resource or the root element of an
// XML one.
func rootName(data []byte) string {
	data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(data) > 0 && data[0] == '{' {
		var h header
		json.Unmarshal(data, &h)
		return h.ResourceType
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local
		}
	}
}

// TestEmbeddedReproducible regenerates the packages from the corpus with the
// packing command and requires byte-identical tarballs: anyone can check
// what the binary ships, and the sha256 a profile pins.
func TestEmbeddedReproducible(t *testing.T) {
	root := corpus(t)
	if testing.Short() {
		t.Skip("packs 100 MB of corpus files; not in -short")
	}
	out := t.TempDir()
	cmd := exec.Command("go", "run", "./internal/pack", "-corpus", root, "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pack: %v\n%s", err, msg)
	}
	for _, name := range []string{"index.json"} {
		a, _ := os.ReadFile(filepath.Join("packages", name))
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs from a fresh pack (%v)", name, err)
		}
	}
	all, _ := Embedded()
	for _, s := range all {
		data, err := os.ReadFile(filepath.Join(out, s.File))
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256Hex(data); got != s.SHA256 {
			t.Errorf("%s: fresh pack has sha256 %s, the shipped one %s", s.Source(), got, s.SHA256)
		}
	}
}

// TestEmbeddedSameAsCorpus is the bar for validation staying as good: the
// embedded R4 and STU3 packages hold the same conformance resources (type,
// canonical URL, version, file) as the corpus folders the tests validated
// with before, nothing lost.
func TestEmbeddedSameAsCorpus(t *testing.T) {
	root := corpus(t)
	tests := []struct {
		name    string
		version string
		folders []string
	}{
		{"R4", "4.0.1", []string{"hl7-fhir-core/4.0.1", "nictiz-r4-zib2020/resources", "nictiz-r4-zib2020/SearchParameters", "nictiz-r4-mp9"}},
		{"STU3", "3.0.1", []string{"hl7-fhir-core/3.0.1", "nictiz-stu3-zib2017", "nictiz-stu3-geboortezorg"}},
	}
	key := func(e *Entry) string {
		f := e.File[strings.LastIndexAny(e.File, "/!")+1:]
		return e.ResourceType + " " + e.URL + "|" + e.Version + " " + f
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var dirs []string
			for _, f := range tc.folders {
				dirs = append(dirs, filepath.Join(root, f))
			}
			fromCorpus, err := Load(Options{FHIRVersion: tc.version}, dirs...)
			if err != nil {
				t.Fatal(err)
			}
			defaults, err := Defaults(tc.version)
			if err != nil {
				t.Fatal(err)
			}
			fromBinary, err := Load(Options{FHIRVersion: tc.version}, defaults...)
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, e := range fromBinary.Entries() {
				have[key(e)] = true
			}
			missing := 0
			for _, e := range fromCorpus.Entries() {
				if !have[key(e)] {
					missing++
					if missing <= 10 {
						t.Errorf("missing from the embedded packages: %s", key(e))
					}
				}
			}
			t.Logf("%s: %d resources from the corpus folders, %d from the embedded packages, %d missing", tc.name, len(fromCorpus.Entries()), len(fromBinary.Entries()), missing)
			if len(fromBinary.Entries()) != len(fromCorpus.Entries()) {
				t.Errorf("%d resources embedded, %d in the corpus folders", len(fromBinary.Entries()), len(fromCorpus.Entries()))
			}
		})
	}
}

func TestSources(t *testing.T) {
	r4, err := Defaults("4.0.1")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	nlcore := filepath.Join(dir, "nl-core")
	os.MkdirAll(filepath.Join(nlcore, "package"), 0o755)
	writeFile(filepath.Join(nlcore, "package", "package.json"), []byte(`{"name":"nictiz.fhir.nl.r4.nl-core","version":"9.9.9"}`))
	plain := filepath.Join(dir, "profielen")
	os.MkdirAll(plain, 0o755)
	without := func(name string) []string {
		return slices.DeleteFunc(slices.Clone(r4), func(s string) bool { return strings.HasPrefix(s, name+"#") })
	}
	stu3, err := Defaults("3.0.1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		base    []string
		extra   []string
		want    []string
		wantErr string
	}{
		{name: "nothing given: the base", base: r4, want: r4},
		{name: "STU3: core, zib2017, birth care", base: stu3, want: []string{"hl7.fhir.core#3.0.1", "nictiz.fhir.nl.stu3.zib2017#2.2.18", "geboortezorgnictiz#3.0.0"}},
		{name: "a plain folder is added", base: r4, extra: []string{plain}, want: append(slices.Clone(r4), plain)},
		{name: "a package of the same name replaces the embedded one", base: r4, extra: []string{nlcore}, want: append(without("nictiz.fhir.nl.r4.nl-core"), nlcore)},
		{name: "none leaves the embedded packages out", base: r4, extra: []string{None, plain}, want: []string{plain}},
		{name: "none alone loads nothing", base: r4, extra: []string{None}, want: nil},
		{name: "an embedded package named explicitly", base: r4, extra: []string{"hl7.fhir.r4.core#4.0.1"}, want: append(without("hl7.fhir.r4.core"), "hl7.fhir.r4.core#4.0.1")},
		{name: "a missing folder is an error", base: r4, extra: []string{filepath.Join(dir, "nope")}, wantErr: "no such file or folder"},
		{name: "a package in neither binary nor cache", base: r4, extra: []string{"nergens#1.0.0"}, wantErr: "not embedded"},
		{name: "an empty name", base: r4, extra: []string{" "}, wantErr: "empty name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Sources(tc.base, tc.extra, filepath.Join(dir, "cache"))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("sources %v, want %v", got, tc.want)
			}
		})
	}
}

// TestProfilesPinShippedPackages: every package a certification profile pins
// is shipped in the binary with exactly the pinned sha256, so repacking
// without updating the pins (or the reverse) fails here, not in a
// certification run.
func TestProfilesPinShippedPackages(t *testing.T) {
	all, err := certification.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		for _, pin := range p.Packages {
			if pin.SHA256 == "" {
				if p.Certifies {
					t.Errorf("%s: %s is not pinned by sha256", p.ID, pin)
				}
				continue
			}
			if _, err := Pinned(pin.ID, pin.Version, pin.SHA256); err != nil {
				t.Errorf("%s: %v", p.ID, err)
			}
		}
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name, version, wantFirst, wantErr string
		wantLen                           int
	}{
		{name: "R4", version: "4.0.1", wantFirst: "hl7.fhir.r4.core#4.0.1", wantLen: 4},
		{name: "no version is R4", wantFirst: "hl7.fhir.r4.core#4.0.1", wantLen: 4},
		{name: "STU3 3.0.2 is of release 3.0", version: "3.0.2", wantFirst: "hl7.fhir.core#3.0.1", wantLen: 3},
		{name: "an unknown FHIR version", version: "9.9", wantErr: "no embedded FHIR packages for FHIR 9.9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Defaults(tc.version)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != tc.wantLen || got[0] != tc.wantFirst {
				t.Fatalf("Defaults(%q) = %v, %v", tc.version, got, err)
			}
		})
	}
}

func TestPinned(t *testing.T) {
	all, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	core := all[0]
	tests := []struct {
		name, id, version, sum, wantErr string
	}{
		{name: "the shipped bytes", id: core.ID, version: core.Version, sum: core.SHA256},
		{name: "sha256 in capitals", id: core.ID, version: core.Version, sum: strings.ToUpper(core.SHA256)},
		{name: "another sha256", id: core.ID, version: core.Version, sum: strings.Repeat("0", 64), wantErr: "the profile pins"},
		{name: "another version", id: core.ID, version: "4.0.0", sum: core.SHA256, wantErr: "not shipped"},
		{name: "an unknown package", id: "example.bc", version: "1.0.0", sum: core.SHA256, wantErr: "not shipped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Pinned(tc.id, tc.version, tc.sum)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || src != tc.id+"#"+tc.version {
				t.Fatalf("Pinned = %q, %v", src, err)
			}
		})
	}
}

// BenchmarkLoadEmbeddedR4 loads the embedded R4 packages, as every run does.
func BenchmarkLoadEmbeddedR4(b *testing.B) {
	srcs, err := Defaults("4.0.1")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Load(Options{}, srcs...); err != nil {
			b.Fatal(err)
		}
	}
}
