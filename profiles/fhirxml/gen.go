//go:build ignore

// Command gen writes shape-r4.txt.gz and shape-stu3.txt.gz, the element
// tables Decode uses to give XML
// input its JSON shape. It reads the base StructureDefinitions (snapshots) of
// one or more FHIR core packages and records, for every element path of every
// base type and resource, whether it repeats and which types it has. Only facts
// (paths, cardinalities, type names) are kept.
//
//	go run gen.go r4=../../../shared/corpus/hl7-fhir-core/4.0.1/package stu3=../../../shared/corpus/hl7-fhir-core/3.0.1/package
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type element struct {
	Path             string `json:"path"`
	Max              string `json:"max"`
	ContentReference string `json:"contentReference"`
	Type             []struct {
		Code      string `json:"code"`
		Extension []struct {
			URL      string `json:"url"`
			ValueURL string `json:"valueUrl"`
		} `json:"extension"`
	} `json:"type"`
}

type definition struct {
	ResourceType string `json:"resourceType"`
	Kind         string `json:"kind"`
	Derivation   string `json:"derivation"`
	Type         string `json:"type"`
	Snapshot     struct {
		Element []element `json:"element"`
	} `json:"snapshot"`
}

func main() {
	for _, arg := range os.Args[1:] {
		name, dir, ok := strings.Cut(arg, "=")
		if !ok {
			log.Fatalf("argument %q: want NAME=DIR", arg)
		}
		write("shape-"+name+".txt.gz", table(dir))
	}
}

func table(dir string) map[string]string {
	rows := map[string]string{}
	files, err := filepath.Glob(filepath.Join(dir, "StructureDefinition-*.json"))
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			log.Fatal(err)
		}
		var sd definition
		if err := json.Unmarshal(data, &sd); err != nil {
			log.Fatalf("%s: %v", f, err)
		}
		if sd.ResourceType != "StructureDefinition" || sd.Derivation == "constraint" || sd.Kind == "logical" {
			continue
		}
		for _, e := range sd.Snapshot.Element {
			if !strings.Contains(e.Path, ".") {
				continue
			}
			var types []string
			if e.ContentReference != "" {
				types = []string{"@" + strings.TrimPrefix(e.ContentReference, "#")}
			}
			for _, t := range e.Type {
				code := t.Code
				if strings.HasPrefix(code, "http://hl7.org/fhirpath/System.") || code == "" {
					code = "string"
					for _, x := range t.Extension {
						if strings.HasSuffix(x.URL, "structuredefinition-fhir-type") {
							code = x.ValueURL
						}
					}
				}
				types = append(types, code)
			}
			flag := "1"
			if e.Max != "1" && e.Max != "0" {
				flag = "*"
			}
			rows[e.Path] = flag + "\t" + strings.Join(types, ",")
		}
	}
	return rows
}

func write(name string, rows map[string]string) {
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out, err := os.Create(name)
	if err != nil {
		log.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(out, gzip.BestCompression)
	w := bufio.NewWriter(zw)
	for _, k := range keys {
		fmt.Fprintf(w, "%s\t%s\n", k, rows[k])
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := out.Close(); err != nil {
		log.Fatal(err)
	}
}
