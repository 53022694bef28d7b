package xis

import (
	"net/http"

	"github.com/bcbench/bcbench/reference/audit"
)

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
		audit:       func(a *audit.Access, _ map[string]any) bool { return !(a.Search && a.Type == "MedicationRequest") },
	},
	{
		Name: "weigering-zonder-behandelrelatie-niet-gelogd", Violates: []string{"LOG-04"},
		Description: "het XIS weigert een zorgverlener zonder behandelrelatie terecht (403), maar logt die geweigerde raadpleging niet",
		audit:       func(a *audit.Access, _ map[string]any) bool { return a.Status != http.StatusForbidden },
	},
	{
		Name: "log-technisch-account", Violates: []string{"LOG-02"},
		Description: "het XIS logt elke raadpleging onder zijn technische koppelingsaccount in plaats van de zorgverlener uit het token",
		audit: func(_ *audit.Access, ev map[string]any) bool {
			audit.AsAccount(ev, "https://xis.bcbench.test/account", "svc-koppeling", "XIS-koppelingsaccount")
			return true
		},
	},
	{
		Name: "log-zonder-client", Violates: []string{"LOG-03"},
		Description: "het XIS logt wie wat las en wanneer, maar niet over welke cliënt (behalve bij het lezen van de Patient zelf)",
		audit: func(a *audit.Access, ev map[string]any) bool {
			if !a.Search && a.Type == "Patient" {
				return true // the Patient read is the object itself
			}
			audit.WithoutClient(ev)
			return true
		},
	},
}
