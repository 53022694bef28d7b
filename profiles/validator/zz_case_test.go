package validator

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bcbench/bcbench/internal/shared"
	"github.com/bcbench/bcbench/profiles/registry"
)

func TestZZCase(t *testing.T) {
	names := strings.Split(os.Getenv("ZZ"), ",")
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	root := corpus(t)
	dir, cases := shared.Manifest(t)
	for _, c := range cases {
		want := false
		for _, n := range names {
			if c.Name == n {
				want = true
			}
		}
		if !want {
			continue
		}
		k := "4.0.1"
		if strings.HasPrefix(c.Version, "3.") {
			k = "3.0.1"
		}
		core, _ := registry.Load(registry.Options{}, filepath.Join(root, "hl7-fhir-core", k))
		var files []string
		for _, s := range append(append([]string{}, c.Supporting...), c.Profiles...) {
			files = append(files, filepath.Join(dir, s))
		}
		input, _ := os.ReadFile(filepath.Join(dir, c.File))
		v, err := manifestValidator(core, k, files)
		if err != nil {
			t.Fatal(err)
		}
		out := v.Validate(context.Background(), input, Request{HL7Policy: true})
		fmt.Printf("=== %s base\n%s\n", c.Name, out.Text())
		if c.Profile != nil && c.Profile.Source != "" {
			for _, s := range profileFiles(c) {
				files = append(files, filepath.Join(dir, s))
			}
			v, err := manifestValidator(core, k, files)
			if err != nil {
				t.Fatal(err)
			}
			out := v.Validate(context.Background(), input, Request{HL7Policy: true, Profiles: []string{profileURL(filepath.Join(dir, c.Profile.Source))}})
			fmt.Printf("=== %s profile\n%s\n", c.Name, out.Text())
		}
	}
}
