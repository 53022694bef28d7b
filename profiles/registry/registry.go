// Package registry loads FHIR conformance resources (StructureDefinitions,
// ValueSets, CodeSystems) from FHIR packages and resolves canonical URLs.
//
// A source given to Load may be:
//   - a package folder: a folder holding package/package.json (the npm layout),
//     or a folder holding package.json directly;
//   - a package tarball (.tgz or .tar.gz) in the npm layout;
//   - a package in the standard cache, as "name#version", looked up under
//     ~/.fhir/packages/name#version/ (or Options.CacheDir);
//   - any folder of conformance resources in JSON or XML, searched recursively
//     (sub-folders named archive, examples, example, node_modules and .git are
//     skipped: they hold instances or superseded copies, not definitions);
//   - a single JSON or XML file.
//
// Loading is lazy: each file is read once and only a handful of fields (url,
// version, name, type, kind, derivation, baseDefinition) are extracted; the
// full resource tree is parsed on first use and cached. A Registry is safe for
// concurrent use once Load has returned. Trees returned by Resource are shared:
// callers must not modify them.
//
// Canonical resolution: "url|version" picks that version (an exact match, or
// the latest version starting with the given prefix, so "|4.0" finds 4.0.1);
// a bare "url" picks the resource loaded from the earliest source given to
// Load that has it, and among several versions in one source the highest.
package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/bcbench/bcbench/profiles/fhirxml"
)

// Package describes one loaded source.
type Package struct {
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	FHIRVersions []string          `json:"fhirVersions,omitempty"`
	VersionList  []string          `json:"fhir-version-list,omitempty"` // older core packages
	Dependencies map[string]string `json:"dependencies,omitempty"`
	Source       string            `json:"source"`           // the path or name#version given to Load
	SHA256       string            `json:"sha256,omitempty"` // of the tarball, for embedded packages and .tgz files
	Embedded     bool              `json:"embedded,omitempty"`
	Resources    int               `json:"resources"` // conformance resources loaded from it
	Skipped      []string          `json:"skipped,omitempty"`
}

// Entry is one conformance resource known to the registry.
type Entry struct {
	ResourceType   string
	URL            string
	Version        string
	Name           string
	ID             string
	Type           string // StructureDefinition.type
	Kind           string // StructureDefinition.kind
	Derivation     string // StructureDefinition.derivation
	BaseDefinition string
	FHIRVersion    string
	Package        *Package
	File           string

	raw    []byte
	xml    bool
	once   sync.Once
	tree   map[string]any
	parseE error
}

// Tree returns the parsed resource (shared; do not modify).
func (e *Entry) Tree() (map[string]any, error) {
	e.once.Do(func() {
		if e.tree != nil {
			return
		}
		e.tree, e.parseE = decode(e.raw, e.xml)
		e.raw = nil
	})
	return e.tree, e.parseE
}

// Registry holds the loaded conformance resources.
type Registry struct {
	packages []*Package
	byURL    map[string][]*Entry // in load order
	all      []*Entry
}

// Options tune Load.
type Options struct {
	// CacheDir is the FHIR package cache ("~/.fhir/packages" when empty).
	CacheDir string
	// FHIRVersion is the version XML resources are read as when a package
	// does not say (fhirVersions in package.json); "" reads R4 and STU3
	// shapes alike (R4 wins where they differ).
	FHIRVersion string
}

// DefaultCacheDir returns ~/.fhir/packages.
func DefaultCacheDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".fhir", "packages")
	}
	return filepath.Join(home, ".fhir", "packages")
}

// conformance lists the resource types the registry keeps.
var conformance = map[string]bool{
	"StructureDefinition": true, "ValueSet": true, "CodeSystem": true, "Questionnaire": true,
	"SearchParameter": true, "Measure": true, "Library": true, "ImplementationGuide": true,
}

// skipDirs are folder names not searched in folders of resources.
var skipDirs = map[string]bool{"archive": true, "examples": true, "example": true, "node_modules": true, ".git": true}

