package validator

import (
	"github.com/bcbench/bcbench/internal/shared"
	"path/filepath"
	"sync"
	"testing"
)

// corpus finds ../shared/corpus by walking up from the working directory.
func corpus(t testing.TB) string {
	return shared.Corpus(t, "corpus tests need the shared reference data")
}

var (
	r4Once sync.Once
	r4V    *Validator
	r4Err  error
	s3Once sync.Once
	s3V    *Validator
	s3Err  error
)

// r4 returns a validator with R4 core, zib2020/nl-core and MP9, shared by the tests.
func r4(t testing.TB) *Validator {
	root := corpus(t)
	r4Once.Do(func() {
		r4V, r4Err = New(Options{FHIRVersion: "4.0.1", Packages: []string{
			filepath.Join(root, "hl7-fhir-core/4.0.1"),
			filepath.Join(root, "nictiz-r4-zib2020/resources"),
			filepath.Join(root, "nictiz-r4-mp9"),
		}})
	})
	if r4Err != nil {
		t.Fatal(r4Err)
	}
	return r4V
}

// stu3 returns a validator with STU3 core, zib2017 and the birth-care profiles.
func stu3(t testing.TB) *Validator {
	root := corpus(t)
	s3Once.Do(func() {
		s3V, s3Err = New(Options{FHIRVersion: "3.0.1", Packages: []string{
			filepath.Join(root, "hl7-fhir-core/3.0.1"),
			filepath.Join(root, "nictiz-stu3-zib2017"),
			filepath.Join(root, "nictiz-stu3-geboortezorg"),
		}})
	})
	if s3Err != nil {
		t.Fatal(s3Err)
	}
	return s3V
}
