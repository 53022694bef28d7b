package index

import "slices"

// Mutant is the reference index with one seeded defect. Violates lists the
// requirement IDs the bench must report as failed for it, and only those.
type Mutant struct {
	Name        string
	Description string // Dutch, what is wrong
	Violates    []string
	loseSecond  bool   // the second new pointer of a transaction is answered but not stored
	keepDeleted bool   // a withdrawal is answered but the pointer stays
	otherClient bool   // a search adds another client's pointer
	keepCurrent bool   // a replaced pointer stays current
	ignore      string // a search parameter the index ignores
	half        bool   // a failing transaction keeps the entries before the bad one
	redirect    bool   // pointers are served pointing at the index, which redirects to another host
	duplicate   bool   // the same registration sent again is stored again
}

// Mutants lists every seeded defect of the reference index.
var Mutants = []Mutant{
	{
		Name: "registratie-kwijt", Violates: []string{"IDX-02"},
		Description: "de index bevestigt een registratie met meerdere verwijzingen, maar bewaart de tweede niet",
		loseSecond:  true,
	},
	{
		Name: "verwijzing-blijft", Violates: []string{"IDX-07"},
		Description: "de index bevestigt het intrekken van een verwijzing (vernietiging, ingetrokken toestemming) maar blijft haar leveren",
		keepDeleted: true,
	},
	{
		Name: "dubbel-geregistreerd", Violates: []string{"IDX-03"},
		Description: "de index slaat dezelfde registratie die een bron opnieuw aanbiedt nogmaals op, als tweede verwijzing",
		duplicate:   true,
	},
	{
		Name: "andere-client", Violates: []string{"IDX-04"},
		Description: "een zoekvraag naar de verwijzingen van een cliënt levert ook een verwijzing van een andere cliënt",
		otherClient: true,
	},
	{
		Name: "vervangen-blijft-actueel", Violates: []string{"IDX-06"},
		Description: "een vervangen verwijzing blijft status current houden",
		keepCurrent: true,
	},
	{
		Name: "status-genegeerd", Violates: []string{"IDX-05"},
		Description: "de index negeert de zoekparameter status en levert ook vervangen verwijzingen",
		ignore:      "status",
	},
	{
		Name: "half-toegepast", Violates: []string{"IDX-01"},
		Description: "een afgekeurde registratie wordt half verwerkt: wat vóór de foute entry stond, wordt toch bewaard",
		half:        true,
	},
	{
		// The receiver of a transfer never gets past the index either.
		Name: "omleiding", Violates: []string{"IDX-02", "IDX-08", "OVD-01", "OVD-02", "OVD-03"},
		Description: "de index levert verwijzingen die naar de index zelf wijzen en stuurt de consument daar door naar een andere host",
		redirect:    true,
	},
}

// LookupMutant returns the mutant with the given name.
func LookupMutant(name string) (Mutant, bool) {
	i := slices.IndexFunc(Mutants, func(m Mutant) bool { return m.Name == name })
	if i < 0 {
		return Mutant{}, false
	}
	return Mutants[i], true
}

// MutantNames lists the names of all mutants.
func MutantNames() []string {
	var names []string
	for _, m := range Mutants {
		names = append(names, m.Name)
	}
	return names
}
