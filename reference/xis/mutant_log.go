package xis

import "net/http"

// Defects of the access log (LOG-*): each one keeps serving and refusing
// exactly as the reference does and gets one thing of the log wrong, for
// one kind of read or one field.
func init() {
	Mutants = append(Mutants, logMutants...)
}

var logMutants = []Mutant{
	{
		Name: "zoekvraag-medicatie-niet-gelogd", Violates: []string{"LOG-01"},
		Description: "het XIS logt elke raadpleging, behalve zoekvragen naar MedicatieAfspraken (MedicationRequest)",
		audit:       func(a *access, _ map[string]any) bool { return !(a.search && a.typ == "MedicationRequest") },
	},
	{
		Name: "weigering-zonder-behandelrelatie-niet-gelogd", Violates: []string{"LOG-04"},
		Description: "het XIS weigert een zorgverlener zonder behandelrelatie terecht (403), maar logt die geweigerde raadpleging niet",
		audit:       func(a *access, _ map[string]any) bool { return a.status != http.StatusForbidden },
	},
	{
		Name: "log-technisch-account", Violates: []string{"LOG-02"},
		Description: "het XIS logt elke raadpleging onder zijn technische koppelingsaccount in plaats van de zorgverlener uit het token",
		audit: func(_ *access, ev map[string]any) bool {
			for _, a := range asList(ev["agent"]) {
				agent, _ := a.(map[string]any)
				if requestor, _ := agent["requestor"].(bool); requestor {
					agent["who"] = map[string]any{
						"identifier": map[string]any{"system": "https://xis.bcbench.test/account", "value": "svc-koppeling"},
						"display":    "XIS-koppelingsaccount",
					}
					agent["name"] = "XIS-koppelingsaccount"
					delete(agent, "altId")
					delete(agent, "role")
				}
			}
			return true
		},
	},
	{
		Name: "log-zonder-client", Violates: []string{"LOG-03"},
		Description: "het XIS logt wie wat las en wanneer, maar niet over welke cliënt (behalve bij het lezen van de Patient zelf)",
		audit: func(a *access, ev map[string]any) bool {
			if !a.search && a.typ == "Patient" {
				return true // the Patient read is the object itself
			}
			var kept []any
			for _, e := range asList(ev["entity"]) {
				ent, _ := e.(map[string]any)
				role, _ := ent["role"].(map[string]any)
				if role["system"] == objectRoleSystem && role["code"] == "1" {
					continue
				}
				kept = append(kept, e)
			}
			ev["entity"] = kept
			return true
		},
	},
}
