package validator

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bcbench/bcbench/profiles/registry"
	"github.com/bcbench/bcbench/profiles/snapshot"
)

func TestZZSnap(t *testing.T) {
	if os.Getenv("ZZS") == "" {
		t.Skip()
	}
	root := corpus(t)
	dir := filepath.Join(root, "fhir-test-cases/validator")
	reg, err := registry.Load(registry.Options{}, filepath.Join(root, "hl7-fhir-core/4.0.1"), filepath.Join(dir, "document-structure.xml"), filepath.Join(dir, "document-section-library.xml"))
	if err != nil {
		t.Fatal(err)
	}
	els, err := snapshot.New(reg).Snapshot(os.Getenv("ZZS"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range els {
		fmt.Println(snapshot.ID(e), e["min"], e["patternCodeableConcept"] != nil)
	}
}
