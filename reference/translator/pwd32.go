package translator

import (
	"fmt"
	"strings"
)

// builder collects the resources of one translation.
type builder struct {
	out      []map[string]any
	n        int
	mother   string            // Patient id of the woman
	patients map[string]string // ADA patient id → Patient id
	children map[string]bool   // Patient ids of born children
	refSubj  map[string]string // ADA building-block id → subject Patient id
	contacts map[string]string // ADA contact id → its start date (FHIR)
}

func (b *builder) add(r map[string]any) map[string]any {
	b.n++
	if _, ok := r["id"]; !ok {
		r["id"] = newID(strings.ToLower(r["resourceType"].(string)), b.n)
	}
	b.out = append(b.out, r)
	return r
}

func (b *builder) observation(profile string, c map[string]any, subject, date string) map[string]any {
	o := map[string]any{"resourceType": "Observation", "meta": profileMeta(profile), "status": "final", "code": c}
	if subject != "" {
		o["subject"] = ref("Patient", subject)
	}
	if date != "" {
		o["effectiveDateTime"] = date
	}
	return b.add(o)
}

// effective sets effective[x] from an ADA date element (its value, or its
// null-flavour as the iso21090-nullFlavor extension).
func effective(o map[string]any, n *Node) {
	if n == nil {
		return
	}
	if nf := n.Get("nullFlavor"); nf != "" {
		o["_effectiveDateTime"] = map[string]any{"extension": []any{map[string]any{
			"url": "http://hl7.org/fhir/StructureDefinition/iso21090-nullFlavor", "valueCode": nf}}}
		return
	}
	if v := n.Get("value"); v != "" {
		o["effectiveDateTime"] = fhirDate(v)
	}
}

// obsRule is how one ADA observation group becomes an Observation: its
// profile and code; value names the child holding the value ("" = the
// first child whose name ends in "waarde"); unit is a unit the ADA leaves
// implicit; comps maps children to component codes.
type obsRule struct {
	profile, system, code string
	value, unit           string
	comps                 map[string][2]string // child → {system, code}
}

