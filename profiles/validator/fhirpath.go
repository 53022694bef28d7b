package validator

// newInvariantEngine returns the FHIRPath engine for invariants.
func newInvariantEngine(v *Validator) invariantEngine { return nil }
