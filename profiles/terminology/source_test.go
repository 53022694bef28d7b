package terminology

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/bcbench/bcbench/internal/shared"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bcbench/bcbench/profiles/fhirxml"
)

// mapSource is a Source over a map, keyed by "url" and "url|version".
type mapSource map[string]map[string]any

func (m mapSource) Resource(canonical string) (map[string]any, bool) {
	r, ok := m[canonical]
	return r, ok
}

func (m mapSource) add(res map[string]any) {
	url := str(res, "url")
	if url == "" {
		return
	}
	m[url] = res
	if v := str(res, "version"); v != "" {
		m[url+"|"+v] = res
	}
}

// corpusDir finds shared/corpus by walking up from the working directory.
func corpusDir(t testing.TB) string {
	return shared.Corpus(t, "corpus tests need the reference corpus")
}

type loaded struct {
	once sync.Once
	src  mapSource
	err  error
}

var (
	r4Corpus   loaded
	stu3Corpus loaded
)

// corpus loads the ValueSets and CodeSystems of the HL7 R4 core package
// (JSON) and of Nictiz zib2020 / nl-core and MP9 (XML) into one map.
func corpus(t testing.TB) mapSource {
	t.Helper()
	root := corpusDir(t)
	return r4Corpus.load(t, filepath.Join(root, "hl7-fhir-core", "4.0.1", "package"),
		filepath.Join(root, "nictiz-r4-zib2020", "resources"),
		filepath.Join(root, "nictiz-r4-mp9", "Profiles", "terminology"))
}

// corpusSTU3 loads HL7 STU3 core (JSON) and Nictiz zib2017 and birth care
// (XML) terminology.
func corpusSTU3(t testing.TB) mapSource {
	t.Helper()
	root := corpusDir(t)
	return stu3Corpus.load(t, filepath.Join(root, "hl7-fhir-core", "3.0.1", "package"),
		filepath.Join(root, "nictiz-stu3-zib2017"),
		filepath.Join(root, "nictiz-stu3-geboortezorg"))
}

func (l *loaded) load(t testing.TB, jsonDir string, xmlRoots ...string) mapSource {
	t.Helper()
	l.once.Do(func() {
		l.src = mapSource{}
		l.err = l.loadJSON(jsonDir)
		for _, r := range xmlRoots {
			if l.err == nil {
				l.err = l.loadXML(r)
			}
		}
	})
	if l.err != nil {
		t.Fatalf("loading corpus terminology: %v", l.err)
	}
	return l.src
}

func (l *loaded) loadJSON(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	for _, f := range files {
		base := filepath.Base(f)
		if !strings.HasPrefix(base, "ValueSet-") && !strings.HasPrefix(base, "CodeSystem-") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var res map[string]any
		if err := dec.Decode(&res); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		l.src.add(res)
	}
	return nil
}

func (l *loaded) loadXML(root string) error {
	return filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".xml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		head := data[:min(len(data), 512)]
		if !bytes.Contains(head, []byte("<ValueSet")) && !bytes.Contains(head, []byte("<CodeSystem")) {
			return nil
		}
		res, err := fhirxml.Decode(data)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if rt := str(res, "resourceType"); rt == "ValueSet" || rt == "CodeSystem" {
			l.src.add(res)
		}
		return nil
	})
}