var pwd32Obs = map[string]obsRule{
	"aantal_levende_kinderen_observatie":                        {profile: "bc-PregnancyObservation", system: snomed, code: "143881000146107"},
	"definitieve_a_terme_datum_observatie":                      {profile: "bc-PregnancyObservation", system: snomed, code: "147781000146105"},
	"foliumzuurgebruik_observatie":                              {profile: "bc-MaternalObservation", system: snomed, code: "792807003"},
	"geindiceerd_aantal_uur_kraamzorg_observatie":               {profile: "bc-MaternalObservation", system: snomed, code: "160631000146109", unit: "h"},
	"meerling_zwangerschap_observatie":                          {profile: "bc-PregnancyObservation", system: snomed, code: "65147003"},
	"leven_voelen_observatie":                                   {profile: "bc-PregnancyObservation", system: snomed, code: "364618000"},
	"voorgenomen_plaats_baring_tijdens_zwangerschap_observatie": {profile: "bc-MaternalObservation", system: snomed, code: "142961000146102"},
	"voorgenomen_voeding_observatie":                            {profile: "bc-MaternalObservation", system: snomed, code: "268467002"},
	"hoeveelheid_bloedverlies_observatie":                       {profile: "bc-DeliveryObservation", system: snomed, code: "364332008"},
	"geboorte_placenta_observatie":                              {profile: "bc-DeliveryObservation", system: snomed, code: "136311000146100"},
	"placenta_compleet_observatie":                              {profile: "bc-DeliveryObservation", system: snomed, code: "364343000"},
	"wijze_geboorte_placenta_observatie":                        {profile: "bc-DeliveryObservation", system: snomed, code: "236994008"},
	"aard_vruchtwater_observatie":                               {profile: "bc-DeliveryObservation", system: snomed, code: "168089007"},
	"actieve_ontsluiting_observatie":                            {profile: "bc-DeliveryObservation", system: snomed, code: "160621000146107", value: "=effective"},
	"breken_vliezen_observatie":                                 {profile: "bc-DeliveryObservation", system: snomed, code: "289251005"},
	"wijze_begin_baring_observatie":                             {profile: "bc-DeliveryObservation", system: snomed, code: "160611000146102"},
	"type_partus_observatie":                                    {profile: "bc-BirthObservation", system: snomed, code: "364336006"},
	"werkelijke_plaats_baring_type_locatie_observatie":          {profile: "bc-BirthObservation", system: snomed, code: "366344009"},
	"beoordeling_gezinssituatie_observatie":                     {profile: "bc-FamilySituationAssessment", system: snomed, code: "423340009", value: "-", comps: map[string][2]string{"instabiele_gezinssituatie_waarde": {snomed, "160231000146106"}}},
	"foetale_hartslag_hartfrequentie":                           {profile: "bc-FetalHeartRate", system: loinc, code: "8867-4", value: "hartfrequentie_waarde", comps: map[string][2]string{"hartslag_regelmatigheid": {snomed, "249044008"}}},
	"woonsituatie":                                              {profile: "zib-LivingSituation", system: snomed, code: "365508006", value: "woning_type"},
	"participatie_in_maatschappij":                              {profile: "zib-ParticipationInSociety", system: snomed, code: "314845004", value: "-", comps: map[string][2]string{"arbeidssituatie": {snomed, "364703007"}, "sociaal_netwerk": {snomed, "365469004"}}},
	"gezinssituatie":                                            {profile: "zib-FamilySituation", system: snomed, code: "365470003", value: "-", comps: map[string][2]string{"gezinssamenstelling": {snomed, "365481000"}}},
	"gezinssituatie_kind":                                       {profile: "zib-FamilySituationChild", system: snomed, code: "55801000146105", value: "-", comps: map[string][2]string{"gezinssamenstelling_kind": {snomed, "55801000146105"}, "aantal_broers_en_zussen": {snomed, "224095004"}}},
	"genitalia_observatie":                                      {profile: "bc-ChildObservation", system: snomed, code: "364204002"},
	"huid_observatie":                                           {profile: "bc-ChildObservation", system: snomed, code: "364528001"},
	"ademhaling_observatie":                                     {profile: "bc-ChildObservation", system: snomed, code: "364062005"},
	"huilgedrag_observatie":                                     {profile: "bc-ChildObservation", system: snomed, code: "28263002"},
	"navelstomp_observatie":                                     {profile: "bc-ChildObservation", system: snomed, code: "364595007"},
	"slaappatroon_observatie":                                   {profile: "bc-ChildObservation", system: snomed, code: "404950004"},
	"gehoortest_observatie":                                     {profile: "bc-ChildObservation", system: snomed, code: "252957005"},
	"hielprik_observatie":                                       {profile: "bc-ChildObservation", system: snomed, code: "77262006"},
	"vitamine_k_observatie":                                     {profile: "bc-VitaminKAdministration", system: snomed, code: "698350008", value: "vitamine_kwaarde", comps: map[string][2]string{"datum_vitamine_kwaarde": {snomed, "439771001"}}},
	"zorg_voor_kind_observatie":                                 {profile: "bc-AbilityToTakeCareOfChild", system: snomed, code: "129879003", value: "-", comps: map[string][2]string{"vaardigheid_waarde": {snomed, "160341000146109"}, "onzekerheid_waarde": {snomed, "160351000146107"}}},
	"voorlichting_veilig_slapen_observatie":                     {profile: "bc-MaternalObservation", system: snomed, code: "1263932002"},
	"voorlichting_vitamine_d_observatie":                        {profile: "bc-MaternalObservation", system: snomed, code: "118791000146100"},
	"beweging_foetus_observatie":                                {profile: "bc-FetusObservation", system: snomed, code: "364619008"},
	"irregulaire_antistoffen_observatie":                        {profile: "zib-LaboratoryTestResult-Observation", system: snomed, code: "312457003", value: "irregulaire_antistoffen_waarde"},
	"foetaal_geschat_gewicht__efw_meting":                       {profile: "bc-FetusObservation", system: loinc, code: "11727-5"},
	"foetaal_longitudinale_blaas_diameter__lbd_meting":          {profile: "bc-FetusObservation", system: loinc, code: "11815-8"},
	"foetale_biparietale_diameter__bpd_meting":                  {profile: "bc-FetusObservation", system: loinc, code: "11820-8"},
	"foetale_buikomtrek__ac_meting":                             {profile: "bc-FetusObservation", system: loinc, code: "11979-2"},
	"foetale_femurlengte__fl_meting":                            {profile: "bc-FetusObservation", system: loinc, code: "11963-6"},
	"foetale_kruin_romp_lengte__crl_meting":                     {profile: "bc-FetusObservation", system: loinc, code: "11957-8"},
	"foetale_nekplooidikte__nt_meting":                          {profile: "bc-FetusObservation", system: loinc, code: "12146-7"},
	"foetale_transcerebellar_diameter__tcd_meting":              {profile: "bc-FetusObservation", system: loinc, code: "11863-8"},
	"foetale_schedelomvang":                                     {profile: "zib-HeadCircumference", system: loinc, code: "9843-4"},
	"cervixlengte_meting":                                       {profile: "bc-MaternalObservation", system: snomed, code: "248918004"},
	"ligging_foetus_meting":                                     {profile: "bc-FetusObservation", system: snomed, code: "249062004"},
	"navelstreng_observatie":                                    {profile: "bc-UmbilicalCord", system: snomed, code: "289299005", value: "navelstreng_waarde", comps: map[string][2]string{"navelstreng_vaten_waarde": {snomed, "249191003"}}},
	"vruchtwater_meting":                                        {profile: "bc-AmnioticFluid", system: snomed, code: "160321000146103", value: "-", comps: map[string][2]string{"hoeveelheid_vruchtwater_waarde": {snomed, "364354005"}, "vruchtwatercompartiment_waarde": {snomed, "249129009"}}},
	"placenta_lokalisatie_observatie":                           {profile: "bc-PlacentaLocalization", system: snomed, code: "7381000146107", value: "-", comps: map[string][2]string{"placentalokalisatie_waarde": {snomed, "160331000146101"}}},
	"orgaansysteem_foetus_observatie":                           {profile: "bc-FetusObservation", system: snomed, code: "=observatie_naam"},
	"sonomarkers_observatie":                                    {profile: "bc-FetusObservation", system: snomed, code: "=sonomarker_naam", value: "sonomarker_waarde"},
	"echografische_bevindingen_algemeen_observatie":             {profile: "bc-PregnancyUltraSoundGeneralFindings", system: snomed, code: "290201000146101", value: "-", comps: map[string][2]string{"conclusie_waarde": {snomed, "370379002"}, "verdenking_afwijkingobv_waarde": {snomed, "609415007"}, "advies_waarde": {snomed, "171024009"}}},
	"lichaamslengte":                                            {profile: "zib-BodyHeight", system: loinc, code: "89269-5", value: "lengte_waarde"},
	"schedelomvang":                                             {profile: "zib-HeadCircumference", system: loinc, code: "9843-4", value: "schedelomvang_waarde"},
	"geboortegewicht_lichaamsgewicht":                           {profile: "zib-BodyWeight", system: loinc, code: "8339-4", value: "gewicht_waarde", comps: map[string][2]string{"kleding": {loinc, "8352-7"}}},
	"apgar_score1min":                                           {profile: "zib-ApgarScore", system: loinc, code: "9272-6", value: "apgar_score_totaal"},
	"apgar_score5min":                                           {profile: "zib-ApgarScore", system: loinc, code: "9274-2", value: "apgar_score_totaal"},
	"apgar_score10min":                                          {profile: "zib-ApgarScore", system: loinc, code: "9271-8", value: "apgar_score_totaal"},
	"lichaamsgewicht":                                           {profile: "zib-BodyWeight", system: loinc, code: "29463-7", value: "gewicht_waarde", comps: map[string][2]string{"kleding": {loinc, "8352-7"}}},
	"lichaamstemperatuur":                                       {profile: "zib-BodyTemperature", system: loinc, code: "8310-5", value: "temperatuur_waarde"},
	"alcohol_gebruik":                                           {profile: "zib-AlcoholUse", system: snomed, code: "228273003", value: "alcohol_gebruik_status", comps: map[string][2]string{"hoeveelheid": {snomed, "228329005"}}},
	"drugs_gebruik":                                             {profile: "zib-DrugUse", system: snomed, code: "228366006", value: "drugs_gebruik_status", comps: map[string][2]string{"drugs_of_geneesmiddel_soort": {snomed, "410942007"}, "hoeveelheid": {snomed, "228390007"}}},
	"tabak_gebruik":                                             {profile: "zib-TobaccoUse", system: snomed, code: "365980008", value: "tabak_gebruik_status", comps: map[string][2]string{"soort_tabak_gebruik": {snomed, "53661000146106"}, "hoeveelheid": {snomed, "266918002"}}},
}