// Load reads every source into a new Registry.
func Load(opts Options, sources ...string) (*Registry, error) {
	r := &Registry{byURL: map[string][]*Entry{}}
	for _, s := range sources {
		if err := r.add(opts, s); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// With returns a new Registry holding r's resources followed by those of
// sources; r is not changed. Use it to add a few definitions (a test's
// supporting profiles) to a loaded core package without reloading it.
func (r *Registry) With(opts Options, sources ...string) (*Registry, error) {
	n := &Registry{
		packages: append([]*Package{}, r.packages...),
		byURL:    make(map[string][]*Entry, len(r.byURL)+16),
		all:      append([]*Entry{}, r.all...),
	}
	for k, v := range r.byURL {
		n.byURL[k] = v
	}
	for _, s := range sources {
		if err := n.add(opts, s); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// file is one candidate file to index.
type file struct {
	name string
	data []byte
}

func (r *Registry) add(opts Options, src string) error {
	pkg := &Package{Source: src}
	files, err := r.read(opts, src, pkg)
	if err != nil {
		return fmt.Errorf("load package %s: %w", src, err)
	}
	if len(pkg.FHIRVersions) == 0 {
		pkg.FHIRVersions = pkg.VersionList
	}
	entries := index(files, pkg, opts.FHIRVersion)
	for _, e := range entries {
		if e == nil {
			continue
		}
		e.Package = pkg
		pkg.Resources++
		r.all = append(r.all, e)
		if e.URL != "" {
			r.byURL[e.URL] = append(r.byURL[e.URL][:len(r.byURL[e.URL]):len(r.byURL[e.URL])], e)
		}
	}
	r.packages = append(r.packages, pkg)
	return nil
}

// read collects the files of one source into pkg.
func (r *Registry) read(opts Options, src string, pkg *Package) ([]file, error) {
	path := src
	if _, err := os.Stat(src); err != nil && strings.Contains(src, "#") {
		if s, ok := lookupShipped(src); ok {
			data, err := openShipped(s)
			if err != nil {
				return nil, err
			}
			pkg.SHA256, pkg.Embedded = s.SHA256, true
			files, err := readTar(bytes.NewReader(data), src, pkg)
			if len(pkg.FHIRVersions) == 0 && len(pkg.VersionList) == 0 {
				pkg.FHIRVersions = []string{s.FHIRVersion}
			}
			return files, err
		}
		cache := opts.CacheDir
		if cache == "" {
			cache = DefaultCacheDir()
		}
		path = filepath.Join(cache, src)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("not embedded (%s) and not in the package cache %s (install it with `bcbench packages install %s`)", strings.Join(embeddedNames(), ", "), cache, src)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	switch {
	case !st.IsDir() && (strings.HasSuffix(path, ".tgz") || strings.HasSuffix(path, ".tar.gz")):
		data, err := readBoundedSize(path, maxTarball)
		if err != nil {
			return nil, err
		}
		pkg.SHA256 = sha256Hex(data)
		return readTar(bytes.NewReader(data), path, pkg)
	case !st.IsDir():
		data, err := readBounded(path)
		if err != nil {
			return nil, err
		}
		pkg.Name = filepath.Base(path)
		return []file{{name: path, data: data}}, nil
	}
	dir := path
	if _, err := os.Stat(filepath.Join(path, "package", "package.json")); err == nil {
		dir = filepath.Join(path, "package")
	}
	if data, err := os.ReadFile(filepath.Join(dir, "package.json")); err == nil {
		if err := json.Unmarshal(data, pkg); err != nil {
			return nil, fmt.Errorf("read package.json: %w", err)
		}
		pkg.Source = src
	} else {
		pkg.Name = filepath.Base(filepath.Clean(path))
	}
	return readFolder(dir)
}

func readFolder(dir string) ([]file, error) {
	var files []file
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && skipDirs[strings.ToLower(d.Name())] {
				return filepath.SkipDir
			}
			return nil
		}
		n := strings.ToLower(d.Name())
		if !(strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".xml")) || n == "package.json" || strings.HasPrefix(n, ".") {
			return nil
		}
		data, err := readBounded(p)
		if err != nil {
			return err
		}
		files = append(files, file{name: p, data: data})
		return nil
	})
	return files, err
}

// readBounded reads one regular file of at most maxTarEntry bytes: a
// conformance resource larger than that, or a device or pipe, is refused.
func readBounded(path string) ([]byte, error) { return readBoundedSize(path, maxTarEntry) }

// readBoundedSize reads one regular file of at most limit bytes.
func readBoundedSize(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, larger than the limit of %d", path, st.Size(), limit)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s grew beyond the limit of %d bytes while being read", path, limit)
	}
	return data, nil
}

