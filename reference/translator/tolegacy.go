package translator

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/bcbench/bcbench/fixtures/truth"
)

// ToADA is direction D: a FHIR Bundle (as ToFHIR makes it from the legacy
// verloskundig dossier) in, the verloskundig_dossier_23 ADA instance a
// legacy XIS imports out. What the legacy form has no element for is left
// out; a masked BSN stays masked (nullFlavor MSK).
func ToADA(r io.Reader) ([]byte, error) { return toADA(r, nil) }

// toADA is ToADA with a mutant's defects (when not nil): its back applied
// to the Bundle's resources first, its reshape to the ADA written.
func toADA(r io.Reader, m *Mutant) ([]byte, error) {
	data, err := io.ReadAll(&io.LimitedReader{R: r, N: MaxInput + 1})
	if err != nil {
		return nil, fmt.Errorf("translate FHIR to ADA: read: %w", err)
	}
	if len(data) > MaxInput {
		return nil, fmt.Errorf("translate FHIR to ADA: %w", ErrTooLarge)
	}
	var bundle struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&bundle); err != nil {
		return nil, fmt.Errorf("translate FHIR to ADA: %w: %v", ErrMalformed, err)
	}
	if bundle.ResourceType != "Bundle" {
		return nil, fmt.Errorf("translate FHIR to ADA: %w: resourceType %q, want Bundle", ErrMalformed, bundle.ResourceType)
	}
	var rs []map[string]any
	for _, e := range bundle.Entry {
		if e.Resource != nil {
			rs = append(rs, e.Resource)
		}
	}
	if m != nil && m.back != nil {
		rs = m.back(rs)
	}
	root, err := legacyADA(rs)
	if err != nil {
		return nil, err
	}
	inShapeOrder(root, truth.ADAShape())
	if m != nil && m.reshape != nil {
		m.reshape(root)
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	writeNode(&b, root, 0)
	return b.Bytes(), nil
}

// inShapeOrder puts the elements below n in the order the transaction
// defines (an ADA instance is order-sensitive XML); an element the shape
// does not know keeps its place after the known ones.
func inShapeOrder(n *Node, shape *truth.ADAElement) {
	rank := func(k *Node) int {
		if i, _ := shape.Child(k.Name); i >= 0 {
			return i
		}
		return len(shape.Kids)
	}
	slices.SortStableFunc(n.Kids, func(a, b *Node) int { return rank(a) - rank(b) })
	for _, k := range n.Kids {
		if _, e := shape.Child(k.Name); e != nil {
			inShapeOrder(k, e)
		}
	}
}

// legacyADA builds the verloskundig_dossier_23 instance of resources.
func legacyADA(rs []map[string]any) (*Node, error) {
	root := &Node{Name: "verloskundig_dossier_23", Attr: map[string]string{"transactionRef": "2.16.840.1.113883.2.4.3.11.60.90.77.4.2467", "prefix": "peri20-"}}
	patients := map[string]map[string]any{}
	var mother string
	for _, r := range rs {
		if r["resourceType"] != "Patient" {
			continue
		}
		id := "Patient/" + s(r["id"])
		patients[id] = r
		if strings.Contains(fmt.Sprint(r["meta"]), "bc-Woman") || mother == "" && len(patients) == 1 {
			mother = id
		}
	}
	if mother == "" {
		return nil, fmt.Errorf("translate FHIR to ADA: %w: no Patient for the woman", ErrMalformed)
	}
	vrouw := add(root, "vrouw")
	person(vrouw, patients[mother], "burgerservicenummer", "geboortedatum")
	barings := map[string]*Node{} // child Patient reference → her baring
	baring := func(child string) *Node {
		if b, ok := barings[child]; ok && child != "" {
			return b
		}
		b := add(path(root, "uitkomst_per_kind"), "baring")
		if p := patients[child]; p != nil && child != mother {
			d := add(b, "demografische_gegevens")
			if p["identifier"] != nil {
				add(add(d, "identificaties_kind"), "bsn_kind").Attr["nullFlavor"] = "MSK"
			}
			for g, v := range legacySex {
				if v == p["gender"] {
					add(d, "geslacht_medische_observatie").Attr["value"] = g
				}
			}
			if bd := s(p["birthDate"]); bd != "" {
				add(d, "geboortedatum").Attr["value"] = adaDate(bd)
			}
			barings[child] = b
		}
		return b
	}
	for id := range patients {
		if id != mother {
			baring(id)
		}
	}
	var when string
	for _, r := range rs {
		if r["resourceType"] != "Observation" {
			continue
		}
		rule, ok := ruleFor(r, mother)
		if !ok {
			continue // the legacy form has no element for it
		}
		if when == "" {
			when = s(r["effectiveDateTime"])
		}
		subject := s(mapOf(r["subject"])["reference"])
		var n *Node
		if rel, ok := strings.CutPrefix(rule.path, "baring/"); ok {
			if subject == mother {
				subject = "" // a mother's fact about one of several children (twins): a baring each
			}
			n = leafAt(baring(subject), rel)
		} else if group, ok := strings.CutSuffix(rule.path, "/glucose/glucose"); ok {
			// every glucose value is a group of its own, with its moment
			g := add(path(root, group), "glucose")
			add(g, "tijd").Attr["value"] = adaDate(s(r["effectiveDateTime"]))
			n = add(g, "glucose")
		} else {
			n = leafAt(root, rule.path)
		}
		if rule.kind == "feeding" {
			add(n, "voeding_kind_datum").Attr["value"] = firstN(adaDate(s(r["effectiveDateTime"])), 10)
		}
		if err := legacyValue(n, rule, r); err != nil {
			return nil, fmt.Errorf("translate FHIR to ADA: %s: %w", rule.path, err)
		}
	}
	if when != "" {
		root.Attr["transactionEffectiveDate"] = adaDate(when)
	}
	return root, nil
}

