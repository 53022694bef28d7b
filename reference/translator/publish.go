package translator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
)

// In a chain run the translator publishes like an XIS (docs/translator.md,
// "In a chain run"): it reads the ADA instance a legacy XIS exports back
// into the facts it tells (registration) and hands them to the reference
// XIS it embeds, which renders them as R4 (zib2020/nl-core), stores,
// serves and registers them in the index.

// adaFacts are the leaves of the PWD 2.3 verloskundig dossier the
// translator publishes, by path below the root (a child's below
// uitkomst_per_kind/baring): the fact they hold (the fixtures constructor
// gives code, name, key and profiles) and, for a coded value, the codes
// the element may hold (by ADA value when the PWD enumeration differs).
var adaFacts = []struct {
	path  string
	fact  fixtures.Fact
	codes map[string]fixtures.Coding
}{
	{path: "zwangerschap/graviditeit", fact: fixtures.Gravidity(0)},
	{path: "zwangerschap/pariteit_voor_deze_zwangerschap", fact: fixtures.Parity(0)},
	{path: "zwangerschap/a_terme_datum_groep/a_terme_datum", fact: fixtures.DueDate(0)},
	{path: "zwangerschap/voornemens/risicostatus_van_de_zwangerschap", fact: fixtures.RiskStatus(fixtures.RiskFirstLine), codes: byCode(fixtures.RiskFirstLine, fixtures.RiskSecondLine)},
	{path: "zwangerschap/prenatale_controle/zwangerschapsduur", fact: fixtures.PregnancyDuration(0)},
	{path: "zwangerschap/prenatale_controle/gewicht_gemeten", fact: fixtures.BodyWeight("0")},
	{path: adaLab + "/psie/bloedgroep_vrouw", fact: fixtures.BloodGroup(fixtures.BloodGroupO), codes: byCode(fixtures.BloodGroupO, fixtures.BloodGroupA, fixtures.BloodGroupB, fixtures.BloodGroupAB)},
	{path: adaLab + "/psie/rhesus_d_factor_vrouw", fact: fixtures.Rhesus(fixtures.RhDPositive), codes: byCode(fixtures.RhDPositive, fixtures.RhDNegative)},
	{path: adaLab + "/psie/irregulaire_antistoffenq", fact: fixtures.IrregularAntibodies(fixtures.Negative)},
	{path: adaLab + "/hb", fact: fixtures.Haemoglobin("0")},
	{path: "bevalling/aantal_geboren_kinderen", fact: fixtures.ChildrenBorn(0)},
	{path: "bevalling/wijze_waarop_de_baring_begon", fact: fixtures.LabourOnsetMode(fixtures.OnsetSpontaneous),
		codes: map[string]fixtures.Coding{"1": fixtures.OnsetSpontaneous, "2": fixtures.OnsetRupture, "3": fixtures.OnsetInduced}},
	{path: "bevalling/tijdstip_begin_actieve_ontsluiting", fact: fixtures.LabourOnset(0)},
	{path: "bevalling/hoeveelheid_bloedverlies", fact: fixtures.BloodLoss(0)},
	{path: adaChildOut + "/type_partus", fact: fixtures.ModeOfBirth(fixtures.BirthSpontaneous),
		codes: byCode(fixtures.BirthSpontaneous, fixtures.BirthAssistedVaginal, fixtures.BirthElectiveCaesarean, fixtures.BirthEmergencyCaesarean)},
	{path: "demografische_gegevens/geslacht_medische_observatie", fact: fixtures.Sex(fixtures.Male), codes: map[string]fixtures.Coding{"1": fixtures.Male, "2": fixtures.Female}},
	{path: adaChildOut + "/zwangerschapsduur", fact: fixtures.GestationalAgeAtBirth(0)},
	{path: adaChildOut + "/lichamelijk_onderzoek_kind/geboortegewicht", fact: fixtures.BirthWeight(0)},
	{path: adaChildOut + "/lichamelijk_onderzoek_kind/apgarscore_na_1_min", fact: fixtures.Apgar1(0)},
	{path: adaChildOut + "/lichamelijk_onderzoek_kind/apgarscore_na_5_min", fact: fixtures.Apgar5(0)},
	{path: adaChildOut + "/vitamine_kq", fact: fixtures.VitaminK(false)},
}

const (
	adaLab      = "medisch_onderzoek/maternale_onderzoeksgegevens/urine_bloed_en_aanvullende_onderzoeken"
	adaChildOut = "kindspecifieke_uitkomstgegevens"
)