// maxTarEntry bounds one file read from a tarball.
const maxTarEntry = 64 << 20

// readTar reads the package/* files of a package tarball; label names it in
// file names and errors. The unpacked size is bounded by maxUnpacked.
func readTar(r io.Reader, label string, pkg *Package) ([]file, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("read tarball: %w", err)
	}
	tr := tar.NewReader(zr)
	var files []file
	var total int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read tarball: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(filepath.ToSlash(h.Name), "./")
		if !strings.HasPrefix(name, "package/") || strings.Count(name, "/") != 1 {
			continue // only package/*: examples and other sub-folders are not definitions
		}
		base := strings.ToLower(name[len("package/"):])
		if !strings.HasSuffix(base, ".json") && !strings.HasSuffix(base, ".xml") || strings.HasPrefix(base, ".") {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxTarEntry+1))
		if err != nil {
			return nil, fmt.Errorf("read tarball %s: %w", name, err)
		}
		if len(data) > maxTarEntry {
			return nil, fmt.Errorf("read tarball %s: larger than %d bytes", name, maxTarEntry)
		}
		if total += int64(len(data)); total > maxUnpacked {
			return nil, fmt.Errorf("read tarball: unpacks to more than %d bytes", maxUnpacked)
		}
		if base == "package.json" {
			if err := json.Unmarshal(data, pkg); err != nil {
				return nil, fmt.Errorf("read package.json: %w", err)
			}
			continue
		}
		files = append(files, file{name: label + "!" + name, data: data})
	}
	if pkg.Name == "" {
		return nil, errors.New("no package/package.json in the tarball")
	}
	return files, nil
}

// flexString reads a JSON string and ignores any other value (Measure.type
// is a list of concepts, StructureDefinition.type a string).
type flexString string

// UnmarshalJSON keeps a string and drops anything else.
func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*f = flexString(s)
	}
	return nil
}

// header is the part of a conformance resource the index needs.
type header struct {
	ResourceType   string     `json:"resourceType"`
	URL            string     `json:"url"`
	Version        string     `json:"version"`
	Name           string     `json:"name"`
	ID             string     `json:"id"`
	Type           flexString `json:"type"`
	Kind           string     `json:"kind"`
	Derivation     string     `json:"derivation"`
	BaseDefinition string     `json:"baseDefinition"`
	FHIRVersion    flexString `json:"fhirVersion"` // a list in ImplementationGuide
}

// index extracts headers of files in parallel; non-conformance files become nil.
func index(files []file, pkg *Package, version string) []*Entry {
	out := make([]*Entry, len(files))
	// XML is read with the element table of the package's FHIR version.
	if len(pkg.FHIRVersions) > 0 {
		version = pkg.FHIRVersions[0]
	}
	var mu sync.Mutex
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				e, err := entry(files[i], version)
				if err != nil {
					mu.Lock()
					pkg.Skipped = append(pkg.Skipped, fmt.Sprintf("%s: %v", files[i].name, err))
					mu.Unlock()
					continue
				}
				out[i] = e
			}
		}()
	}
	for i := range files {
		work <- i
	}
	close(work)
	wg.Wait()
	sort.Strings(pkg.Skipped)
	return out
}

