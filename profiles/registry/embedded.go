package registry

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

//go:generate go run ./internal/pack -out packages

// The FHIR packages shipped inside the binary, packed from the shared corpus
// by internal/pack (see docs/validation.md): the R4 core, Nictiz zib2020,
// nl-core and MP9 packages, and for STU3 the core, zib2017 and birth-care
// (bc-*) packages. All are CC0; each tarball carries its LICENSE.
//
//go:embed packages/*.tgz packages/index.json
var packed embed.FS

// Shipped is one package inside the binary.
type Shipped struct {
	ID          string `json:"id"`
	Version     string `json:"version"`
	FHIRVersion string `json:"fhirVersion"`
	File        string `json:"file"`
	SHA256      string `json:"sha256"`
	Size        int    `json:"size"`
	Resources   int    `json:"resources"`
	License     string `json:"license"`
}

// Source is the name under which Load finds the package: "id#version".
func (s Shipped) Source() string { return s.ID + "#" + s.Version }

var (
	shippedOnce sync.Once
	shipped     []Shipped
	shippedErr  error
)

// Embedded lists the packages shipped inside the binary, in load order: per
// FHIR version the core package first, then the profiles built on it.
func Embedded() ([]Shipped, error) {
	shippedOnce.Do(func() {
		data, err := packed.ReadFile("packages/index.json")
		if err != nil {
			shippedErr = fmt.Errorf("read the embedded package index: %w", err)
			return
		}
		if err := json.Unmarshal(data, &shipped); err != nil {
			shippedErr = fmt.Errorf("read the embedded package index: %w", err)
		}
	})
	return shipped, shippedErr
}

// SameFHIR reports whether two FHIR versions are of one release (4.0.x, 3.0.x).
func SameFHIR(a, b string) bool {
	cut := func(v string) string {
		if i := strings.LastIndexByte(v, '.'); i > 0 && strings.Count(v, ".") >= 2 {
			return v[:i]
		}
		return v
	}
	return cut(a) == cut(b)
}

// Defaults returns the sources of the embedded packages of one FHIR version
// ("4.0.1" or "3.0.1"; "" means 4.0.1), in load order.
func Defaults(fhirVersion string) ([]string, error) {
	if fhirVersion == "" {
		fhirVersion = "4.0.1"
	}
	all, err := Embedded()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range all {
		if SameFHIR(s.FHIRVersion, fhirVersion) {
			out = append(out, s.Source())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no embedded FHIR packages for FHIR %s", fhirVersion)
	}
	return out, nil
}

// lookupShipped finds an embedded package by "id#version".
func lookupShipped(src string) (Shipped, bool) {
	all, err := Embedded()
	if err != nil {
		return Shipped{}, false
	}
	for _, s := range all {
		if s.Source() == src {
			return s, true
		}
	}
	return Shipped{}, false
}

// openShipped returns the tarball of an embedded package after checking it
// against the sha256 of the index.
func openShipped(s Shipped) ([]byte, error) {
	data, err := packed.ReadFile("packages/" + s.File)
	if err != nil {
		return nil, fmt.Errorf("read embedded package %s: %w", s.Source(), err)
	}
	if got := sha256Hex(data); got != s.SHA256 {
		return nil, fmt.Errorf("embedded package %s: sha256 %s, the index says %s", s.Source(), got, s.SHA256)
	}
	return data, nil
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Pinned resolves a package a certification profile pins to the source Load
// takes. Only a package shipped in the binary with exactly that id, version
// and sha256 (of its tarball) qualifies: a pin is a promise about bytes.
func Pinned(id, version, sum string) (string, error) {
	src := id + "#" + version
	s, ok := lookupShipped(src)
	if !ok {
		return "", fmt.Errorf("pinned package %s is not shipped in this binary", src)
	}
	if !strings.EqualFold(s.SHA256, sum) {
		return "", fmt.Errorf("pinned package %s: this binary ships sha256 %s, the profile pins %s", src, s.SHA256, sum)
	}
	return src, nil
}

// None is the source that leaves the embedded packages out (see Sources).
const None = "none"

// Sources returns what to load: base (the embedded packages of a FHIR
// version, from Defaults, or those a profile pins, from Pinned) followed by
// extra (from --package and BCBENCH_PACKAGES). An extra package whose name is
// that of a base one replaces it (a newer nl-core, say); an extra source
// "none" leaves every base package out, so a self-test can run with exactly
// the packages it names. Extra sources that do not exist are an error here,
// before anything is loaded.
func Sources(base, extra []string, cacheDir string) ([]string, error) {
	var given []string
	none := false
	for _, e := range extra {
		switch {
		case e == None:
			none = true
		case strings.TrimSpace(e) == "":
			return nil, fmt.Errorf("load package %q: empty name", e)
		default:
			if err := exists(e, cacheDir); err != nil {
				return nil, err
			}
			given = append(given, e)
		}
	}
	if none {
		return given, nil
	}
	replaced := map[string]bool{}
	for _, e := range given {
		if n := packageName(e); n != "" {
			replaced[n] = true
		}
	}
	var out []string
	for _, d := range base {
		name, _, _ := strings.Cut(d, "#")
		if !replaced[name] {
			out = append(out, d)
		}
	}
	return append(out, given...), nil
}

// exists says why a source cannot be loaded when it names nothing: no file
// or folder, not embedded, not in the package cache.
func exists(src, cacheDir string) error {
	if _, err := os.Stat(src); err == nil {
		return nil
	}
	if strings.Contains(src, "#") {
		if _, ok := lookupShipped(src); ok {
			return nil
		}
		if cacheDir == "" {
			cacheDir = DefaultCacheDir()
		}
		if _, err := os.Stat(filepath.Join(cacheDir, src)); err == nil {
			return nil
		}
		return fmt.Errorf("load package %s: not embedded (%s) and not in the package cache %s (install it with `bcbench packages install %s`)", src, strings.Join(embeddedNames(), ", "), cacheDir, src)
	}
	return fmt.Errorf("load package %s: no such file or folder", src)
}

// packageName is the package.json name of a source, "" when it has none
// (a plain folder or file of resources) or cannot be read.
func packageName(src string) string {
	if name, _, ok := strings.Cut(src, "#"); ok {
		if _, err := os.Stat(src); err != nil {
			return name
		}
	}
	st, err := os.Stat(src)
	if err != nil {
		return ""
	}
	var raw []byte
	switch {
	case st.IsDir():
		for _, p := range []string{filepath.Join(src, "package", "package.json"), filepath.Join(src, "package.json")} {
			if raw, err = readBounded(p); err == nil {
				break
			}
		}
	case strings.HasSuffix(src, ".tgz") || strings.HasSuffix(src, ".tar.gz"):
		var pkg Package
		f, err := os.Open(src)
		if err != nil {
			return ""
		}
		defer f.Close()
		if _, err := readTar(f, src, &pkg); err != nil {
			return ""
		}
		return pkg.Name
	}
	var pkg Package
	if len(raw) == 0 || json.Unmarshal(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")), &pkg) != nil {
		return ""
	}
	return pkg.Name
}

// embeddedNames lists "id#version" of every embedded package, sorted.
func embeddedNames() []string {
	all, _ := Embedded()
	var out []string
	for _, s := range all {
		out = append(out, s.Source())
	}
	slices.Sort(out)
	return out
}
