package translator

import (
	"fmt"
	"strings"

	"github.com/bcbench/bcbench/fixtures"
)

// legacyRule is how one element of the PWD 2.x verloskundig dossier (the
// legacy export a XIS hands a translator) becomes an Observation, and back.
type legacyRule struct {
	path    string            // below the transaction root; "baring/…" is below uitkomst_per_kind/baring
	profile string            // STU3 profile (MedMij Geboortezorg)
	codes   []fixtures.Coding // Observation.code codings, the first is the one compared
	kind    string            // int, quantity, code, date, bool, enum:<name>, bp, feeding
	child   bool              // about the child of the baring when she is identified
}

// legacyRules follow ADAPath in fixtures/truth: every element the legacy
// form has and MedMij Geboortezorg STU3 has a profile for.
var legacyRules = []legacyRule{
	{"zwangerschap/graviditeit", "zib-Pregnancy-Gravidity", []fixtures.Coding{{System: loinc, Code: "11996-6"}, fixtures.CodeGravidity}, "int", false},
	{"zwangerschap/pariteit_voor_deze_zwangerschap", "zib-Pregnancy-Parity", []fixtures.Coding{{System: loinc, Code: "11977-6"}, fixtures.CodeParity}, "int", false},
	{"zwangerschap/pariteit", "zib-Pregnancy-Parity", []fixtures.Coding{{System: loinc, Code: "11977-6"}, fixtures.CodeParity}, "int", false},
	{"zwangerschap/a_terme_datum_groep/a_terme_datum", "bc-PregnancyObservation", []fixtures.Coding{fixtures.CodeEDD}, "date", false},
	{"zwangerschap/prenatale_controle/zwangerschapsduur", "zib-Pregnancy-PregnancyDuration", []fixtures.Coding{fixtures.CodePregnancyDuration}, "quantity", false},
	{"zwangerschap/prenatale_controle/bloeddruk", "zib-BloodPressure", []fixtures.Coding{fixtures.CodeBloodPressure}, "bp", false},
	{"zwangerschap/prenatale_controle/gewicht_gemeten", "zib-BodyWeight", []fixtures.Coding{fixtures.CodeBodyWeight}, "quantity", false},
	{lab + "/psie/bloedgroep_vrouw", "zib-LaboratoryTestResult-Observation", []fixtures.Coding{fixtures.CodeABO}, "code", false},
	{lab + "/psie/rhesus_d_factor_vrouw", "zib-LaboratoryTestResult-Observation", []fixtures.Coding{fixtures.CodeRhD}, "code", false},
	{lab + "/psie/irregulaire_antistoffenq", "zib-LaboratoryTestResult-Observation", []fixtures.Coding{fixtures.CodeAntibodyScreen}, "bool", false},
	{lab + "/hb", "zib-LaboratoryTestResult-Observation", []fixtures.Coding{fixtures.CodeHb}, "quantity", false},
	{lab + "/diabetes_diagnostiek/glucose/glucose", "zib-LaboratoryTestResult-Observation", []fixtures.Coding{fixtures.CodeGlucose}, "quantity", false},
	{"bevalling/aantal_geboren_kinderen", "bc-DeliveryObservation", []fixtures.Coding{fixtures.CodeChildrenBorn}, "int", false},
	{"bevalling/wijze_waarop_de_baring_begon", "bc-DeliveryObservation", []fixtures.Coding{fixtures.CodeLabourOnsetMode}, "enum:onset", false},
	{"bevalling/tijdstip_begin_actieve_ontsluiting", "bc-DeliveryObservation", []fixtures.Coding{fixtures.CodeLabourOnsetDate}, "date", false},
	{"bevalling/hoeveelheid_bloedverlies", "bc-DeliveryObservation", []fixtures.Coding{fixtures.CodeBloodLoss}, "quantity", false},
	{"baring/kindspecifieke_uitkomstgegevens/type_partus", "bc-BirthObservation", []fixtures.Coding{fixtures.CodeModeOfBirth}, "code", true},
	{"baring/kindspecifieke_uitkomstgegevens/zwangerschapsduur", "zib-Pregnancy-PregnancyDuration", []fixtures.Coding{fixtures.CodePregnancyDuration}, "quantity", true},
	{"baring/kindspecifieke_uitkomstgegevens/lichamelijk_onderzoek_kind/geboortegewicht", "bc-ChildObservation", []fixtures.Coding{fixtures.CodeBirthWeight}, "quantity", true},
	{"baring/kindspecifieke_uitkomstgegevens/lichamelijk_onderzoek_kind/apgarscore_na_1_min", "zib-ApgarScore", []fixtures.Coding{fixtures.CodeApgar1}, "int", true},
	{"baring/kindspecifieke_uitkomstgegevens/lichamelijk_onderzoek_kind/apgarscore_na_5_min", "zib-ApgarScore", []fixtures.Coding{fixtures.CodeApgar5}, "int", true},
	{"baring/kindspecifieke_uitkomstgegevens/vitamine_kq", "bc-VitaminKAdministration", []fixtures.Coding{fixtures.CodeVitaminK}, "bool", true},
	{"postnatale_fase/kindspecifieke_gegevens/voeding_kind_groep", "bc-FeedingPatternInfant", []fixtures.Coding{fixtures.CodeFeeding}, "feeding", true},
}