// procedureElements and problemElements are the ADA groups that become a
// Procedure (bc-ObstetricProcedure) and a Condition (zib-Problem).
var (
	procedureElements = map[string]bool{"verrichting_zwangerschap": true, "verrichting_maternaal": true, "verrichting_maternaal_onderzoek": true, "verrichting_kindspecifieke_maternale_verrichtingen": true}
	problemElements   = map[string]bool{"probleem_zwangerschap": true, "probleem_maternaal": true, "probleem_kindspecifieke_maternale_problemen": true, "probleem_sociale_problemen": true, "probleem_wervelkolom_ruggenmerg": true}
)

// disorders are the birth-care problem profiles by the ADA group the
// problem is registered in (the social problems are plain zib-Problem).
var disorders = map[string]string{
	"probleem_zwangerschap":                       "bc-DisorderOfPregnancy",
	"probleem_maternaal":                          "bc-DisorderOfLaborAndDelivery",
	"probleem_kindspecifieke_maternale_problemen": "bc-DisorderOfLaborAndDelivery",
	"probleem_wervelkolom_ruggenmerg":             "bc-DisorderOfChild",
}

// pwd32 translates the PWD 3.2 MedMij transactions (IZK, Echo, Kraam).
func pwd32(tx *Node, b *builder) error {
	adm := tx.Child("administratief")
	motherADA := tx.Path("vrouw/demografische_gegevens/patient").Get("value")
	for _, c := range adm.All("contact") {
		b.contacts[c.Get("id")] = fhirDate(c.Child("begin_datum_tijd").Get("value"))
	}
	for _, p := range adm.All("patient") {
		if p.Child("geboren_indicator").Get("value") == "false" {
			continue // a fetus: its observations are about the woman
		}
		id := b.patient(p, p.Get("id") == motherADA)
		b.patients[p.Get("id")] = id
		if p.Get("id") == motherADA {
			b.mother = id
		} else {
			b.children[id] = true
		}
	}
	if b.mother == "" {
		// An instance without the woman's Patient still names her.
		b.mother = "vrouw"
	}
	for _, sec := range tx.Kids {
		switch sec.Name {
		case "administratief", "bouwstenen":
			continue
		}
		b.walk(sec, b.mother, tx)
	}
	for _, sec := range tx.Path("bouwstenen/metingen").children() {
		subj := b.refSubj[sec.Get("id")]
		if subj == "" {
			subj = b.mother
		}
		b.group(sec, subj, tx)
	}
	for _, v := range tx.Path("bouwstenen/klinische_context").All("voedingspatroon_zuigeling") {
		subj := b.refSubj[v.Get("id")]
		if subj == "" {
			subj = b.mother
		}
		b.feeding(v, subj)
	}
	return nil
}

