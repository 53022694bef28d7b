package othervis

import (
	"encoding/json"
	"fmt"
	"html"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Amsterdam without the host's zoneinfo
)

const (
	nsBSN      = "http://fhir.nl/fhir/NamingSystem/bsn"
	nsAGB      = "http://fhir.nl/fhir/NamingSystem/agb-z"
	nsURA      = "http://fhir.nl/fhir/NamingSystem/ura"
	nsUZI      = "http://fhir.nl/fhir/NamingSystem/uzi-nr-pers"
	nsUZIRole  = "http://fhir.nl/fhir/NamingSystem/uzi-rolcode"
	ucum       = "http://unitsofmeasure.org"
	snomed     = "http://snomed.info/sct"
	nictizSD   = "http://nictiz.nl/fhir/StructureDefinition/"
	obsCatCS   = "http://terminology.hl7.org/CodeSystem/observation-category"
	mbhSystem  = "urn:oid:2.16.840.1.113883.2.4.3.11.999.77.1.1"
	gstdUnits  = "urn:oid:2.16.840.1.113883.2.4.4.1.900.2"
	baseObsSD  = "http://hl7.org/fhir/StructureDefinition/Observation"
	profPat    = nictizSD + "nl-core-Patient"
	profOrg    = nictizSD + "nl-core-HealthcareProvider-Organization"
	profPrac   = nictizSD + "nl-core-HealthProfessional-Practitioner"
	profRole   = nictizSD + "nl-core-HealthProfessional-PractitionerRole"
	profProd   = nictizSD + "mp-PharmaceuticalProduct"
	profMA     = nictizSD + "mp-MedicationAgreement"
	profVV     = nictizSD + "mp-DispenseRequest"
	profTA     = nictizSD + "mp-AdministrationAgreement"
	profMVE    = nictizSD + "mp-MedicationDispense"
	profMGB    = nictizSD + "mp-MedicationUse2"
	profWeight = nictizSD + "nl-core-BodyWeight"
	profBP     = nictizSD + "nl-core-BloodPressure"
	profLab    = nictizSD + "nl-core-LaboratoryTestResult"
)

var amsterdam = mustZone("Europe/Amsterdam")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339, s) }

func parseDay(s string) (time.Time, error) { return time.ParseInLocation("2006-01-02", s, amsterdam) }

// block describes one MP9 building block: its category and identifier arc.
type block struct {
	typ, profile, category, display, idSystem string
}

var blocks = map[string]block{
	"MedicatieAfspraak":     {"MedicationRequest", profMA, "33633005", "voorschrijven van geneesmiddel", "urn:oid:2.16.840.1.113883.2.4.3.11.999.77.16076005.1"},
	"VerstrekkingsVerzoek":  {"MedicationRequest", profVV, "52711000146108", "verzoek tot verstrekken van medicatie", "urn:oid:2.16.840.1.113883.2.4.3.11.999.77.52711000146108.1"},
	"ToedieningsAfspraak":   {"MedicationDispense", profTA, "422037009", "toedieningsafspraak", "urn:oid:2.16.840.1.113883.2.4.3.11.999.77.422037009.1"},
	"MedicatieVerstrekking": {"MedicationDispense", profMVE, "373784005", "verstrekken van medicatie", "urn:oid:2.16.840.1.113883.2.4.3.11.999.77.373784005.1"},
	"MedicatieGebruik":      {"MedicationStatement", profMGB, "422979000", "medicatiegebruik", "urn:oid:2.16.840.1.113883.2.4.3.11.999.77.6.1"},
}

// renderer turns one registration into resources; it knows how this XIS writes instants.
type renderer struct {
	utc    bool
	millis bool // write instants with milliseconds
	// duration writes a period of use as start + ext-TimeInterval.Duration in days
	duration bool
	// ownOIDs identifies building blocks under this XIS's own OID root
	ownOIDs bool
}

// ownRoot is an (invented, test-range) OID root of this XIS for block identifiers.
const ownRoot = "urn:oid:2.16.840.1.113883.2.4.3.11.999.4242."

// idSystem is the identifier system of a block's business identifier.
func (rd renderer) idSystem(b block) string {
	if rd.ownOIDs {
		return ownRoot + b.category
	}
	return b.idSystem
}

// instant writes a point in time: in UTC ("Z") or with the Amsterdam offset.
func (rd renderer) instant(t time.Time) string {
	layout := "2006-01-02T15:04:05Z07:00"
	if rd.millis {
		layout = "2006-01-02T15:04:05.000Z07:00"
	}
	if rd.utc {
		return t.UTC().Format(layout)
	}
	return t.In(amsterdam).Format(layout)
}

