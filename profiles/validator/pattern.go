package validator

// commentOnly are type profiles that a loaded package names but no loaded
// package defines, and whose definition is known to add documentation only
// (no element, cardinality, binding, invariant or target constraint). An
// element that names one is judged by its type and its targetProfiles, which
// the validator checks anyway; an information issue says so. Any other type
// profile that cannot be loaded stays undecided. A package that does define
// the profile wins: the table is used only when loading fails.
//
// pattern-NlCoreHealthProfessionalReference: the MP9 package (2.0.0-rc.7)
// names it on every author reference (MedicationRequest.requester,
// MedicationStatement.informationSource, ext-MedicationUse2.Prescriber …);
// it comes from its dependency nl-core 0.11.0-beta.1, which is not in the
// corpus. nl-core 0.12 (the zib2020 package the profiles pin) no longer has
// the profile: its source (Nictiz-R4-zib2020, fsh-input/zib/Patterns.fsh)
// keeps the pattern as a rule set that sets only ^comment ("sending systems
// should fill the reference to the PractitionerRole instance here"). The
// targetProfiles beside it (nl-core-HealthProfessional-PractitionerRole and
// the base types) carry the constraint. See docs/validation.md.
var commentOnly = map[string]string{
	"http://nictiz.nl/fhir/StructureDefinition/pattern-NlCoreHealthProfessionalReference": "nl-core 0.12 keeps this pattern as documentation only (a comment); the reference is judged by its type and target profiles",
}

// documentationOnly reports whether every profile in ps is a known
// documentation-only type profile, and the reason to print.
func documentationOnly(ps []string) (string, bool) {
	reason := ""
	for _, p := range ps {
		why, ok := commentOnly[p]
		if !ok {
			return "", false
		}
		reason = why
	}
	return reason, len(ps) > 0
}
