// Command pack builds the FHIR packages bcbench ships inside its binary from
// the folders of the shared reference corpus (../shared/corpus), in the
// standard FHIR package layout: a gzipped tar holding package/package.json,
// the package's licence and its conformance and terminology resources
// (StructureDefinition, ValueSet, CodeSystem, ConceptMap, NamingSystem,
// SearchParameter, CapabilityStatement, OperationDefinition,
// ImplementationGuide). Examples, fixtures, recipes and archives are left out.
//
// The output is reproducible: the same corpus gives byte-identical tarballs
// (names sorted, fixed modification time, owner and mode, gzip header
// without name or time), so the sha256 a certification profile pins can be
// checked by anyone who regenerates them. Run it with `go generate
// ./profiles/registry` or `make packages`; it also writes index.json, the
// list the registry reads (id, version, FHIR version, file, sha256).
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bcbench/bcbench/internal/shared"
)

// spec says how one package is put together from corpus folders.
type spec struct {
	// from are the corpus folders (relative to the corpus) whose resources
	// the package holds; sub-folders are searched, skipped ones excepted.
	from []string
	// manifest is the package.json to ship, verbatim (relative to the corpus).
	manifest string
	// licence is the licence file of the folder (relative to the corpus), or
	// "" when upstream has none and its package.json or resources state CC0:
	// then the CC0 legal code of ccText is shipped as the package's LICENSE.
	licence string
	// origin is one line on where the folder came from, for SOURCE.txt.
	origin string
	// fhirVersion is the package's FHIR version when its package.json does
	// not say (the STU3 core package predates fhirVersions).
	fhirVersion string
}

// ccText is the corpus file holding the CC0 1.0 legal code.
const ccText = "nictiz-r4-zib2020/LICENSE"

// packages are the packages shipped, in the registry's load order per FHIR
// version (core first, then the profiles that build on it).
var packages = []spec{
	{
		from:     []string{"hl7-fhir-core/4.0.1/package"},
		manifest: "hl7-fhir-core/4.0.1/package/package.json",
		origin:   "HL7 FHIR R4 core package hl7.fhir.r4.core 4.0.1 (via google/fhir spec/hl7.fhir.core/4.0.1/package); package.json states CC0-1.0",
	},
	{
		from:     []string{"nictiz-r4-zib2020/resources/zib"},
		manifest: "nictiz-r4-zib2020/resources/zib/package.json",
		licence:  "nictiz-r4-zib2020/LICENSE",
		origin:   "Nictiz/Nictiz-R4-zib2020 resources/zib at 63373ef1603d7b2df65baf5d778565ed02358fcb",
	},
	{
		from:     []string{"nictiz-r4-zib2020/resources/nl-core", "nictiz-r4-zib2020/SearchParameters"},
		manifest: "nictiz-r4-zib2020/resources/nl-core/package.json",
		licence:  "nictiz-r4-zib2020/LICENSE",
		origin:   "Nictiz/Nictiz-R4-zib2020 resources/nl-core and SearchParameters at 63373ef1603d7b2df65baf5d778565ed02358fcb",
	},
	{
		from:     []string{"nictiz-r4-mp9/Profiles", "nictiz-r4-mp9/CapabilityStatements", "nictiz-r4-mp9/OperationDefinitions", "nictiz-r4-mp9/SearchParameters"},
		manifest: "nictiz-r4-mp9/package.json",
		licence:  "nictiz-r4-mp9/LICENSE",
		origin:   "Nictiz/Nictiz-R4-MedicationProcess at ebb0b181aafe9e80e181eb0d337def59754c7435",
	},
	{
		from:     []string{"hl7-fhir-core/3.0.1/package"},
		manifest: "hl7-fhir-core/3.0.1/package/package.json",
		origin:   "HL7 FHIR STU3 core package hl7.fhir.core 3.0.1 (via google/fhir spec/hl7.fhir.core/3.0.1/package); package.json states CC0-1.0",
		// the package's StructureDefinitions say fhirVersion 3.0.1
		fhirVersion: "3.0.1",
	},
	{
		from:     []string{"nictiz-stu3-zib2017/Profiles - ZIB 2017"},
		manifest: "nictiz-stu3-zib2017/package.json",
		origin:   "Nictiz/Nictiz-STU3-Zib2017 \"Profiles - ZIB 2017\" at 4d8bdbed5d4c3438f9ac2fdcdf41e67dc2f4af6c; package.json states CC0-1.0",
	},
	{
		from:     []string{"nictiz-stu3-geboortezorg/profiles"},
		manifest: "nictiz-stu3-geboortezorg/profiles/package.json",
		origin:   "Nictiz/Geboortezorg-STU3 profiles at 16e327674a176788c8e26fb4aa3fc300754af9ff; every StructureDefinition states copyright CC0",
	},
}

// kept are the resource types a package keeps.
var kept = map[string]bool{
	"StructureDefinition": true, "ValueSet": true, "CodeSystem": true, "ConceptMap": true, "NamingSystem": true,
	"SearchParameter": true, "CapabilityStatement": true, "OperationDefinition": true, "ImplementationGuide": true,
}

// skipped are folder names not searched: instances, not definitions.
var skipped = map[string]bool{"examples": true, "example": true, "archive": true, "recipes": true, "wikigen": true, "node_modules": true, ".git": true}

// epoch is the modification time of every tar entry (as npm packs).
var epoch = time.Date(1985, 10, 26, 8, 15, 0, 0, time.UTC)