// dayStart and dayEnd give the first and last second of a calendar day in Amsterdam.
func (rd renderer) dayStart(day string) string {
	t, _ := parseDay(day)
	return rd.instant(t)
}

func (rd renderer) dayEnd(day string) string {
	t, _ := parseDay(day)
	return rd.instant(t.AddDate(0, 0, 1).Add(-time.Second))
}

func ref(typ, id, display string) map[string]any {
	m := map[string]any{"reference": typ + "/" + id, "type": typ}
	if display != "" {
		m["display"] = display
	}
	return m
}

func codeable(c coding) map[string]any {
	cd := map[string]any{"system": c.System, "code": c.Code}
	if c.Display != "" {
		cd["display"] = c.Display
	}
	return map[string]any{"coding": []any{cd}}
}

func num(d decimal) json.Number { return json.Number(strings.TrimSpace(string(d))) }

// ucumDisplay is how this XIS shows a UCUM unit to a human.
var ucumDisplay = map[string]string{"mm[Hg]": "mmHg", "[iU]": "IE", "1": "stuk", "d": "dag", "wk": "week", "h": "uur"}

func quantityOf(q quantity) map[string]any {
	unit := q.Unit
	code := q.Unit
	if code == "stuk" { // the adapter example's dose unit: UCUM "1"
		code = "1"
	}
	if d, ok := ucumDisplay[code]; ok {
		unit = d
	}
	m := map[string]any{"value": num(q.Value), "unit": unit, "system": ucum, "code": code}
	if code == "1" { // G-Standaard translation for a piece
		m["extension"] = []any{map[string]any{
			"url":           "http://hl7.org/fhir/StructureDefinition/iso21090-PQ-translation",
			"valueQuantity": map[string]any{"value": num(q.Value), "unit": "stuk", "system": gstdUnits, "code": "245"},
		}}
	}
	return m
}

func splitName(full string) (given, family string) {
	full = strings.TrimSpace(full)
	if i := strings.IndexByte(full, ' '); i > 0 {
		return full[:i], full[i+1:]
	}
	return "", full
}

// roleCodes are the UZI role codes of the professions the scenarios name.
var roleCodes = map[string]coding{
	"verloskundige": {nsUZIRole, "03.000", "Verloskundige"},
	"gynaecoloog":   {nsUZIRole, "01.046", "Gynaecoloog"},
	"apotheker":     {nsUZIRole, "17.000", "Apotheker"},
	"jeugdarts":     {nsUZIRole, "01.070", "Jeugdarts"},
}

func patientResource(p person, gender string) map[string]any {
	res := map[string]any{"meta": map[string]any{"profile": []any{profPat}}}
	if p.BSN != "" {
		res["identifier"] = []any{map[string]any{"system": nsBSN, "value": p.BSN}}
	}
	name := map[string]any{"use": "official"}
	text := strings.TrimSpace(p.Given + " " + p.Family)
	if text != "" {
		name["text"] = text
	}
	if p.Family != "" {
		name["family"] = p.Family
	}
	if p.Given != "" {
		name["given"] = []any{p.Given}
	}
	if len(name) > 1 {
		res["name"] = []any{name}
	}
	if gender == "" {
		gender = p.Gender
	}
	if gender != "" {
		res["gender"] = gender
	}
	if p.BirthDate != "" {
		res["birthDate"] = p.BirthDate
	}
	return res
}

func organizationResource(a author) map[string]any {
	res := map[string]any{"meta": map[string]any{"profile": []any{profOrg}}, "name": a.Name}
	var ids []any
	if a.URA != "" {
		ids = append(ids, map[string]any{"system": nsURA, "value": a.URA})
	}
	if a.AGB != "" {
		ids = append(ids, map[string]any{"system": nsAGB, "value": a.AGB})
	}
	if ids != nil {
		res["identifier"] = ids
	}
	return res
}

func practitionerResource(p professional) map[string]any {
	res := map[string]any{"meta": map[string]any{"profile": []any{profPrac}}}
	var ids []any
	if p.UZI != "" {
		ids = append(ids, map[string]any{"system": nsUZI, "value": p.UZI})
	}
	if p.AGB != "" {
		ids = append(ids, map[string]any{"system": nsAGB, "value": p.AGB})
	}
	if ids != nil {
		res["identifier"] = ids
	}
	given, family := splitName(p.Name)
	name := map[string]any{"use": "official", "text": p.Name, "family": family}
	if given != "" {
		name["given"] = []any{given}
	}
	res["name"] = []any{name}
	return res
}