// ruleFor finds the legacy rule of an Observation by its profile and code;
// the pregnancy duration at birth (about the child) and at a control
// (about the woman) differ by subject.
func ruleFor(r map[string]any, mother string) (legacyRule, bool) {
	var code string
	for _, c := range list(mapOf(r["code"])["coding"]) {
		code = s(mapOf(c)["system"]) + "|" + s(mapOf(c)["code"])
		break
	}
	profiles := fmt.Sprint(mapOf(r["meta"])["profile"])
	for _, rule := range legacyRules {
		if rule.codes[0].System+"|"+rule.codes[0].Code == code && strings.Contains(profiles, "/"+rule.profile) {
			if rule.path == "zwangerschap/pariteit" {
				continue // the PWD 2.2 name; write the 2.3 one
			}
			if rule.profile == "zib-Pregnancy-PregnancyDuration" && strings.HasPrefix(rule.path, "baring/") != (s(mapOf(r["subject"])["reference"]) != mother) {
				continue
			}
			return rule, true
		}
	}
	return legacyRule{}, false
}

func legacyValue(n *Node, rule legacyRule, r map[string]any) error {
	kind, enum, _ := strings.Cut(rule.kind, ":")
	if dar := mapOf(r["dataAbsentReason"]); dar != nil {
		n.Attr["nullFlavor"] = "UNK"
		return nil
	}
	q := mapOf(r["valueQuantity"])
	cc := firstCoding(r["valueCodeableConcept"])
	switch kind {
	case "int":
		n.Attr["value"] = s(q["value"])
	case "quantity":
		n.Attr["value"], n.Attr["unit"] = s(q["value"]), s(q["code"])
	case "code":
		n.Attr["value"] = s(cc["code"])
	case "enum":
		for k, c := range legacyEnums[enum] {
			if c.Code == s(cc["code"]) {
				n.Attr["value"] = k
			}
		}
	case "date":
		n.Attr["value"] = adaDate(s(r["valueDateTime"]))
	case "bool":
		n.Attr["value"] = s(r["valueBoolean"])
	case "bp":
		for _, c := range list(r["component"]) {
			cm := mapOf(c)
			el := map[string]string{"8480-6": "bloeddruk_systolisch", "8462-4": "bloeddruk_diastolisch"}[s(firstCoding(cm["code"])["code"])]
			if el == "" {
				continue
			}
			cq := mapOf(cm["valueQuantity"])
			k := add(n, el)
			k.Attr["value"], k.Attr["unit"] = s(cq["value"]), s(cq["code"])
		}
	case "feeding":
		for _, c := range list(r["component"]) {
			v := s(firstCoding(mapOf(c)["valueCodeableConcept"])["code"])
			for k, e := range legacyEnums["feeding"] {
				if e.Code == v {
					add(n, "substantie_voeding_kind").Attr["value"] = k
				}
			}
		}
	}
	if kind != "bp" && kind != "feeding" && n.Attr["value"] == "" {
		return errors.New("no value the legacy form can hold")
	}
	return nil
}

func person(n *Node, p map[string]any, bsnEl, birthEl string) {
	if p["identifier"] != nil {
		add(n, bsnEl).Attr["nullFlavor"] = "MSK"
	}
	if bd := s(p["birthDate"]); bd != "" {
		add(n, birthEl).Attr["value"] = adaDate(bd)
	}
}

func add(n *Node, name string) *Node {
	k := &Node{Name: name, Attr: map[string]string{}}
	n.Kids = append(n.Kids, k)
	return k
}

// path walks (creating) a slash-separated path of first children.
func path(n *Node, p string) *Node {
	for _, step := range strings.Split(p, "/") {
		k := n.Child(step)
		if k == nil {
			k = add(n, step)
		}
		n = k
	}
	return n
}

// leafAt adds the last step of p as a new element below the (shared) rest.
func leafAt(n *Node, p string) *Node {
	dir, leaf := "", p
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		dir, leaf = p[:i], p[i+1:]
	}
	if dir != "" {
		n = path(n, dir)
	}
	return add(n, leaf)
}

func writeNode(b *bytes.Buffer, n *Node, depth int) {
	b.WriteString(strings.Repeat("   ", depth) + "<" + n.Name)
	keys := make([]string, 0, len(n.Attr))
	for k := range n.Attr {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(" " + k + `="`)
		_ = xml.EscapeText(b, []byte(n.Attr[k]))
		b.WriteString(`"`)
	}
	if len(n.Kids) == 0 {
		b.WriteString("/>\n")
		return
	}
	b.WriteString(">\n")
	for _, k := range n.Kids {
		writeNode(b, k, depth+1)
	}
	b.WriteString(strings.Repeat("   ", depth) + "</" + n.Name + ">\n")
}

func s(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return fmt.Sprint(x)
	default:
		return fmt.Sprint(x)
	}
}

func mapOf(v any) map[string]any { m, _ := v.(map[string]any); return m }

func list(v any) []any { l, _ := v.([]any); return l }

func firstCoding(v any) map[string]any {
	for _, c := range list(mapOf(v)["coding"]) {
		return mapOf(c)
	}
	return nil
}