// walk visits one ADA subtree about subject.
func (b *builder) walk(n *Node, subject string, tx *Node) {
	// A child's own part switches the subject to her.
	if p := n.Child("patient"); p != nil && (n.Name == "demografische_gegevens" || n.Name == "kind") {
		if id, ok := b.patients[p.Get("value")]; ok && b.children[id] {
			subject = id
		}
	}
	if n.Name == "kind" {
		if id, ok := b.patients[n.Path("demografische_gegevens/patient").Get("value")]; ok {
			subject = id
		} else if id, ok := b.patients[n.Child("patient").Get("value")]; ok {
			subject = id
		}
	}
	switch {
	case n.Name == "zwangerschap" && n.Child("graviditeit") != nil || n.Name == "zwangerschap" && n.Child("pariteit") != nil:
		b.add(map[string]any{"resourceType": "Condition", "meta": profileMeta("zib-Pregnancy"), "code": code(snomed, "118185001"), "subject": ref("Patient", b.mother)})
	case n.Name == "bevalling":
		if d := n.Child("zwangerschapsduur"); d != nil && d.Get("nullFlavor") == "" {
			b.duration(d, b.birthDate(b.patients[n.Path("uitdrijvingsfase/patient").Get("value")]))
		}
		b.add(map[string]any{"resourceType": "Procedure", "meta": profileMeta("bc-DeliveryProcedure"), "status": "completed", "code": code(snomed, "236973005"), "subject": ref("Patient", b.mother)})
	case n.Name == "uitdrijvingsfase":
		child := b.patients[n.Child("patient").Get("value")]
		if child != "" {
			p := map[string]any{"resourceType": "Procedure", "meta": profileMeta("bc-Birth"), "status": "completed", "code": code(snomed, "3950001"), "subject": ref("Patient", child)}
			if d := b.birthDate(child); d != "" {
				p["performedDateTime"] = d
			}
			b.add(p)
		}
	}
	// Building blocks referred to from a child's part are about her.
	if subject != b.mother && n.Get("datatype") == "reference" && n.Get("value") != "" {
		b.refSubj[n.Get("value")] = subject
	}
	if len(n.Kids) == 0 {
		b.leaf(n, subject)
		return
	}
	if b.group(n, subject, tx) {
		return
	}
	for _, k := range n.Kids {
		b.walk(k, subject, tx)
	}
}