const lab = "medisch_onderzoek/maternale_onderzoeksgegevens/urine_bloed_en_aanvullende_onderzoeken"

// legacyEnums are the PWD 2.3 codelists whose values are not the FHIR codes.
var legacyEnums = map[string]map[string]fixtures.Coding{
	"onset":   {"1": fixtures.OnsetSpontaneous, "2": fixtures.OnsetRupture, "3": fixtures.OnsetInduced},
	"feeding": {"1": fixtures.BreastMilk, "2": fixtures.Formula},
}

// legacySex is geslacht_medische_observatie → FHIR administrative gender.
var legacySex = map[string]string{"1": "male", "2": "female", "3": "other", "UNK": "unknown"}

// elements returns the nodes at a rule path (all repetitions of the last
// step, below every repetition of the steps before).
func elements(n *Node, path string) []*Node {
	nodes := []*Node{n}
	for _, step := range strings.Split(path, "/") {
		var next []*Node
		for _, m := range nodes {
			next = append(next, m.All(step)...)
		}
		nodes = next
	}
	return nodes
}

// legacy translates the PWD 2.x forms: the bench's verloskundig dossier
// (fixtures/truth ADA), the kernset aanleverbericht and Babyconnect prio 1.
func legacy(tx *Node, b *builder) error {
	when := fhirDate(tx.Get("transactionEffectiveDate"))
	v := tx.Child("vrouw")
	if v == nil {
		return fmt.Errorf("no <vrouw>: the woman is the subject of every legacy transaction")
	}
	mother := map[string]any{"resourceType": "Patient", "meta": map[string]any{"profile": []any{nlCoreSD + "nl-core-patient", nictizSD + "bc-Woman"}}, "gender": "female"}
	if tx.Name == "kernset_aanleverbericht" || tx.Name == "prio1_huidig" {
		mother = map[string]any{"resourceType": "Patient", "meta": profileMeta("nl-core-patient")}
	}
	if bsn := v.Child("burgerservicenummer"); bsn != nil {
		mother["identifier"] = []any{maskedBSN()}
	}
	if d := v.Child("geboortedatum").Get("value"); d != "" {
		mother["birthDate"] = birthDate(d)
	}
	b.add(mother)
	b.mother = mother["id"].(string)
	barings := elements(tx, "uitkomst_per_kind/baring")
	// The child of a child's registration: the one baring that names her.
	var child string
	for _, br := range barings {
		d := br.Child("demografische_gegevens")
		if d.Path("identificaties_kind/bsn_kind") == nil && d.Child("geboortedatum") == nil {
			continue
		}
		p := map[string]any{"resourceType": "Patient", "meta": profileMeta("nl-core-patient")}
		if d.Path("identificaties_kind/bsn_kind") != nil {
			p["identifier"] = []any{maskedBSN()}
		}
		if g := legacySex[d.Child("geslacht_medische_observatie").Get("value")]; g != "" {
			p["gender"] = g
		}
		if bd := d.Child("geboortedatum").Get("value"); bd != "" {
			p["birthDate"] = birthDate(bd)
		}
		b.add(p)
		if child == "" {
			child = p["id"].(string)
		}
	}
	delivered := false
	b.add(map[string]any{"resourceType": "Condition", "meta": profileMeta("zib-Pregnancy"), "clinicalStatus": "active", "code": code(snomed, fixtures.CodePregnancy.Code), "subject": ref("Patient", b.mother)})
	for _, r := range legacyRules {
		var nodes []*Node
		if rel, ok := strings.CutPrefix(r.path, "baring/"); ok {
			for _, br := range barings {
				nodes = append(nodes, elements(br, rel)...)
			}
		} else {
			nodes = elements(tx, r.path)
		}
		subject := b.mother
		if r.child && child != "" {
			subject = child
		}
		for _, n := range nodes {
			if r.profile == "bc-DeliveryObservation" && !delivered {
				// the delivery the delivery observations are about
				delivered = true
				b.add(map[string]any{"resourceType": "Procedure", "meta": profileMeta("bc-DeliveryProcedure"), "status": "completed",
					"code": code(snomed, "236973005"), "subject": ref("Patient", b.mother), "performedPeriod": map[string]any{"start": firstN(when, 10)}})
			}
			if err := b.legacyObservation(r, n, subject, when); err != nil {
				return fmt.Errorf("%s: %w", r.path, err)
			}
		}
	}
	return nil
}

