package fact

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
)

// Pairing: every registered fact is paired with at most one published
// resource, and every comparison (value, unit, date, author, profile claim,
// subject, and for MP9 building blocks everything they carry) is made on
// that one resource. docs/design.md states the rule for vendors:
//
//   - a published resource is a candidate for a fact when it is of the
//     fact's resource type and its subject (or patient) is the person the
//     fact is about;
//   - an MP9 building block with an identifier pairs with the candidate
//     whose identifier has that value; without one, with the candidate of
//     the same category, product and start of the period of use (day);
//   - any other fact pairs with the candidate carrying the fact's code whose
//     clinically relevant date (effective, authoredOn, …) falls on the
//     event's day in Europe/Amsterdam;
//   - when several facts share such a key (twins' modes of birth), each takes
//     the candidate that agrees with it best, a candidate pairs with one
//     fact only, and candidates left over are duplicates;
//   - a fact without a pair is a finding for every requirement it concerns.

// Source is what a candidate published for one person (the client or a
// child), as the pairing reads it.
type Source struct {
	// Resources are the published resources by type.
	Resources map[string][]map[string]any
	// PatientID is the id of the person's Patient; PatientURLs the fullUrls
	// under which it was served (references may use those) and her BSN as
	// "system|value" (a logical reference by identifier).
	PatientID   string
	PatientURLs []string
	// Resolver resolves references (the product of a building block, an
	// author, the block a block refers to).
	Resolver Resolver
	// Reference is day 0 of the scenario.
	Reference time.Time
}

// Pair is one registered fact and the one published resource judged for it.
type Pair struct {
	Item Item
	// Resource is nil when nothing published pairs with the fact.
	Resource map[string]any
	// Duplicates are further published resources that pair with the same
	// fact: the fact was published more than once.
	Duplicates []map[string]any
	// Elsewhere explains a missing pair: the days of the person's resources
	// with the fact's type and code that did not pair, or for a building
	// block the identifiers of the unpaired blocks of its kind.
	Elsewhere []string
}

