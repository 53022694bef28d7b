package terminology

import (
	"bytes"
	"encoding/json"
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
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getting working directory: %v", err)
	}
	for {
		c := filepath.Join(dir, "shared", "corpus")
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no shared/corpus above the working directory; corpus tests need the reference corpus")
		}
		dir = parent
	}
}

var (
	corpusOnce sync.Once
	corpusSrc  mapSource
	corpusErr  error
)

// corpus loads the ValueSets and CodeSystems of the HL7 R4 core package
// (JSON) and of Nictiz zib2020 / nl-core (XML) into one map.
func corpus(t testing.TB) mapSource {
	t.Helper()
	root := corpusDir(t)
	corpusOnce.Do(func() {
		src := mapSource{}
		core := filepath.Join(root, "hl7-fhir-core", "4.0.1", "package")
		files, err := filepath.Glob(filepath.Join(core, "*.json"))
		if err != nil {
			corpusErr = err
			return
		}
		for _, f := range files {
			base := filepath.Base(f)
			if !strings.HasPrefix(base, "ValueSet-") && !strings.HasPrefix(base, "CodeSystem-") {
				continue
			}
			data, err := os.ReadFile(f)
			if err != nil {
				corpusErr = err
				return
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			var res map[string]any
			if err := dec.Decode(&res); err != nil {
				corpusErr = err
				return
			}
			src.add(res)
		}
		nictiz := filepath.Join(root, "nictiz-r4-zib2020", "resources")
		corpusErr = filepath.WalkDir(nictiz, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.Contains(path, string(filepath.Separator)+"terminology"+string(filepath.Separator)) || !strings.HasSuffix(path, ".xml") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			res, err := fhirxml.Decode(data)
			if err != nil {
				return err
			}
			src.add(res)
			return nil
		})
		corpusSrc = src
	})
	if corpusErr != nil {
		t.Fatalf("loading corpus terminology: %v", corpusErr)
	}
	return corpusSrc
}
