package othervis

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Defects are realistic, partial seeded defects of this XIS (one event kind,
// one element, one building block, one client's search), each with the
// requirements docs/design.md says it breaks. They prove the bench on a
// candidate it has never seen; none is on by default.
var Defects = map[string]struct {
	What  string
	Break []string
}{
	// A fact whose day is wrong has no pair: a finding of every requirement
	// that concerns it (docs/design.md, the pairing rule).
	"weight-day-before":     {"a body weight at a control visit carries the day before", []string{"INH-01", "INH-02", "INH-03", "INH-04"}},
	"bp-swapped":            {"at a control visit systolic and diastolic blood pressure are swapped", []string{"INH-01"}},
	"hb-gdl":                {"a haemoglobin at a control visit says g/dL with the mmol/L value", []string{"INH-01"}},
	"lmp-day-before":        {"the date of the last menstruation is published a day early (a timezone bug)", []string{"INH-01"}},
	"stop-type-lost":        {"a stop for 'no indication any more' (183966005) loses its stop type", []string{"MP9-03"}},
	"mbh-dispense-request":  {"a VerstrekkingsVerzoek carries its own MBH id", []string{"MP9-02"}},
	"referral-no-requester": {"a referral (ServiceRequest) names no requester", []string{"INH-04"}},
	"apgar5-as-apgar1":      {"the 5-minute Apgar claims the 1-minute profile", []string{"INH-02", "PRF-01"}},
	"apgar-also-on-mother":  {"the 1-minute Apgar is also filed on the mother's record", []string{"INH-03"}},
	// Another client's resource in her search is API-02's finding only: the
	// trust snapshot keeps what refers to her (docs/design.md).
	"search-leak":               {"Observation?patient= also answers one observation of another client", []string{"API-02"}},
	"shared-after-withdrawal":   {"facts registered after consent was withdrawn are shared", []string{"VTR-01"}},
	"only-patient-hidden":       {"a withdrawal hides the Patient, not her data", []string{"VTR-01"}},
	"deletion-keeps-medication": {"a deletion request leaves her MedicationRequests", []string{"VTR-02"}},
	"child-own-record":          {"the newborn's record survives the mother's withdrawal and deletion", []string{"VTR-02"}},
	"ta-dose-tenfold":           {"a ToedieningsAfspraak carries ten times the registered dose", []string{"MP9-05"}},
	"vv-amount-litre":           {"a VerstrekkingsVerzoek's amount says l with the ml value", []string{"MP9-05"}},
	"ma-frequency-once":         {"a MedicatieAfspraak of twice a day is published as once a day", []string{"MP9-01"}},
	"child-birthdate-missing":   {"the newborn's Patient has no birth date", []string{"INH-05"}},
	"kraamzorg-status-invalid":  {"maternity-care observations carry a status FHIR does not have", []string{"PRF-01"}},
}

// DefectNames lists the known defects, sorted.
func DefectNames() []string {
	var out []string
	for k := range Defects {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CheckDefect says whether a defect name is known.
func CheckDefect(name string) error {
	if _, ok := Defects[name]; name != "" && !ok {
		return fmt.Errorf("unknown defect %q (known: %s)", name, strings.Join(DefectNames(), ", "))
	}
	return nil
}

// spoil applies the seeded defect to one rendered fact resource.
func (s *Server) spoil(reg *registration, f fact, res map[string]any) {
	switch s.opt.Defect {
	case "weight-day-before":
		if reg.Kind == "controle" && f.Profile == profWeight {
			when, _ := parseTime(reg.Time)
			res["effectiveDateTime"] = s.rd.instant(when.Add(-24 * time.Hour))
		}
	case "bp-swapped":
		if reg.Kind == "controle" && f.Profile == profBP {
			if c, ok := res["component"].([]any); ok && len(c) == 2 {
				a, b := c[0].(map[string]any), c[1].(map[string]any)
				a["valueQuantity"], b["valueQuantity"] = b["valueQuantity"], a["valueQuantity"]
			}
		}
	case "hb-gdl":
		if reg.Kind == "controle" && f.Code.Code == "718-7" {
			if q, ok := res["valueQuantity"].(map[string]any); ok {
				q["unit"], q["code"] = "g/dL", "g/dL"
			}
		}
	case "lmp-day-before":
		if f.Code.Code == "21840007" && f.Value.Date != "" {
			if d, err := parseDay(f.Value.Date); err == nil {
				res["valueDateTime"] = d.AddDate(0, 0, -1).Format("2006-01-02")
			}
		}
	case "stop-type-lost":
		if m := f.Medication; m != nil && m.ChangeReason != nil && m.ChangeReason.Code == "183966005" {
			delete(res, "modifierExtension")
		}
	case "mbh-dispense-request":
		if m := f.Medication; m != nil && m.Block == "VerstrekkingsVerzoek" {
			for _, e := range list(res["extension"]) {
				if x := e.(map[string]any); strings.HasSuffix(fmt.Sprint(x["url"]), "PharmaceuticalTreatment.Identifier") {
					x["valueIdentifier"].(map[string]any)["value"] = m.Treatment + "-VV"
				}
			}
		}
	case "referral-no-requester":
		if reg.Kind == "verwijzing" {
			delete(res, "requester")
		}
	case "ta-dose-tenfold":
		if m := f.Medication; m != nil && m.Block == "ToedieningsAfspraak" && m.Dose != nil {
			for _, d := range list(res["dosageInstruction"]) {
				for _, dr := range list(d.(map[string]any)["doseAndRate"]) {
					q := dr.(map[string]any)["doseQuantity"].(map[string]any)
					q["value"] = json.Number(fmt.Sprint(mustFloat(string(m.Dose.Value)) * 10))
				}
			}
		}
	case "vv-amount-litre":
		if m := f.Medication; m != nil && m.Block == "VerstrekkingsVerzoek" {
			if dr, ok := res["dispenseRequest"].(map[string]any); ok {
				if q, ok := dr["quantity"].(map[string]any); ok {
					q["unit"], q["code"] = "l", "l"
				}
			}
		}
	case "ma-frequency-once":
		if m := f.Medication; m != nil && m.Block == "MedicatieAfspraak" && m.Frequency == 2 {
			for _, d := range list(res["dosageInstruction"]) {
				if t, ok := d.(map[string]any)["timing"].(map[string]any); ok {
					t["repeat"].(map[string]any)["frequency"] = 1
				}
			}
		}
	case "kraamzorg-status-invalid":
		if reg.Kind == "kraamzorg" {
			res["status"] = "klaar"
		}
	case "apgar5-as-apgar1":
		if f.Code.Code == "9274-2" {
			res["meta"] = map[string]any{"profile": []any{nictizSD + "nl-core-ApgarScore-1Minute"}}
		}
	}
}

func mustFloat(s string) float64 {
	f, _ := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f
}
