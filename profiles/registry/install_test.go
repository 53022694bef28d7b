package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// tarball builds a gzipped package tarball from name → content.
func tarball(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(content))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

const testSD = `{"resourceType":"StructureDefinition","url":"http://example.org/StructureDefinition/bc-test","version":"1.0.0","name":"BcTest","type":"Patient","kind":"resource","derivation":"constraint","baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient"}`

func TestInstall(t *testing.T) {
	good := tarball(t, map[string]string{
		"package/package.json":                     `{"name":"example.bc","version":"1.0.0","fhirVersions":["4.0.1"]}`,
		"package/StructureDefinition-bc-test.json": testSD,
		"package/examples/Patient-example.json":    `{"resourceType":"Patient"}`,
	})
	evil := tarball(t, map[string]string{"../../evil.json": "{}", "package/package.json": `{"name":"evil","version":"1.0.0"}`})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/example.bc/1.0.0":
			w.Header().Set("Content-Type", "application/tar+gzip")
			w.Write(good)
		case "/meta.bc/1.0.0":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"name":"meta.bc","dist":{"tarball":"http://` + r.Host + `/tarballs/meta.tgz"}}`))
		case "/tarballs/meta.tgz":
			w.Write(tarball(t, map[string]string{"package/package.json": `{"name":"meta.bc","version":"1.0.0"}`, "package/StructureDefinition-bc-test.json": testSD}))
		case "/evil/1.0.0":
			w.Write(evil)
		case "/garbage/1.0.0":
			w.Write([]byte("<script>alert(1)</script>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cache := t.TempDir()
	ctx := context.Background()

	for _, name := range []string{"example.bc", "meta.bc"} {
		dir, err := Install(ctx, srv.Client(), srv.URL, name, "1.0.0", cache)
		if err != nil {
			t.Fatalf("install %s: %v", name, err)
		}
		if dir != filepath.Join(cache, name+"#1.0.0") {
			t.Errorf("dir %s", dir)
		}
		r, err := Load(Options{CacheDir: cache}, name+"#1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.Lookup("http://example.org/StructureDefinition/bc-test|1.0.0"); !ok {
			t.Errorf("%s: installed profile not resolvable", name)
		}
	}
	got, err := Cached(cache)
	if err != nil || len(got) != 2 {
		t.Errorf("Cached = %v, %v; want two packages", got, err)
	}

	bad := []struct{ name, want string }{
		{"evil", "leaves the package folder"},
		{"garbage", "not a gzip tarball"},
		{"missing", "404"},
		{"../etc", "invalid package name"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Install(ctx, srv.Client(), srv.URL, tc.name, "1.0.0", cache)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestLoadTarball(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p.tgz")
	data := tarball(t, map[string]string{
		"package/package.json":                     `{"name":"example.bc","version":"1.0.0"}`,
		"package/StructureDefinition-bc-test.json": testSD,
		"package/other/x.json":                     testSD,
	})
	if err := writeFile(p, data); err != nil {
		t.Fatal(err)
	}
	r, err := Load(Options{}, p)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.Entries()); n != 1 {
		t.Errorf("%d entries, want 1 (sub-folders of package/ are not definitions)", n)
	}
	if r.Packages()[0].Name != "example.bc" {
		t.Errorf("package name %q", r.Packages()[0].Name)
	}
}