func roleResource(p professional, pracID, orgID, orgName string) map[string]any {
	res := map[string]any{
		"meta":         map[string]any{"profile": []any{profRole}},
		"practitioner": ref("Practitioner", pracID, p.Name),
		"organization": ref("Organization", orgID, orgName),
	}
	if c, ok := roleCodes[strings.ToLower(p.Role)]; ok {
		res["specialty"] = []any{codeable(c)}
	}
	return res
}

func productResource(c coding) map[string]any {
	cc := codeable(c)
	if c.Display != "" {
		cc["text"] = c.Display
	}
	return map[string]any{"meta": map[string]any{"profile": []any{profProd}}, "code": cc}
}

// authorRefs are the references to who registered an event.
type authorRefs struct {
	role, org map[string]any // role is nil without a professional
}

func (a authorRefs) person() map[string]any {
	if a.role != nil {
		return a.role
	}
	return a.org
}

// vitalSigns are the nl-core profiles built on FHIR's vital signs profile: they need that category.
var vitalSigns = map[string]bool{
	profWeight: true, profBP: true,
	nictizSD + "nl-core-BodyHeight":        true,
	nictizSD + "nl-core-HeadCircumference": true,
	nictizSD + "nl-core-HeartRate":         true,
	nictizSD + "nl-core-BodyTemperature":   true,
	nictizSD + "nl-core-O2Saturation":      true,
	nictizSD + "nl-core-Respiration":       true,
	nictizSD + "nl-core-PulseRate":         true,
}

