package translator

import (
	"sync"
	"testing"

	"github.com/bcbench/bcbench/profiles/registry"
	"github.com/bcbench/bcbench/profiles/validator"
	"github.com/bcbench/bcbench/suites/profile"
	"github.com/bcbench/bcbench/suites/spec"
)

var (
	stu3Once sync.Once
	stu3V    spec.Validator
	stu3Err  error
)

// stu3 is the bench's validator with the STU3 packages embedded in the
// binary (MedMij Geboortezorg: bc-*, zib2017, nl-core), as a run loads it.
func stu3(t testing.TB) spec.Validator {
	t.Helper()
	stu3Once.Do(func() {
		var srcs []string
		if srcs, stu3Err = registry.Defaults("3.0.2"); stu3Err != nil {
			return
		}
		var v *validator.Validator
		v, stu3Err = validator.New(validator.Options{FHIRVersion: "3.0.2", Packages: srcs})
		stu3V = profile.Engine{V: v}
	})
	if stu3Err != nil {
		t.Fatal(stu3Err)
	}
	return stu3V
}
