package xis

import (
	"strings"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
)

// roleCode is the HL7 v3 RoleCode system; MTH is "mother".
const roleCode = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

// motherOf is the RelatedPerson that links a newborn to her mother: the
// mother as a contact person (zib2020 ContactPerson, nl-core-ContactPerson)
// of the child's own Patient, identified by her BSN. A viewer that holds the
// mother's record finds her children with
// RelatedPerson?identifier=http://fhir.nl/fhir/NamingSystem/bsn|<her BSN>:
// each answer's patient is a child's Patient. The resource belongs to the
// child's record, so the mother's consent and deletion cover it.
func motherOf(mother, child fixtures.Client) map[string]any {
	name := strings.TrimSpace(mother.Given + " " + mother.Family)
	childName := strings.TrimSpace(child.Given + " " + child.Family)
	return map[string]any{
		"resourceType": "RelatedPerson",
		"id":           truth.ID("RelatedPerson|mother|" + child.BSN),
		"meta":         map[string]any{"profile": []any{fixtures.Nictiz + "nl-core-ContactPerson"}},
		"active":       true,
		"patient":      map[string]any{"reference": "Patient/" + truth.PatientID(child.BSN), "type": "Patient", "display": childName},
		"identifier":   []any{map[string]any{"system": fixtures.BSNSystem, "value": mother.BSN}},
		"relationship": []any{map[string]any{"coding": []any{map[string]any{"system": roleCode, "code": "MTH", "display": "moeder"}}}},
		"name":         []any{map[string]any{"use": "official", "text": name, "family": mother.Family, "given": []any{mother.Given}}},
	}
}