// observation renders an observation-like fact.
func (rd renderer) observation(f fact, when time.Time, subject, by map[string]any, lab bool) map[string]any {
	profile := f.Profile
	if profile == "" {
		profile = baseObsSD
	}
	res := map[string]any{
		"meta":              map[string]any{"profile": []any{profile}},
		"status":            "final",
		"subject":           subject,
		"effectiveDateTime": rd.instant(when),
	}
	code := codeable(f.Code)
	if profile == profWeight && f.Code.Code != "29463-7" { // birth weight also carries the body weight code
		code["coding"] = append(code["coding"].([]any), map[string]any{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"})
	}
	res["code"] = code
	switch {
	case vitalSigns[profile]:
		res["category"] = []any{codeable(coding{obsCatCS, "vital-signs", "Vital Signs"})}
	case lab:
		res["category"] = []any{codeable(coding{obsCatCS, "laboratory", "Laboratory"})}
	}
	if by != nil {
		res["performer"] = []any{by}
	}
	for k, v := range valueOf(f.Value) {
		res[k] = v
	}
	if f.Method != nil {
		res["method"] = codeable(*f.Method)
	}
	if f.Note != "" {
		res["note"] = []any{map[string]any{"text": f.Note}}
	}
	var comps []any
	for _, c := range f.Components {
		comp := map[string]any{"code": codeable(c.Code)}
		for k, v := range valueOf(c.Value) {
			comp[k] = v
		}
		comps = append(comps, comp)
	}
	if comps != nil {
		res["component"] = comps
	}
	return res
}

func valueOf(v value) map[string]any {
	switch {
	case v.Integer != nil:
		return map[string]any{"valueInteger": *v.Integer}
	case v.Quantity != nil:
		return map[string]any{"valueQuantity": quantityOf(*v.Quantity)}
	case v.Coding != nil:
		return map[string]any{"valueCodeableConcept": codeable(*v.Coding)}
	case v.Date != "":
		return map[string]any{"valueDateTime": v.Date}
	case v.String != nil:
		return map[string]any{"valueString": *v.String}
	case v.Boolean != nil:
		return map[string]any{"valueBoolean": *v.Boolean}
	}
	return nil
}

func (rd renderer) serviceRequest(f fact, when time.Time, subject, by map[string]any) map[string]any {
	res := map[string]any{
		"meta":       map[string]any{"profile": []any{f.Profile}}, // the registered profile (docs/scenarios.md)
		"status":     "active",
		"intent":     "order",
		"code":       codeable(f.Code),
		"subject":    subject,
		"authoredOn": rd.instant(when),
		"requester":  by,
	}
	if f.Value.Coding != nil {
		res["performerType"] = codeable(*f.Value.Coding)
	}
	if f.Note != "" {
		res["note"] = []any{map[string]any{"text": f.Note}}
	}
	return res
}

func ext(url string, key string, v any) map[string]any {
	return map[string]any{"url": url, key: v}
}

func logical(typ, system, value, display string) map[string]any {
	m := map[string]any{"type": typ, "identifier": map[string]any{"system": system, "value": value}}
	if display != "" {
		m["display"] = display
	}
	return m
}

// priorBlock says which building block a block's prior id belongs to, from its prefix.
func priorBlock(m *medication, known map[string]string) (block, bool) {
	if name, ok := known[m.Prior]; ok {
		b, ok := blocks[name]
		return b, ok
	}
	switch {
	case strings.HasPrefix(m.Prior, "MA-"):
		return blocks["MedicatieAfspraak"], true
	case strings.HasPrefix(m.Prior, "VV-"):
		return blocks["VerstrekkingsVerzoek"], true
	case strings.HasPrefix(m.Prior, "TA-"):
		return blocks["ToedieningsAfspraak"], true
	}
	return blocks["MedicatieAfspraak"], false
}

// medicationBlock renders one MP9 building block.
func (rd renderer) medicationBlock(f fact, when time.Time, subject, medRef map[string]any, by authorRefs, known map[string]string) (string, map[string]any, error) {
	m := f.Medication
	b, ok := blocks[m.Block]
	if !ok {
		return "", nil, fmt.Errorf("unknown building block %q", m.Block)
	}
	exts := []any{ext(nictizSD+"ext-RegistrationDateTime", "valueDateTime", rd.instant(when))}
	period := map[string]any{}
	if m.Start != "" {
		period["start"] = rd.dayStart(m.Start)
	}
	if m.End != "" {
		period["end"] = rd.dayEnd(m.End)
		if rd.duration && m.Start != "" {
			// MP9 allows start + duration instead of an end: whole days, both ends inclusive
			s, _ := parseDay(m.Start)
			e, _ := parseDay(m.End)
			days := int(e.Sub(s).Hours()/24+0.5) + 1
			delete(period, "end")
			period["extension"] = []any{ext(nictizSD+"ext-TimeInterval.Duration", "valueDuration",
				map[string]any{"value": days, "unit": "dag", "system": ucum, "code": "d"})}
		}
	}
	if m.Treatment != "" {
		exts = append(exts, ext(nictizSD+"ext-PharmaceuticalTreatment.Identifier", "valueIdentifier", map[string]any{"system": mbhSystem, "value": m.Treatment}))
	}
	res := map[string]any{
		"meta":     map[string]any{"profile": []any{b.profile}},
		"subject":  subject,
		"category": codeable(coding{snomed, b.category, b.display}),
	}
	if m.ID != "" {
		res["identifier"] = []any{map[string]any{"system": rd.idSystem(b), "value": m.ID}}
	}
	if medRef != nil {
		res["medicationReference"] = medRef
	}
	if m.StopType != nil {
		res["modifierExtension"] = []any{ext(nictizSD+"ext-StopType", "valueCodeableConcept", codeable(*m.StopType))}
	}
	var reasons []any
	if m.ChangeReason != nil {
		rc := codeable(*m.ChangeReason)
		if m.Reason != "" {
			rc["text"] = m.Reason
		}
		reasons = append(reasons, rc)
	}
	dosage := rd.dosage(m)
	var prior map[string]any
	if m.Prior != "" {
		pb, _ := priorBlock(m, known)
		prior = logical(pb.typ, rd.idSystem(pb), m.Prior, "")
	}
	switch m.Block {
	case "MedicatieAfspraak":
		if len(period) > 0 {
			exts = append(exts, ext(nictizSD+"ext-TimeInterval.Period", "valuePeriod", period))
		}
		res["category"] = []any{res["category"]}
		res["status"] = "active"
		if m.StopType != nil {
			res["status"] = "stopped"
			if m.StopType.Code == "89925002" {
				res["status"] = "cancelled"
			}
		}
		res["intent"] = "order"
		res["authoredOn"] = rd.instant(when)
		res["requester"] = by.person()
		if dosage != nil {
			res["dosageInstruction"] = []any{dosage}
		}
		if reasons != nil {
			res["reasonCode"] = reasons
		} else if m.Reason != "" {
			res["note"] = []any{map[string]any{"text": m.Reason}}
		}
		if prior != nil {
			res["priorPrescription"] = prior
		}
	case "VerstrekkingsVerzoek":
		res["category"] = []any{res["category"]}
		res["status"] = "active"
		res["intent"] = "order"
		res["authoredOn"] = rd.instant(when)
		res["requester"] = by.person()
		dr := map[string]any{}
		if len(period) > 0 {
			dr["validityPeriod"] = period
		}
		if m.Amount != nil {
			dr["quantity"] = quantityOf(*m.Amount)
		}
		if len(dr) > 0 {
			res["dispenseRequest"] = dr
		}
		if prior != nil {
			res["basedOn"] = []any{prior}
		}
	case "ToedieningsAfspraak":
		if len(period) > 0 {
			exts = append(exts, ext(nictizSD+"ext-TimeInterval.Period", "valuePeriod", period))
		}
		res["status"] = "in-progress"
		if m.StopType != nil {
			res["status"] = "stopped"
		}
		res["performer"] = []any{map[string]any{"actor": by.org}}
		if dosage != nil {
			res["dosageInstruction"] = []any{dosage}
		}
		if prior != nil {
			res["authorizingPrescription"] = []any{prior}
		}
	case "MedicatieVerstrekking":
		res["status"] = "completed"
		res["performer"] = []any{map[string]any{"actor": by.org}}
		if m.Amount != nil {
			res["quantity"] = quantityOf(*m.Amount)
		}
		res["whenHandedOver"] = rd.instant(when)
		if dosage != nil {
			res["dosageInstruction"] = []any{dosage}
		}
		if prior != nil {
			res["authorizingPrescription"] = []any{prior}
		}
	case "MedicatieGebruik":
		res["status"] = "active"
		if m.StopType != nil {
			res["status"] = "stopped"
		}
		if len(period) > 0 {
			res["effectivePeriod"] = period
		}
		res["dateAsserted"] = rd.instant(when)
		res["informationSource"] = by.person()
		if dosage != nil {
			res["dosage"] = []any{dosage}
		}
		if prior != nil {
			pb, _ := priorBlock(m, known)
			prior["extension"] = []any{ext(nictizSD+"ext-ResourceCategory", "valueCodeableConcept", codeable(coding{snomed, pb.category, pb.display}))}
			res["derivedFrom"] = []any{prior}
		}
	}
	if m.Block == "MedicatieGebruik" {
		// a MedicationStatement carries its registration time as dateAsserted only
		exts = exts[1:]
		if m.ChangeReason != nil {
			res["statusReason"] = reasons[:1]
		}
	}
	if m.Block == "ToedieningsAfspraak" {
		exts = append(exts, ext(nictizSD+"ext-AdministrationAgreement.AdministrationAgreementDateTime", "valueDateTime", rd.instant(when)))
		if m.ChangeReason != nil {
			exts = append(exts, ext(nictizSD+"ext-AdministrationAgreement.ReasonModificationOrDiscontinuation", "valueCodeableConcept", codeable(*m.ChangeReason)))
		}
	}
	res["extension"] = exts
	return b.typ, res, nil
}

func (rd renderer) dosage(m *medication) map[string]any {
	d := map[string]any{}
	if m.Frequency > 0 && m.Period != "" {
		d["timing"] = map[string]any{"repeat": map[string]any{"frequency": m.Frequency, "period": 1, "periodUnit": m.Period}}
	}
	if m.Route != nil {
		d["route"] = codeable(*m.Route)
	}
	if m.Dose != nil {
		d["doseAndRate"] = []any{map[string]any{"doseQuantity": quantityOf(*m.Dose)}}
	}
	if len(d) == 0 {
		return nil
	}
	return d
}

// narrative is a generated text for a resource: its type and the first
// human-readable things it carries, escaped.
func narrative(res map[string]any) map[string]any {
	parts := []string{fmt.Sprint(res["resourceType"])}
	for _, k := range []string{"code", "category", "medicationReference", "name", "valueQuantity", "valueCodeableConcept"} {
		switch v := res[k].(type) {
		case map[string]any:
			if d, ok := v["display"].(string); ok {
				parts = append(parts, d)
			} else if t, ok := v["text"].(string); ok {
				parts = append(parts, t)
			} else if cs := codingsOf(v); len(cs) > 0 {
				if d, ok := cs[0]["display"].(string); ok {
					parts = append(parts, d)
				}
			} else if q, ok := v["value"]; ok {
				parts = append(parts, fmt.Sprint(q, " ", v["unit"]))
			}
		case string:
			parts = append(parts, v)
		}
	}
	return map[string]any{
		"status": "generated",
		"div":    `<div xmlns="http://www.w3.org/1999/xhtml"><p>` + html.EscapeString(strings.Join(parts, " — ")) + `</p></div>`,
	}
}