func entry(f file, fhirVersion string) (*Entry, error) {
	data := bytes.TrimPrefix(f.data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, nil
	}
	var h header
	e := &Entry{File: f.name}
	if trimmed[0] == '{' {
		if !bytes.Contains(data, []byte(`"resourceType"`)) {
			return nil, nil
		}
		if err := json.Unmarshal(data, &h); err != nil {
			return nil, fmt.Errorf("not valid JSON: %w", err)
		}
		if !conformance[h.ResourceType] {
			return nil, nil
		}
		e.raw = data
	} else {
		if !bytes.Contains(data[:min(len(data), 4096)], []byte("http://hl7.org/fhir")) {
			return nil, nil
		}
		tree, err := fhirxml.DecodeVersion(data, fhirVersion)
		if err != nil {
			return nil, err
		}
		rt, _ := tree["resourceType"].(string)
		if !conformance[rt] {
			return nil, nil
		}
		str := func(k string) string { s, _ := tree[k].(string); return s }
		h = header{ResourceType: rt, URL: str("url"), Version: str("version"), Name: str("name"), ID: str("id"),
			Type: flexString(str("type")), Kind: str("kind"), Derivation: str("derivation"), BaseDefinition: str("baseDefinition"), FHIRVersion: flexString(str("fhirVersion"))}
		e.tree = tree
		e.xml = true
	}
	e.ResourceType, e.URL, e.Version, e.Name, e.ID = h.ResourceType, h.URL, h.Version, h.Name, h.ID
	e.Type, e.Kind, e.Derivation, e.BaseDefinition, e.FHIRVersion = string(h.Type), h.Kind, h.Derivation, h.BaseDefinition, string(h.FHIRVersion)
	return e, nil
}

func decode(raw []byte, isXML bool) (map[string]any, error) {
	if isXML {
		return fhirxml.Decode(raw)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// Packages lists the loaded sources in load order.
func (r *Registry) Packages() []*Package { return r.packages }

// Entries lists every loaded conformance resource in load order.
func (r *Registry) Entries() []*Entry { return r.all }

// Lookup resolves a canonical ("url" or "url|version") to its entry.
func (r *Registry) Lookup(canonical string) (*Entry, bool) {
	url, version, _ := strings.Cut(canonical, "|")
	es := r.byURL[url]
	if len(es) == 0 {
		return nil, false
	}
	if version != "" {
		var best *Entry
		for _, e := range es {
			if e.Version == version {
				return e, true
			}
			if strings.HasPrefix(e.Version, version+".") && (best == nil || compareVersions(e.Version, best.Version) > 0) {
				best = e
			}
		}
		return best, best != nil
	}
	best := es[0]
	for _, e := range es[1:] {
		if e.Package == best.Package && compareVersions(e.Version, best.Version) > 0 {
			best = e
		}
	}
	return best, true
}

// Resource returns the parsed tree of a canonical resource; it implements the
// terminology Source contract. Trees are shared: do not modify.
// A canonical "url#id" with no resource of its own names the resource
// contained under id in the resource at url (a StructureDefinition's
// binding to "#vs" is read that way by the validator).
func (r *Registry) Resource(canonical string) (map[string]any, bool) {
	e, ok := r.Lookup(canonical)
	if !ok {
		if host, id, frag := strings.Cut(canonical, "#"); frag && host != "" && id != "" {
			return r.contained(host, id)
		}
		return nil, false
	}
	t, err := e.Tree()
	if err != nil {
		return nil, false
	}
	return t, true
}

// contained finds the resource contained under id in the resource at host.
func (r *Registry) contained(host, id string) (map[string]any, bool) {
	e, ok := r.Lookup(host)
	if !ok {
		return nil, false
	}
	t, err := e.Tree()
	if err != nil {
		return nil, false
	}
	list, _ := t["contained"].([]any)
	for _, c := range list {
		if m, ok := c.(map[string]any); ok && m["id"] == id {
			return m, true
		}
	}
	return nil, false
}

// compareVersions compares dotted versions numerically where both parts are
// numbers and textually otherwise.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == bs[i] {
			continue
		}
		var x, y int
		if _, err := fmt.Sscanf(as[i], "%d", &x); err == nil {
			if _, err := fmt.Sscanf(bs[i], "%d", &y); err == nil && x != y {
				if x < y {
					return -1
				}
				return 1
			}
		}
		return strings.Compare(as[i], bs[i])
	}
	return len(as) - len(bs)
}