// leaf translates the single-valued elements of the pregnancy.
func (b *builder) leaf(n *Node, subject string) {
	switch n.Name {
	case "graviditeit":
		o := b.observation("zib-Pregnancy-Gravidity", code(loinc, "11996-6"), b.mother, "")
		setValue(o, n, "")
	case "pariteit":
		o := b.observation("zib-Pregnancy-Parity", code(loinc, "11977-6"), b.mother, "")
		setValue(o, n, "")
	case "sociaal_netwerk":
		o := b.observation("bc-MaternalObservation", code(snomed, "365469004"), b.mother, "")
		setValue(o, n, "")
	}
}

// group translates an ADA group by its rule; false when it has none.
func (b *builder) group(n *Node, subject string, tx *Node) bool {
	switch {
	case n.Name == "aterme_datum_items":
		when := n.Child("datum_bepaling")
		if a := n.Child("aterme_datum"); a != nil {
			o := b.observation("bc-PregnancyObservation", code(snomed, "161714006"), b.mother, "")
			effective(o, when)
			setValue(o, a, "")
		}
		if a := n.Child("datum_laatste_menstruatie"); a != nil {
			o := b.observation("zib-Pregnancy-DateLastMenstruation", code(loinc, "8665-2"), b.mother, "")
			effective(o, when)
			setValue(o, a, "")
		}
		return true
	case n.Name == "prenatale_controle" || n.Name == "probleem_zwangerschap":
		if d := n.Child("zwangerschapsduur"); d != nil && d.Get("nullFlavor") == "" {
			date := b.contacts[n.Child("contact").Get("value")]
			if n.Name == "probleem_zwangerschap" {
				date = fhirDate(n.Child("probleem_begin_datum").Get("value"))
			}
			b.duration(d, date)
		}
		if n.Name == "probleem_zwangerschap" {
			b.problem(n, subject)
			return true
		}
		for _, k := range n.Kids {
			if k.Name != "zwangerschapsduur" {
				b.walk(k, subject, tx)
			}
		}
		return true
	case procedureElements[n.Name]:
		if t := n.Child("verrichting_type"); t != nil {
			p := map[string]any{"resourceType": "Procedure", "meta": map[string]any{"profile": []any{nictizSD + "bc-ObstetricProcedure", nictizSD + "zib-Procedure"}}, "status": "completed", "code": concept(coding(t)), "subject": ref("Patient", b.mother)}
			if d := n.Child("verrichting_start_datum").Get("value"); d != "" {
				p["performedDateTime"] = fhirDate(d)
			}
			b.add(p)
		}
		return true
	case problemElements[n.Name]:
		if strings.HasPrefix(n.Name, "probleem_kindspecifieke") {
			// about the child born in this phase
			subject = b.patients[tx.Path("bevalling/uitdrijvingsfase/patient").Get("value")]
			for _, u := range tx.Path("bevalling").All("uitdrijvingsfase") {
				for _, k := range u.Kids {
					if k == n {
						subject = b.patients[u.Child("patient").Get("value")]
					}
				}
			}
		}
		b.problem(n, subject)
		return true
	case strings.HasPrefix(n.Name, "laboratorium_test"):
		if c := coding(n.Child("test_code")); c != nil {
			o := b.observation("zib-LaboratoryTestResult-Observation", concept(c), b.mother, "")
			setValue(o, n.Child("test_uitslag"), "")
		}
		return true
	case n.Name == "bloeddruk" && n.Child("systolische_bloeddruk") != nil:
		o := b.observation("zib-BloodPressure", code(loinc, "85354-9"), subject, "")
		effective(o, n.Child("bloeddruk_datum_tijd"))
		var comps []any
		for _, c := range [][2]string{{"systolische_bloeddruk", "8480-6"}, {"diastolische_bloeddruk", "8462-4"}} {
			comp := map[string]any{"code": code(loinc, c[1])}
			if setValue(comp, n.Child(c[0]), "") {
				comps = append(comps, comp)
			}
		}
		o["component"] = comps
		return true
	}
	r, ok := pwd32Obs[n.Name]
	if !ok || n.Get("datatype") == "reference" || len(n.Kids) == 0 {
		return false
	}
	c := code(r.system, r.code)
	if name, ok := strings.CutPrefix(r.code, "="); ok {
		cc := coding(n.Child(name))
		if cc == nil {
			return true
		}
		c = concept(cc)
	}
	o := b.observation(r.profile, c, subject, "")
	var val *Node
	var comps []any
	kids := n.Kids
	if w := n.Child("waarneming_gebruik"); w != nil {
		kids = append(append([]*Node{}, kids...), w.Kids...)
		effective(o, w.Child("start_datum"))
	}
	for _, k := range kids {
		switch {
		case r.value == "=effective" && strings.HasSuffix(k.Name, "waarde"):
			o["effectiveDateTime"] = fhirDate(k.Get("value"))
		case r.comps[k.Name] != [2]string{}:
			sc := r.comps[k.Name]
			comp := map[string]any{"code": code(sc[0], sc[1])}
			if setValue(comp, k, "") {
				comps = append(comps, comp)
			}
		case r.value != "" && k.Name == r.value:
			val = k
		case r.value == "" && val == nil && strings.HasSuffix(k.Name, "waarde") && !strings.HasPrefix(k.Name, "datum_"):
			val = k
		case isDateChild(k.Name):
			if o["effectiveDateTime"] == nil && o["_effectiveDateTime"] == nil {
				effective(o, k)
			}
		}
	}
	if val != nil {
		setValue(o, val, r.unit)
	}
	if r.profile == "zib-HeadCircumference" {
		toCentimetre(o)
	}
	if len(comps) > 0 {
		o["component"] = comps
	}
	return true
}