func maskedBSN() map[string]any {
	return map[string]any{"system": bsnURI, "_value": map[string]any{"extension": []any{map[string]any{
		"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "masked"}}}}
}

func (b *builder) legacyObservation(r legacyRule, n *Node, subject, when string) error {
	codings := make([]any, len(r.codes))
	for i, c := range r.codes {
		codings[i] = map[string]any{"system": c.System, "code": c.Code}
	}
	profiles := []any{nlCoreSD + "nl-core-observation", nictizSD + r.profile}
	if r.profile == "zib-LaboratoryTestResult-Observation" {
		profiles = []any{nictizSD + r.profile}
	}
	o := b.add(map[string]any{"resourceType": "Observation", "meta": map[string]any{"profile": profiles}, "status": "final",
		"code": map[string]any{"coding": codings}, "subject": ref("Patient", subject), "effectiveDateTime": when})
	if nf := n.Get("nullFlavor"); nf != "" {
		o["dataAbsentReason"] = absent(nf)
		return nil
	}
	val := n.Get("value")
	switch kind, enum, _ := strings.Cut(r.kind, ":"); kind {
	case "int":
		if !isInt(val) {
			return fmt.Errorf("value %q is not a whole number", val)
		}
		o["valueQuantity"] = map[string]any{"value": number(val)}
	case "quantity":
		if n.Get("unit") == "" {
			return fmt.Errorf("value %q has no unit", val)
		}
		o["valueQuantity"] = quantity(val, n.Get("unit"))
	case "code":
		if c := coding(n); c != nil && n.Get("codeSystem") != "" {
			o["valueCodeableConcept"] = concept(c) // PWD 2.2: value is the codelist index
			break
		}
		o["valueCodeableConcept"] = concept(map[string]any{"system": snomed, "code": val})
	case "enum":
		c, ok := legacyEnums[enum][val]
		if !ok {
			return fmt.Errorf("value %q is not in the PWD codelist", val)
		}
		o["valueCodeableConcept"] = concept(map[string]any{"system": c.System, "code": c.Code})
	case "date":
		o["valueDateTime"] = fhirDate(val)
	case "bool":
		if val != "true" && val != "false" {
			return fmt.Errorf("value %q is not true or false", val)
		}
		o["valueBoolean"] = val == "true"
	case "bp":
		var comps []any
		for _, c := range []struct {
			el string
			cd fixtures.Coding
		}{{"bloeddruk_systolisch", fixtures.CodeSystolic}, {"bloeddruk_diastolisch", fixtures.CodeDiastolic}} {
			k := n.Child(c.el)
			if k == nil || k.Get("unit") == "" {
				return fmt.Errorf("%s missing or without a unit", c.el)
			}
			comps = append(comps, map[string]any{"code": code(c.cd.System, c.cd.Code), "valueQuantity": quantity(k.Get("value"), k.Get("unit"))})
		}
		o["component"] = comps
	case "feeding":
		c, ok := legacyEnums["feeding"][n.Child("substantie_voeding_kind").Get("value")]
		if !ok {
			return fmt.Errorf("substantie_voeding_kind %q is not in the PWD codelist", n.Child("substantie_voeding_kind").Get("value"))
		}
		o["component"] = []any{map[string]any{"code": code(fixtures.CodeFeedingType.System, fixtures.CodeFeedingType.Code), "valueCodeableConcept": concept(map[string]any{"system": c.System, "code": c.Code})}}
	}
	return nil
}
