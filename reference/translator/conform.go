package translator

import "strings"

// Elements the target profiles require beyond the facts (docs/translator.md,
// VRT-06): the category of vital signs and laboratory results, and the
// delivery a bc-DeliveryObservation is about.
var (
	vitalSigns  = concept(map[string]any{"system": "http://hl7.org/fhir/observation-category", "code": "vital-signs", "display": "Vital Signs"})
	labFinding  = concept(map[string]any{"system": snomed, "code": "49581000146104", "display": "laboratoriumbevinding"})
	focusSTU3   = nictizSD + "observation-focusSTU3"
	obstetric   = concept(map[string]any{"system": snomed, "code": "386637004", "display": "obstetrische verrichting"})
	vitalByZib  = []string{"zib-BloodPressure", "zib-BodyWeight", "zib-BodyHeight", "zib-BodyTemperature", "zib-HeadCircumference", "zib-HeartRate", "zib-PulseRate", "zib-RespiratoryRate", "zib-O2Saturation"}
	deliveryObs = "bc-DeliveryObservation"
	// profileCodes are the codings a profile's code slice requires beside
	// a more specific code (a birth weight 8339-4 is also a body weight
	// 29463-7), as Nictiz's own instances carry them.
	profileCodes = map[string]map[string]any{
		"zib-BodyWeight":                     {"system": loinc, "code": "29463-7"},
		"zib-BodyHeight":                     {"system": loinc, "code": "8302-2"},
		"zib-Pregnancy-DateLastMenstruation": {"system": snomed, "code": "21840007"},
	}
)

// conform completes a translation with what its profiles require and the
// ADA does not say: an Observation under a vital-sign zib gets the
// vital-signs category, a laboratory result the zib's
// laboratoriumbevinding category, a delivery observation the reference to
// the delivery (bc-DeliveryProcedure) of the same translation, an
// obstetric procedure its category; an integer becomes a valueQuantity
// without unit (STU3 Observation has no valueInteger); a code gets the
// coding its profile's code slice requires (profileCodes). What the
// resource already carries is kept.
func conform(rs []map[string]any) {
	var delivery string
	for _, r := range rs {
		if r["resourceType"] == "Procedure" && claims(r, "bc-DeliveryProcedure") {
			delivery = "Procedure/" + s(r["id"])
			break
		}
	}
	for _, r := range rs {
		if r["resourceType"] == "Procedure" && r["category"] == nil && claims(r, "bc-ObstetricProcedure") {
			r["category"] = deepCopy(obstetric)
		}
		if r["resourceType"] != "Observation" {
			continue
		}
		integerAsQuantity(r)
		for _, c := range list(r["component"]) {
			integerAsQuantity(mapOf(c))
		}
		for p, c := range profileCodes {
			if cc := mapOf(r["code"]); cc != nil && claims(r, p) && !hasCoding(cc, c) {
				cc["coding"] = append(list(cc["coding"]), map[string]any{"system": c["system"], "code": c["code"]})
			}
		}
		if r["category"] == nil {
			switch {
			case claims(r, "zib-LaboratoryTestResult-Observation"):
				r["category"] = []any{deepCopy(labFinding)}
			case claimsAny(r, vitalByZib):
				r["category"] = []any{deepCopy(vitalSigns)}
			}
		}
		if delivery != "" && claims(r, deliveryObs) && !hasExtension(r, focusSTU3) {
			r["extension"] = append(list(r["extension"]), map[string]any{"url": focusSTU3, "valueReference": map[string]any{"reference": delivery}})
		}
	}
}

// deepCopy copies a concept all the way down: every resource gets its own
// category, never the package's template (which a change to one resource's
// category would otherwise change for every later translation).
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, w := range x {
			m[k] = deepCopy(w)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, w := range x {
			l[i] = deepCopy(w)
		}
		return l
	}
	return v
}

func claims(r map[string]any, profile string) bool {
	for _, p := range list(mapOf(r["meta"])["profile"]) {
		if strings.HasSuffix(s(p), "/"+profile) {
			return true
		}
	}
	return false
}

func claimsAny(r map[string]any, profiles []string) bool {
	for _, p := range profiles {
		if claims(r, p) {
			return true
		}
	}
	return false
}

func hasExtension(r map[string]any, url string) bool {
	for _, e := range list(r["extension"]) {
		if mapOf(e)["url"] == url {
			return true
		}
	}
	return false
}

func integerAsQuantity(m map[string]any) {
	if v, ok := m["valueInteger"]; ok && m != nil {
		delete(m, "valueInteger")
		m["valueQuantity"] = map[string]any{"value": v}
	}
}

func hasCoding(concept any, c map[string]any) bool {
	for _, k := range list(mapOf(concept)["coding"]) {
		if mapOf(k)["system"] == c["system"] && mapOf(k)["code"] == c["code"] {
			return true
		}
	}
	return false
}