func byCode(cs ...fixtures.Coding) map[string]fixtures.Coding {
	m := make(map[string]fixtures.Coding, len(cs))
	for _, c := range cs {
		m[c.Code] = c
	}
	return m
}

// registration reads one ADA instance of the verloskundig dossier back
// into the registration it tells: who registered it, the woman (and the
// child a baring names), and every fact it has an element for. The
// event is named after the instance's content (the same instance twice
// is the same event). It reads the elements it knows by their paths and
// ignores any other element: only another transaction, or a glucose curve
// it cannot publish, is an error (ErrUnknown).
func registration(tx *Node, raw []byte) (fixtures.Registration, error) {
	var reg fixtures.Registration
	if tx.Name != adaRoot {
		return reg, fmt.Errorf("%w: %s: a translator in the chain publishes the PWD 2.3 verloskundig dossier (%s)", ErrUnknown, tx.Name, adaRoot)
	}
	stamp := tx.Get("transactionEffectiveDate")
	when, err := adaTime(stamp)
	if err != nil {
		return reg, fmt.Errorf("transactionEffectiveDate %q: %w", stamp, err)
	}
	sum := sha256.Sum256(raw)
	reg.Scenario, reg.Event = "ada", "ada-"+hex.EncodeToString(sum[:8])
	reg.Kind, reg.Title, reg.Time = "ada", "ADA verloskundig dossier "+stamp, when
	who := tx.Path("zorgverlenerzorginstelling/zorgverlener")
	org := tx.Path("zorgverlenerzorginstelling/zorginstelling")
	reg.Author = fixtures.Provider{
		Name: org.Child("naam_zorginstelling").Get("value"), AGB: org.Child("zorginstelling_agbid").Get("value"), URA: org.Child("zorginstelling_ura").Get("value"),
		Professional: fixtures.Professional{Name: who.Child("naam_zorgverlener").Get("value"), UZI: who.Child("zorgverlener_uzinummer").Get("value"), AGB: who.Child("zorgverlener_agbid").Get("value")},
	}
	reg.Author.ID = "ada-" + reg.Author.URA
	woman := tx.Child("vrouw")
	reg.Client = fixtures.Client{ID: "ada-vrouw", BSN: woman.Child("burgerservicenummer").Get("value"), BirthDate: woman.Child("geboortedatum").Get("value"), Gender: "female"}
	if !fixtures.ValidBSN(reg.Client.BSN) {
		return reg, fmt.Errorf("vrouw/burgerservicenummer %q: no valid BSN", reg.Client.BSN)
	}
	// vrouw/medicatiegebruik names the product by name only and the dosage
	// as text: no medication building block can be made of it, and none is
	// expected of a translator (spec.Publisher.Carries); it is not published.
	if g := tx.Path(adaLab + "/diabetes_diagnostiek"); g != nil {
		// a glucose curve: the fasting value, then the one after the load
		curve := g.All("glucose")
		if len(curve) > 2 {
			return reg, fmt.Errorf("%w: diabetes_diagnostiek: %d glucose values; the reference translator publishes a fasting value and one after the load", ErrUnknown, len(curve))
		}
		for i, c := range curve {
			t := []fixtures.Fact{fixtures.FastingGlucose("0"), fixtures.GlucoseAfterLoad("0")}[i]
			f, err := leafFact(t, nil, c.Child("glucose"))
			if err != nil {
				return reg, fmt.Errorf("diabetes_diagnostiek glucose %d: %w", i+1, err)
			}
			reg.Facts = append(reg.Facts, f)
		}
	}
	births := tx.Path("uitkomst_per_kind").All("baring")
	for _, b := range births {
		if bsn := b.Path("demografische_gegevens/identificaties_kind/bsn_kind").Get("value"); bsn != "" {
			if !fixtures.ValidBSN(bsn) {
				return reg, fmt.Errorf("bsn_kind %q: no valid BSN", bsn)
			}
			reg.Subject = &fixtures.Client{ID: "ada-kind", BSN: bsn, BirthDate: b.Path("demografische_gegevens/geboortedatum").Get("value")}
		}
	}
	for _, a := range adaFacts {
		under, rel := tx, a.path
		if strings.HasPrefix(a.path, adaChildOut+"/") || strings.HasPrefix(a.path, "demografische_gegevens/") {
			if len(births) != 1 {
				continue // a multiple birth: below, per child
			}
			under = births[0]
		}
		n := under.Path(rel)
		if n == nil {
			continue
		}
		f, err := leafFact(a.fact, a.codes, n)
		if err != nil {
			return reg, fmt.Errorf("%s: %w", a.path, err)
		}
		reg.Facts = append(reg.Facts, f)
	}
	if len(births) > 1 {
		for _, b := range births {
			rank := b.Path("demografische_gegevens/rangnummer_kind").Get("value")
			n := b.Path(adaChildOut + "/type_partus")
			if rank == "" || n == nil {
				continue
			}
			f, err := leafFact(fixtures.ModeOfBirth(fixtures.BirthSpontaneous), adaFacts[14].codes, n)
			if err != nil {
				return reg, fmt.Errorf("baring %s type_partus: %w", rank, err)
			}
			f.Key, f.Name = "mode-kind-"+rank, "Type partus kind "+rank
			reg.Facts = append(reg.Facts, f)
		}
	}
	if bp := tx.Path("zwangerschap/prenatale_controle/bloeddruk"); bp != nil {
		f := registered(fixtures.BloodPressure(0, 0))
		for i, el := range []string{"bloeddruk_systolisch", "bloeddruk_diastolisch"} {
			n := bp.Child(el)
			if n == nil || n.Get("value") == "" {
				return reg, fmt.Errorf("bloeddruk: %s missing", el)
			}
			f.Components[i].Value.Quantity = &fixtures.Quantity{Value: n.Get("value"), Unit: n.Get("unit")}
		}
		reg.Facts = append(reg.Facts, f)
	}
	if g := tx.Path("postnatale_fase/kindspecifieke_gegevens/voeding_kind_groep"); g != nil {
		f := registered(fixtures.Feeding(fixtures.BreastMilk))
		c, ok := map[string]fixtures.Coding{"1": fixtures.BreastMilk, "2": fixtures.Formula}[g.Child("substantie_voeding_kind").Get("value")]
		if !ok {
			return reg, fmt.Errorf("substantie_voeding_kind %q: no PWD feeding type", g.Child("substantie_voeding_kind").Get("value"))
		}
		f.Components[0].Value.Coding = &c
		reg.Facts = append(reg.Facts, f)
	}
	return reg, nil
}