// Entry is one line of index.json.
type Entry struct {
	ID          string `json:"id"`
	Version     string `json:"version"`
	FHIRVersion string `json:"fhirVersion"`
	File        string `json:"file"`
	SHA256      string `json:"sha256"`
	Size        int    `json:"size"`
	Resources   int    `json:"resources"`
	License     string `json:"license"`
}

func main() {
	corpus := flag.String("corpus", "", "the shared corpus folder (default: shared/corpus in a parent directory)")
	out := flag.String("out", "packages", "folder to write the tarballs and index.json to")
	flag.Parse()
	if err := run(*corpus, *out); err != nil {
		fmt.Fprintln(os.Stderr, "pack:", err)
		os.Exit(1)
	}
}

func run(corpus, out string) error {
	if corpus == "" {
		c, ok := shared.Find()
		if !ok {
			return errors.New("no shared/corpus in a parent directory; give -corpus")
		}
		corpus = c
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	cc0, err := os.ReadFile(filepath.Join(corpus, ccText))
	if err != nil {
		return fmt.Errorf("read the CC0 legal code: %w", err)
	}
	var index []Entry
	for _, s := range packages {
		e, data, err := build(corpus, s, cc0)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, e.File), data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", e.File, err)
		}
		fmt.Printf("%s#%s  FHIR %s  %d resources  %d bytes  sha256 %s\n", e.ID, e.Version, e.FHIRVersion, e.Resources, e.Size, e.SHA256)
		index = append(index, e)
	}
	data, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "index.json"), append(data, '\n'), 0o644)
}

// manifest is the part of package.json the index needs.
type manifest struct {
	Name         string   `json:"name"`
	Version      string   `json:"version"`
	License      string   `json:"license"`
	FHIRVersions []string `json:"fhirVersions"`
	VersionList  []string `json:"fhir-version-list"`
}

// build packs one package and returns its index line and the tarball.
func build(corpus string, s spec, cc0 []byte) (Entry, []byte, error) {
	raw, err := os.ReadFile(filepath.Join(corpus, s.manifest))
	if err != nil {
		return Entry{}, nil, fmt.Errorf("read %s: %w", s.manifest, err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return Entry{}, nil, fmt.Errorf("read %s: %w", s.manifest, err)
	}
	if m.Name == "" || m.Version == "" {
		return Entry{}, nil, fmt.Errorf("%s: name and version are required", s.manifest)
	}
	fhir := append(append([]string{}, m.FHIRVersions...), m.VersionList...)
	if s.fhirVersion != "" {
		fhir = []string{s.fhirVersion}
	}
	if len(fhir) == 0 {
		return Entry{}, nil, fmt.Errorf("%s: no FHIR version", s.manifest)
	}
	files := map[string][]byte{"package/package.json": raw}
	licence := cc0
	if s.licence != "" {
		if licence, err = os.ReadFile(filepath.Join(corpus, s.licence)); err != nil {
			return Entry{}, nil, fmt.Errorf("read the licence: %w", err)
		}
	}
	files["package/LICENSE"] = licence
	files["package/SOURCE.txt"] = []byte(fmt.Sprintf("%s#%s\nPacked by bcbench (profiles/registry/internal/pack) from the corpus folder(s) %s.\nUpstream: %s.\nLicence: CC0 1.0 Universal (LICENSE).\n",
		m.Name, m.Version, strings.Join(s.from, ", "), s.origin))
	resources := 0
	for _, dir := range s.from {
		root := filepath.Join(corpus, dir)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root && skipped[strings.ToLower(d.Name())] {
					return filepath.SkipDir
				}
				return nil
			}
			base := d.Name()
			low := strings.ToLower(base)
			if !strings.HasSuffix(low, ".json") && !strings.HasSuffix(low, ".xml") || low == "package.json" {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rt, err := resourceType(data)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if !kept[rt] {
				return nil
			}
			name := "package/" + base
			if _, dup := files[name]; dup {
				return fmt.Errorf("%s: a second file named %s in package %s", p, base, m.Name)
			}
			files[name] = data
			resources++
			return nil
		})
		if err != nil {
			return Entry{}, nil, fmt.Errorf("pack %s#%s: %w", m.Name, m.Version, err)
		}
	}
	data, err := tarball(files)
	if err != nil {
		return Entry{}, nil, fmt.Errorf("pack %s#%s: %w", m.Name, m.Version, err)
	}
	sum := sha256.Sum256(data)
	return Entry{
		ID: m.Name, Version: m.Version, FHIRVersion: fhir[0], File: m.Name + "-" + m.Version + ".tgz",
		SHA256: hex.EncodeToString(sum[:]), Size: len(data), Resources: resources, License: "CC0-1.0",
	}, data, nil
}

// tarball writes files, sorted by name, as a reproducible gzipped tar.
func tarball(files map[string][]byte) ([]byte, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	for _, n := range names {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: n, Size: int64(len(files[n])), Mode: 0o644, ModTime: epoch, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// resourceType reads the resource type of a JSON or XML FHIR resource ("" for
// a file that is not one).
func resourceType(data []byte) (string, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return "", nil
	}
	if t[0] == '{' {
		var h struct {
			ResourceType string `json:"resourceType"`
		}
		if err := json.Unmarshal(t, &h); err != nil {
			return "", fmt.Errorf("not valid JSON: %w", err)
		}
		return h.ResourceType, nil
	}
	dec := xml.NewDecoder(bytes.NewReader(t))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("not valid XML: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Space != "http://hl7.org/fhir" {
				return "", nil
			}
			return se.Name.Local, nil
		}
	}
}