func isDateChild(name string) bool {
	return strings.HasSuffix(name, "_datum_tijd") || strings.HasSuffix(name, "datum_begin_tijd") ||
		(strings.HasPrefix(name, "datum_") && strings.HasSuffix(name, "waarde"))
}

func (b *builder) problem(n *Node, subject string) {
	c := coding(n.Child("probleem_naam"))
	if c == nil {
		return
	}
	if subject == "" {
		subject = b.mother
	}
	profiles := []any{nictizSD + "zib-Problem"}
	if d := disorders[n.Name]; d != "" {
		profiles = append(profiles, nictizSD+d)
	}
	p := map[string]any{"resourceType": "Condition", "meta": map[string]any{"profile": profiles}, "code": concept(c), "subject": ref("Patient", subject)}
	if d := n.Child("probleem_begin_datum").Get("value"); d != "" {
		p["onsetDateTime"] = fhirDate(d)
	}
	b.add(p)
}

// feeding is the infant's feeding pattern (bc-FeedingPatternInfant).
func (b *builder) feeding(n *Node, subject string) {
	o := b.observation("bc-FeedingPatternInfant", code(snomed, "289145007"), subject, "")
	effective(o, n.Child("voedingspatroon_zuigeling_datum_tijd"))
	var comps []any
	if f := n.Child("voeding_frequentie"); f != nil {
		comp := map[string]any{"code": code(snomed, "364653007")}
		if setValue(comp, f, "") {
			comps = append(comps, comp)
		}
	}
	for _, v := range n.All("voeding") {
		comp := map[string]any{"code": code(snomed, "109021000146107")}
		if setValue(comp, v.Child("voeding_soort"), "") {
			comps = append(comps, comp)
		}
	}
	o["component"] = comps
}

