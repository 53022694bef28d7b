package txtest

// Value sets of the Nictiz packages that the reference XIS's codes are bound to.
const (
	vsRoute    = "http://decor.nictiz.nl/fhir/ValueSet/2.16.840.1.113883.2.4.3.11.60.40.2.9.12.1--20200901000000"
	vsUnit     = "http://decor.nictiz.nl/fhir/ValueSet/2.16.840.1.113883.2.4.3.11.60.20.77.11.27--20160830202453"
	vsLab      = "http://nictiz.nl/fhir/ValueSet/TestCode-en-Onderzoek-Codelijsten"
	vsReferral = "http://decor.nictiz.nl/fhir/ValueSet/2.16.840.1.113883.2.4.3.11.60.121.11.19--20200901000000"
	loinc      = "http://loinc.org"
	snomed     = "http://snomed.info/sct"
)

// ReferenceXIS is the fixed data for the codes the reference XIS publishes
// in the golden scenarios whose membership the FHIR packages cannot decide
// offline (G-Standaard routes and units, LOINC lab tests, SNOMED CT
// referral codes), answered as the national terminology server would. It
// is test data: the bench's own decisions offline come from the
// membership table in profiles/terminology, never from here.
func ReferenceXIS() Data {
	d := Data{Codes: map[string]map[string]string{
		loinc:  {"718-7": "Hemoglobin [Mass/volume] in Blood", "883-9": "ABO group [Type] in Blood"},
		snomed: {"3457005": "verwijzing van patiënt", "308292007": "overdracht van zorg"},
	}}
	for _, c := range []string{"9", "21"} {
		d.Members = append(d.Members, Member{ValueSet: vsRoute, System: "urn:oid:2.16.840.1.113883.2.4.4.9", Code: c})
	}
	d.Members = append(d.Members, Member{ValueSet: vsUnit, System: "urn:oid:2.16.840.1.113883.2.4.4.1.900.2", Code: "245"})
	// 14771-0 (fasting glucose) is no code of the scenarios and not in the
	// membership table: tests use it where only the server can decide.
	for _, c := range []string{"718-7", "883-9", "1305-2", "14749-6", "14771-0"} {
		d.Members = append(d.Members, Member{ValueSet: vsLab, System: loinc, Code: c})
	}
	for _, c := range []string{"308292007", "3457005"} {
		d.Members = append(d.Members, Member{ValueSet: vsReferral, System: snomed, Code: c})
	}
	// A code the server knows is not a referral, for tests of NotMember.
	d.Members = append(d.Members, Member{ValueSet: vsReferral, System: snomed, Code: "73211009", Out: true})
	return d
}
