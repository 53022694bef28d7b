package xis

import (
	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
)

// Partial defects that only the receiver of a transfer of the seeds sees
// (OVD-*, judged in the chain profile zelftest-keten, where the bench plays
// the hospital and the JGZ): each touches one fact of one client of one
// scenario. Each is published on time and on the right type, code and day,
// so the clock counts it as arrived (TIJ-01 passes); in a one-XIS profile
// the content specs (INH-*) would see them too, which is why TestMutants
// judges them in the chain profile only.
func init() {
	Mutants = append(Mutants, transferMutants...)
}

var transferMutants = []Mutant{
	{
		Name: "spoed-rhesus-omgedraaid", Violates: []string{"OVD-01"},
		Description: "bij de acute verwijzing (spoedsectio) vindt het ziekenhuis via de index de rhesus-D-uitslag van de cliënt omgedraaid: D-negatief in plaats van D-positief",
		change: func(reg fixtures.Registration, rs []map[string]any) []map[string]any {
			if reg.Scenario != "spoedsectio" || reg.Kind != fixtures.Lab {
				return rs
			}
			for _, r := range rs {
				if r["resourceType"] == "Observation" && hasCode(r, fixtures.CodeRhD.Code) {
					r["valueCodeableConcept"] = map[string]any{"coding": []any{map[string]any{
						"system": fixtures.RhDNegative.System, "code": fixtures.RhDNegative.Code, "display": fixtures.RhDNegative.Display}}}
				}
			}
			return rs
		},
	},
	{
		// Still an Observation with the Apgar code on the day of birth, so
		// it has arrived; but the JGZ cannot import a text as a score.
		Name: "jgz-apgar-als-tekst", Violates: []string{"OVD-02"},
		Description: "de apgarscore na 5 minuten van Finn (overdracht-jgz) staat als vrije tekst in de waarneming (\"tien\") in plaats van als getal, zodat de JGZ hem niet gestructureerd overneemt",
		change: func(reg fixtures.Registration, rs []map[string]any) []map[string]any {
			if reg.Scenario != "overdracht-jgz" || reg.Subject == nil {
				return rs
			}
			child := truth.PatientID(reg.Subject.BSN)
			for _, r := range rs {
				if r["resourceType"] == "Observation" && hasCode(r, fixtures.CodeApgar5.Code) && patientOf(r) == child {
					delete(r, "valueInteger")
					r["valueString"] = "tien"
				}
			}
			return rs
		},
	},
	{
		Name: "jgz-aanvulling-oude-waarde", Violates: []string{"OVD-03"},
		Description: "de voeding die de kraamzorg na de overdracht aan de JGZ vastlegt (kunstvoeding), publiceert het XIS met de eerder overgedragen waarde (moedermelk)",
		change: func(reg fixtures.Registration, rs []map[string]any) []map[string]any {
			if reg.Scenario != "overdracht-jgz" || reg.Event != "e08b-kraamzorg-update" {
				return rs
			}
			for _, r := range rs {
				if r["resourceType"] != "Observation" || !hasCode(r, fixtures.CodeFeeding.Code) {
					continue
				}
				for _, c := range asList(r["component"]) {
					comp, _ := c.(map[string]any)
					if comp != nil && hasCode(comp, fixtures.CodeFeedingType.Code) {
						comp["valueCodeableConcept"] = map[string]any{"coding": []any{map[string]any{
							"system": fixtures.BreastMilk.System, "code": fixtures.BreastMilk.Code, "display": fixtures.BreastMilk.Display}}}
					}
				}
			}
			return rs
		},
	},
}