// patient is a Patient from an ADA patient element.
func (b *builder) patient(p *Node, client bool) string {
	r := map[string]any{"resourceType": "Patient", "meta": map[string]any{"profile": []any{nlCoreSD + "nl-core-patient", nictizSD + "bc-Child"}}}
	if client {
		r["meta"] = map[string]any{"profile": []any{nlCoreSD + "nl-core-patient", nictizSD + "bc-Woman"}}
	}
	for _, id := range p.All("identificatienummer") {
		if id.Get("root") == bsnOID {
			// MedMij: the BSN never leaves the DVZA; it is masked.
			r["identifier"] = []any{maskedBSN()}
		}
	}
	name := map[string]any{}
	if g := p.Path("naamgegevens/voornamen").Get("value"); g != "" {
		name["given"] = []any{g}
	}
	if f := p.Path("naamgegevens/geslachtsnaam/achternaam").Get("value"); f != "" {
		name["family"] = f
	}
	if len(name) > 0 {
		r["name"] = []any{name}
	}
	if g := p.Child("geslacht_administratief").Get("code"); g != "" {
		r["gender"] = map[string]string{"F": "female", "M": "male", "UN": "other", "UNK": "unknown"}[g]
	}
	if d := p.Child("geboortedatum").Get("value"); d != "" {
		r["birthDate"] = birthDate(d)
	}
	b.add(r)
	return r["id"].(string)
}

func (b *builder) birthDate(patientID string) string {
	for _, r := range b.out {
		if r["resourceType"] == "Patient" && r["id"] == patientID {
			s, _ := r["birthDate"].(string)
			return s
		}
	}
	return ""
}

// duration is one zib-Pregnancy-PregnancyDuration; the same duration on
// the same date (a control and a problem of that control) is one fact.
func (b *builder) duration(d *Node, date string) {
	o := map[string]any{}
	setValue(o, d, "")
	for _, r := range b.out {
		if r["resourceType"] == "Observation" && r["effectiveDateTime"] == date && fmt.Sprint(r["valueQuantity"]) == fmt.Sprint(o["valueQuantity"]) && fmt.Sprint(r["code"]) == fmt.Sprint(code(snomed, "57036006")) {
			return
		}
	}
	o = b.observation("zib-Pregnancy-PregnancyDuration", code(snomed, "57036006"), b.mother, date)
	setValue(o, d, "")
}

// toCentimetre converts a length in mm to the cm zib-HeadCircumference asks.
func toCentimetre(o map[string]any) {
	q, _ := o["valueQuantity"].(map[string]any)
	if q == nil || q["code"] != "mm" {
		return
	}
	var v float64
	switch x := q["value"].(type) {
	case int:
		v = float64(x)
	case float64:
		v = x
	default:
		return
	}
	q["value"] = float64(int64(v*10+0.5)) / 100 // mm/10, kept to the 0.1 mm written
	q["unit"], q["code"] = "cm", "cm"
}