// Pairs pairs every item with what the source published. Its cost grows
// with the number of resources (the harness bounds a search), never with
// their product: a candidate publishing thousands of resources for one
// client gets findings, not a hang.
func Pairs(src Source, items []Item) []Pair {
	index := map[string][]map[string]any{}  // pairing key → candidates, in published order
	byCode := map[string][]map[string]any{} // type|system|code → candidates, for Elsewhere
	added := map[string]bool{}              // key + resource identity already indexed
	add := func(into map[string][]map[string]any, k, id string, r map[string]any) {
		if !added[k+"\x00"+id] {
			added[k+"\x00"+id] = true
			into[k] = append(into[k], r)
		}
	}
	for _, typ := range sortedKeys(src.Resources) {
		for _, r := range src.Resources[typ] {
			if !RefersTo(r, src.PatientID, src.PatientURLs...) {
				continue
			}
			id := identity(r)
			for _, k := range resourceKeys(r, src.Resolver) {
				add(index, k, id, r)
			}
			for _, c := range codings(r["code"]) {
				add(byCode, "code|"+typ+"|"+str(c["system"])+"|"+str(c["code"]), id, r)
			}
		}
	}
	pairs := make([]Pair, len(items))
	groups := map[string][]int{}
	var order []string
	for i, it := range items {
		pairs[i].Item = it
		k := itemKey(it, src.Reference)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	taken := map[string]bool{} // resource identity (type/id or pointer text) already paired
	for _, k := range order {
		members := groups[k]
		var cands []map[string]any
		for _, r := range index[k] {
			if !taken[identity(r)] {
				cands = append(cands, r)
			}
		}
		free := slices.Clone(cands)
		for _, i := range members {
			best, bestScore := -1, 0
			for j, r := range free {
				if r == nil {
					continue
				}
				s := len(compare(r, pairs[i].Item, src))
				if best < 0 || s < bestScore {
					best, bestScore = j, s
				}
			}
			if best >= 0 {
				pairs[i].Resource = free[best]
				taken[identity(free[best])] = true
				free[best] = nil
			}
		}
		for _, r := range free {
			if r == nil {
				continue
			}
			// A leftover candidate duplicates the fact it agrees with best.
			best, bestScore := members[0], -1
			for _, i := range members {
				if s := len(compare(r, pairs[i].Item, src)); bestScore < 0 || s < bestScore {
					best, bestScore = i, s
				}
			}
			pairs[best].Duplicates = append(pairs[best].Duplicates, r)
			taken[identity(r)] = true
		}
	}
	for i := range pairs {
		p := &pairs[i]
		if p.Resource != nil {
			continue
		}
		f := p.Item.Fact
		if m := f.Medication; m != nil {
			// What else of this block was published, by identifier.
			cat := fixtures.Coding{System: SNOMED, Code: blockCategory[m.Block]}
			for _, r := range src.Resources[f.ResourceType] {
				if taken[identity(r)] || !RefersTo(r, src.PatientID, src.PatientURLs...) || !hasCoding(categoryCodings(r), cat) {
					continue
				}
				ids := []string{}
				for _, x := range list(r["identifier"]) {
					if v := str(asMap(x)["value"]); v != "" {
						ids = append(ids, v)
					}
				}
				if len(ids) == 0 {
					ids = []string{identity(r) + " zonder identificatie"}
				}
				p.Elsewhere = append(p.Elsewhere, ids...)
			}
			slices.Sort(p.Elsewhere)
			p.Elsewhere = slices.Compact(p.Elsewhere)
			continue
		}
		for _, r := range byCode["code|"+f.ResourceType+"|"+f.Code.System+"|"+f.Code.Code] {
			if taken[identity(r)] {
				continue
			}
			d, _ := Date(r, "")
			if day := Day(d); day != "" {
				p.Elsewhere = append(p.Elsewhere, day)
			} else {
				p.Elsewhere = append(p.Elsewhere, "zonder datum")
			}
		}
		slices.Sort(p.Elsewhere)
		p.Elsewhere = slices.Compact(p.Elsewhere)
	}
	return pairs
}

// compare is what a candidate of a fact gets wrong: its value, or for a
// building block everything the block carries.
func compare(r map[string]any, it Item, src Source) []Finding {
	if m := it.Fact.Medication; m != nil {
		return Block(r, it, src)
	}
	return Value(r, it.Event.ID, it.Fact, func(day int) string {
		return fixtures.Date(src.Reference, day).Format(fixtures.DateLayout)
	})
}

// itemKey is the pairing key of a registered fact.
func itemKey(it Item, reference time.Time) string {
	f := it.Fact
	if m := f.Medication; m != nil {
		if m.ID != "" {
			return "mp9|" + f.ResourceType + "|id|" + m.ID
		}
		start := fixtures.Date(reference, m.StartDay).Format(fixtures.DateLayout)
		return "mp9|" + f.ResourceType + "|" + blockCategory[m.Block] + "|" + m.Product.System + "|" + m.Product.Code + "|" + start
	}
	day := At(reference, it.Event).In(fixtures.Amsterdam).Format(fixtures.DateLayout)
	return "fact|" + f.ResourceType + "|" + f.Code.System + "|" + f.Code.Code + "|" + day
}

// resourceKeys are the pairing keys a published resource answers to.
func resourceKeys(r map[string]any, rv Resolver) []string {
	typ := str(r["resourceType"])
	var keys []string
	switch typ {
	case "MedicationRequest", "MedicationDispense", "MedicationStatement":
		for _, id := range list(r["identifier"]) {
			if v := str(asMap(id)["value"]); v != "" {
				keys = append(keys, "mp9|"+typ+"|id|"+v)
			}
		}
		start := Day(str(blockPeriod(r)["start"]))
		for _, cat := range categoryCodings(r) {
			for _, p := range Product(r, rv) {
				keys = append(keys, "mp9|"+typ+"|"+str(cat["code"])+"|"+str(p["system"])+"|"+str(p["code"])+"|"+start)
			}
		}
		return keys
	}
	d, _ := Date(r, "")
	day := Day(d)
	if day == "" {
		return nil
	}
	for _, c := range codings(r["code"]) {
		keys = append(keys, "fact|"+typ+"|"+str(c["system"])+"|"+str(c["code"])+"|"+day)
	}
	return keys
}

// Identity names a published resource: its type and id, or for a resource
// without id its place in memory.
func Identity(r map[string]any) string { return identity(r) }

func identity(r map[string]any) string {
	if id := str(r["id"]); id != "" {
		return str(r["resourceType"]) + "/" + id
	}
	return fmt.Sprintf("%p", r)
}

// Unpaired is the finding for a fact that nothing published pairs with,
// naming the event, the fact and what was looked for.
func (p Pair) Unpaired(reference time.Time) Finding {
	it := p.Item
	f := it.Fact
	var want string
	if m := f.Medication; m != nil {
		what := blockName[m.Block]
		if m.ID != "" {
			want = fmt.Sprintf("een %s (%s) met identificatie %s voor %s", what, f.ResourceType, m.ID, productText(m.Product))
		} else {
			want = fmt.Sprintf("een %s (%s) voor %s met start %s", what, f.ResourceType, productText(m.Product),
				fixtures.Date(reference, m.StartDay).Format(fixtures.DateLayout))
		}
	} else {
		day := At(reference, it.Event).In(fixtures.Amsterdam).Format(fixtures.DateLayout)
		want = fmt.Sprintf("een %s met code %s (%s) op %s", f.ResourceType, codeText(f.Code), f.Name, day)
	}
	got := "niets"
	switch {
	case len(p.Elsewhere) > 0 && f.Medication != nil:
		got = blockName[f.Medication.Block] + " alleen met andere identificatie: " + strings.Join(p.Elsewhere, ", ")
	case len(p.Elsewhere) > 0:
		got = "alleen met een andere datum: " + strings.Join(p.Elsewhere, ", ")
	}
	return Finding{Event: it.Event.ID, Fact: f.Key, Element: f.ResourceType, Want: want, Got: got}
}

// Duplicated is the finding for a fact published more than once (nil when
// it was published once).
func (p Pair) Duplicated() []Finding {
	if len(p.Duplicates) == 0 {
		return nil
	}
	refs := []string{identity(p.Resource)}
	for _, d := range p.Duplicates {
		refs = append(refs, identity(d))
	}
	return []Finding{{Event: p.Item.Event.ID, Fact: p.Item.Fact.Key, Element: p.Item.Fact.ResourceType,
		Want: "één keer gepubliceerd", Got: fmt.Sprintf("%d keer: %s", len(refs), strings.Join(refs, ", "))}}
}

func productText(c fixtures.Coding) string {
	if c.Display != "" {
		return fmt.Sprintf("%s (%s)", c.Display, codeText(c))
	}
	return codeText(c)
}

// blockName is the Dutch name of a building block, as a midwife reads it.
var blockName = map[string]string{
	fixtures.MedicatieAfspraak:     "MedicatieAfspraak",
	fixtures.VerstrekkingsVerzoek:  "VerstrekkingsVerzoek",
	fixtures.ToedieningsAfspraak:   "ToedieningsAfspraak",
	fixtures.MedicatieVerstrekking: "MedicatieVerstrekking",
	fixtures.MedicatieGebruik:      "MedicatieGebruik",
}

func sortedKeys(m map[string][]map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