const adaRoot = "verloskundig_dossier_23"

// leafFact reads one ADA leaf as the value of the fact template holds.
func leafFact(template fixtures.Fact, codes map[string]fixtures.Coding, n *Node) (fixtures.RegisteredFact, error) {
	f := registered(template)
	v := n.Get("value")
	if v == "" {
		return f, fmt.Errorf("no value")
	}
	switch t := template.Value; {
	case t.Integer != nil:
		i, err := strconv.Atoi(v)
		if err != nil {
			return f, fmt.Errorf("%q is no integer", v)
		}
		f.Value = fixtures.RegisteredValue{Integer: &i}
	case t.Quantity != nil:
		f.Value = fixtures.RegisteredValue{Quantity: &fixtures.Quantity{Value: v, Unit: n.Get("unit")}}
	case t.Coding != nil:
		c, ok := codes[v]
		if !ok {
			return f, fmt.Errorf("code %q is not one the translator knows", v)
		}
		f.Value = fixtures.RegisteredValue{Coding: &c}
	case t.DateDay != nil:
		if _, err := time.Parse(fixtures.DateLayout, v); err != nil {
			return f, fmt.Errorf("%q is no date", v)
		}
		f.Value = fixtures.RegisteredValue{Date: v}
	case t.Boolean != nil:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, fmt.Errorf("%q is no true/false", v)
		}
		f.Value = fixtures.RegisteredValue{Boolean: &b}
	}
	return f, nil
}

// registered is a fact template as a registered fact (its value and the
// components' values are set by the caller).
func registered(t fixtures.Fact) fixtures.RegisteredFact {
	f := fixtures.RegisteredFact{Key: t.Key, Name: t.Name, Code: t.Code, Method: t.Method, Note: t.Note,
		ResourceType: t.ResourceType, Profile: t.Profile, STU3Profile: t.STU3Profile}
	for _, c := range t.Components {
		f.Components = append(f.Components, registered(c))
	}
	return f
}

// adaTime reads an ADA date-time: local Amsterdam time without an offset,
// or with one (truth.ADAStamp).
func adaTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02T15:04:05", v, fixtures.Amsterdam)
}
