package translator

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/suites/fact"
	"github.com/bcbench/bcbench/suites/profile"
	"github.com/bcbench/bcbench/suites/spec"
)

// maxAnswer bounds what the bench reads of one translation.
const maxAnswer = 32 << 20

// post sends one body to the translator's /translate.
func post(ctx context.Context, tr *harness.Adapter, contentType string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(tr.Base, "/")+"/translate", body)
	if err != nil {
		return 0, nil, fmt.Errorf("build the translate request: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	if tr.Token != "" {
		req.Header.Set("Authorization", "Bearer "+tr.Token)
	}
	resp, err := tr.Client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("translate: %w: %v", harness.ErrNoAnswer, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("translate: read the answer: %w", err)
	}
	if len(data) > maxAnswer {
		return resp.StatusCode, nil, fmt.Errorf("translate: the answer is larger than %d MiB", maxAnswer>>20)
	}
	return resp.StatusCode, data, nil
}

// Translated is one registration's translation (direction B).
type Translated struct {
	Reg       fixtures.Registration
	Resources []map[string]any
	// Bundle is the answer, decoded once (nil with a Problem); the bytes
	// are not kept.
	Bundle map[string]any
	// Leaked are the BSNs of the registration found anywhere in the
	// answer's bytes (VRT-03).
	Leaked []string
	// Problem says why there is no translation: the translator refused a
	// valid instance or answered with something other than a FHIR Bundle
	// (the candidate's fault, a finding).
	Problem string
}

// TranslateAll sends every registration's ADA to the translator. An
// error means the bench could not ask (no answer at all).
func TranslateAll(ctx context.Context, tr *harness.Adapter, regs []fixtures.Registration) ([]Translated, error) {
	out := make([]Translated, 0, len(regs))
	for _, reg := range regs {
		ada, err := truth.ADA(reg)
		if err != nil {
			return nil, fmt.Errorf("render the ADA of %s/%s: %w", reg.Scenario, reg.Event, err)
		}
		t, err := translate(ctx, tr, reg, ada)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// leaks is the BSNs the answer carries: in its raw bytes, or in any
// string of it decoded as JSON (a BSN written with escapes, "\u0039…").
func leaks(body []byte, bsns []string) []string {
	var strs []string
	var doc any
	if json.Unmarshal(body, &doc) == nil {
		strs = stringsIn(doc, strs)
	}
	var out []string
	for _, bsn := range bsns {
		if bsn == "" {
			continue
		}
		if bytes.Contains(body, []byte(bsn)) || slices.ContainsFunc(strs, func(s string) bool { return strings.Contains(s, bsn) }) {
			out = append(out, bsn)
		}
	}
	return out
}

// stringsIn appends every string of a decoded JSON value, keys included.
func stringsIn(v any, out []string) []string {
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			out = stringsIn(e, out)
		}
	case map[string]any:
		for k, e := range x {
			out = stringsIn(e, append(out, k))
		}
	}
	return out
}

func translate(ctx context.Context, tr *harness.Adapter, reg fixtures.Registration, ada []byte) (Translated, error) {
	t := Translated{Reg: reg}
	status, body, err := post(ctx, tr, "application/xml", bytes.NewReader(ada))
	if err != nil {
		return t, fmt.Errorf("%s/%s: %w", reg.Scenario, reg.Event, err)
	}
	t.Leaked = leaks(body, bsns(reg))
	if status != http.StatusOK {
		t.Problem = fmt.Sprintf("de vertaler antwoordde %d op een geldige ADA-instantie", status)
		return t, nil
	}
	var bundle map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&bundle); err != nil || bundle["resourceType"] != "Bundle" {
		t.Problem = "het antwoord is geen FHIR-Bundle"
		return t, nil
	}
	t.Bundle = bundle
	for _, e := range asList(bundle["entry"]) {
		if r, ok := asMap(e)["resource"].(map[string]any); ok {
			t.Resources = append(t.Resources, r)
		}
	}
	return t, nil
}

// Findings of the content checks, per requirement.
type Findings struct {
	Carried  []string // VRT-01: a fact of the input not (or not the same) in the output
	Invented []string // VRT-02: a fact in the output that the input does not have
	BSN      []string // VRT-03: a BSN in a MedMij output
	// Covered and Facts give the coverage: registered facts carried, of all.
	Covered, Facts int
}

// Content compares each translation's facts with the registration's:
// paired by what was observed (profile, code, subject), a fact that is not
// found the same is a VRT-01 finding, a surplus in a pair group a VRT-02
// finding.
func Content(ts []Translated) (Findings, error) {
	var f Findings
	for _, t := range ts {
		where := t.Reg.Scenario + "/" + t.Reg.Event
		if t.Problem != "" {
			f.Carried = append(f.Carried, where+": "+t.Problem)
			continue
		}
		want, err := Expected(t.Reg)
		if err != nil {
			return f, fmt.Errorf("the expected facts of %s: %w", where, err)
		}
		got := fact.ClinicalFacts(t.Resources)
		lost, extra := Compare(got, want)
		for _, c := range lost {
			f.Carried = append(f.Carried, where+": niet (zo) vertaald: "+c.String())
		}
		for _, c := range extra {
			f.Invented = append(f.Invented, where+": toegevoegd: "+c.String())
		}
		c, a := Coverage(t.Reg, got)
		f.Covered, f.Facts = f.Covered+c, f.Facts+a
		for _, bsn := range t.Leaked {
			f.BSN = append(f.BSN, fmt.Sprintf("%s: het BSN %s staat in de MedMij-uitvoer", where, bsn))
		}
	}
	return f, nil
}

// Compare pairs facts by identity (resource type, code, subject): within a
// group, the wanted facts without an equal got are lost; got facts beyond
// the group's wanted count are extra (invented). The profile a resource
// claims is not part of a fact here: VRT-06 judges the claim against what
// the transaction asks (Targets), so a lost or wrong claim is one finding
// there, not a lost and an invented fact as well.
func Compare(got, want []fact.Clinical) (lost, extra []fact.Clinical) {
	got, want = unclaimed(got), unclaimed(want)
	id := func(c fact.Clinical) string { return c.Profile + " ¦ " + c.Code + " ¦ " + c.Subject }
	groups := map[string][2][]fact.Clinical{}
	for _, w := range want {
		g := groups[id(w)]
		g[1] = append(g[1], w)
		groups[id(w)] = g
	}
	for _, c := range got {
		g := groups[id(c)]
		g[0] = append(g[0], c)
		groups[id(c)] = g
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := groups[k]
		m := fact.Agree(g[0], g[1])
		lost = append(lost, m.Missing...)
		if surplus := len(g[0]) - len(g[1]); surplus > 0 {
			extra = append(extra, m.Extra[len(m.Extra)-min(surplus, len(m.Extra)):]...)
		}
	}
	return lost, extra
}

// unclaimed are facts with the resource type in place of the claimed
// profiles.
func unclaimed(cs []fact.Clinical) []fact.Clinical {
	out := make([]fact.Clinical, len(cs))
	for i, c := range cs {
		c.Profile, _, _ = strings.Cut(c.Resource, "/")
		out[i] = c
	}
	return out
}

func bsns(reg fixtures.Registration) []string {
	out := []string{reg.Client.BSN}
	if reg.Subject != nil {
		out = append(out, reg.Subject.BSN)
	}
	return out
}

// NullFlavorProbe is a registration's ADA with its first body weight made
// unknown (nullFlavor UNK), and the facts a translation must then carry:
// the weight as unknown, never as a value. ok is false when the
// registration has no body weight.
func NullFlavorProbe(reg fixtures.Registration) (ada []byte, want []fact.Clinical, ok bool, err error) {
	ada, err = truth.ADA(reg)
	if err != nil {
		return nil, nil, false, err
	}
	loc := weightElement.FindIndex(ada)
	if loc == nil {
		return nil, nil, false, nil
	}
	ada = slices.Concat(ada[:loc[0]], []byte(`<gewicht_gemeten nullFlavor="UNK"/>`), ada[loc[1]:])
	want, err = Expected(reg)
	if err != nil {
		return nil, nil, false, err
	}
	for i, c := range want {
		if c.Code == fixtures.CodeBodyWeight.System+"|"+fixtures.CodeBodyWeight.Code {
			want[i].Value, want[i].Unit = "absent:unknown", ""
			return ada, want, true, nil
		}
	}
	return nil, nil, false, nil
}

var weightElement = regexp.MustCompile(`<gewicht_gemeten value="[^"]*" unit="[^"]*"/>`)

// Back is direction D: the registration's ground truth as a Bundle in, the
// ADA out; the answer must have the transaction's shape (truth.ShapeProblems:
// root, element names, nesting, order, values on leaves) and every leaf of
// the legacy form the MedMij output carries must be in it with the same
// value and unit (VRT-04).
func Back(ctx context.Context, tr *harness.Adapter, regs []fixtures.Registration) ([]string, error) {
	var findings []string
	for _, reg := range regs {
		where := reg.Scenario + "/" + reg.Event
		rs, err := truth.STU3(reg)
		if err != nil {
			return nil, fmt.Errorf("the STU3 rendering of %s: %w", where, err)
		}
		entries := make([]any, len(rs))
		for i, r := range rs {
			entries[i] = map[string]any{"resource": r}
		}
		body, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "collection", "entry": entries})
		if err != nil {
			return nil, fmt.Errorf("encode the Bundle of %s: %w", where, err)
		}
		status, answer, err := post(ctx, tr, "application/fhir+json", bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if status != http.StatusOK {
			findings = append(findings, fmt.Sprintf("%s: de vertaler antwoordde %d op een FHIR-Bundle", where, status))
			continue
		}
		ada, err := truth.ADA(reg)
		if err != nil {
			return nil, err
		}
		want := carriedLeaves(reg, ada)
		got, err := leaves(answer)
		if err != nil {
			findings = append(findings, fmt.Sprintf("%s: het antwoord is geen ADA-instantie: %v", where, err))
			continue
		}
		shape, err := truth.ShapeProblems(answer)
		if err != nil {
			findings = append(findings, fmt.Sprintf("%s: het antwoord is geen ADA-instantie: %v", where, err))
			continue
		}
		for _, p := range shape {
			findings = append(findings, fmt.Sprintf("%s: de terugvertaling heeft niet de vorm van de transactie: %s", where, p))
		}
		pool := map[string]int{}
		for _, g := range got {
			pool[g]++
		}
		for _, w := range want {
			if pool[w] == 0 {
				findings = append(findings, fmt.Sprintf("%s: terugvertaling mist %s", where, w))
				continue
			}
			pool[w]--
		}
	}
	return findings, nil
}

// carriedLeaves are the leaves of the registration's ADA below the
// elements of facts MedMij Geboortezorg STU3 carries.
func carriedLeaves(reg fixtures.Registration, ada []byte) []string {
	var prefixes []string
	for _, f := range reg.Facts {
		if f.STU3Profile == "" || f.ResourceType == "Patient" {
			continue
		}
		if p := truth.ADAPath(f); p != "" {
			prefixes = append(prefixes, p)
		}
	}
	all, _ := leaves(ada)
	var out []string
	for _, l := range all {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p+"=") || strings.HasPrefix(l, p+"/") {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

// leaves are an ADA document's "path=value unit" strings (path below the
// root), bounded like the translator's own input.
func leaves(doc []byte) ([]string, error) {
	if len(doc) > maxAnswer {
		return nil, errors.New("larger than the bench reads")
	}
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = true
	var stack, out []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch e := tok.(type) {
		case xml.Directive:
			return nil, errors.New("DOCTYPE in the answer")
		case xml.StartElement:
			if len(stack) > 64 {
				return nil, errors.New("nested too deep")
			}
			stack = append(stack, e.Name.Local)
			var v, u string
			for _, a := range e.Attr {
				switch a.Name.Local {
				case "value":
					v = a.Value
				case "unit":
					u = a.Value
				}
			}
			if v != "" && len(stack) > 1 {
				out = append(out, strings.TrimSpace(strings.Join(stack[1:], "/")+"="+v+" "+u))
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	return out, nil
}

func asList(v any) []any { l, _ := v.([]any); return l }

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// BadInput sends what a translator must refuse (VRT-05): each must be
// answered 4xx, in time, and nothing may be fetched from the address an
// external entity names (fetched counts what reached it).
func BadInput(ctx context.Context, tr *harness.Adapter, entityURL string, fetched func() int) ([]string, error) {
	probes := []struct {
		name string
		body func() io.Reader
	}{
		{"niet well-formed", func() io.Reader {
			return strings.NewReader(`<verloskundig_dossier_23><vrouw></verloskundig_dossier_23>`)
		}},
		{"onbekende transactie", func() io.Reader { return strings.NewReader(`<beschikbaarstellen_onbekend transactionRef="1.2.3"/>`) }},
		{"entiteitenbom", func() io.Reader {
			return strings.NewReader(`<?xml version="1.0"?><!DOCTYPE v [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><verloskundig_dossier_23><vrouw><geboortedatum value="&d;"/></vrouw></verloskundig_dossier_23>`)
		}},
		{"externe entiteit", func() io.Reader {
			return strings.NewReader(`<?xml version="1.0"?><!DOCTYPE v [<!ENTITY x SYSTEM "` + entityURL + `">]><verloskundig_dossier_23><vrouw><burgerservicenummer value="&x;"/></vrouw></verloskundig_dossier_23>`)
		}},
		{"17 MiB", func() io.Reader {
			return io.MultiReader(strings.NewReader("<verloskundig_dossier_23><vrouw>"), &filler{n: 17 << 20}, strings.NewReader("</vrouw></verloskundig_dossier_23>"))
		}},
	}
	var findings []string
	for _, p := range probes {
		status, _, err := post(ctx, tr, "application/xml", p.body())
		if err != nil && status == 0 {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			findings = append(findings, fmt.Sprintf("%s: geen antwoord (%v)", p.name, err))
			continue
		}
		if status < 400 || status > 499 {
			findings = append(findings, fmt.Sprintf("%s: de vertaler antwoordde %d, verwacht 4xx", p.name, status))
		}
	}
	if n := fetched(); n > 0 {
		findings = append(findings, fmt.Sprintf("externe entiteit: de vertaler haalde %d keer %s op", n, entityURL))
	}
	return findings, nil
}

// filler is n bytes of harmless element content, never held in memory.
type filler struct{ n int }

func (f *filler) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.EOF
	}
	k := min(len(p), f.n)
	for i := range k {
		p[i] = "<a/>"[i%4]
	}
	f.n -= k
	return k, nil
}

// Unknown sends the first registration with a body weight once more, the
// weight made unknown (NullFlavorProbe): it must come out unknown (VRT-01).
func Unknown(ctx context.Context, tr *harness.Adapter, regs []fixtures.Registration) ([]string, error) {
	for _, reg := range regs {
		ada, want, ok, err := NullFlavorProbe(reg)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		where := reg.Scenario + "/" + reg.Event + " met een onbekend gewicht (nullFlavor)"
		t, err := translate(ctx, tr, reg, ada)
		if err != nil {
			return nil, err
		}
		if t.Problem != "" {
			return []string{where + ": " + t.Problem}, nil
		}
		var problems []string
		lost, _ := Compare(fact.ClinicalFacts(t.Resources), want)
		for _, c := range lost {
			problems = append(problems, where+": niet (zo) vertaald: "+c.String())
		}
		return problems, nil
	}
	return nil, nil
}

// Conformance validates every translation's Bundle (VRT-06): the Bundle
// against the FHIR rules, each resource against the profiles it claims in
// meta.profile, the resources a reference points to (found in the same
// translation by Type/id) against the target profiles, and each resource
// against the profiles the transaction asks for it (Targets): a resource
// that does not claim them is a finding, and is validated against them.
// problems names each translation with an error and its errors; undecided
// every check the engine could not decide ("scenario/event expression:
// message"). A translation that came back without a Bundle to judge
// (VRT-01 names it) is undecided here, so VRT-06 never passes on what it
// did not see.
func Conformance(ctx context.Context, v spec.Validator, ts []Translated) (problems, undecided []string, err error) {
	for _, t := range ts {
		where := t.Reg.Scenario + "/" + t.Reg.Event
		if t.Problem != "" || t.Bundle == nil {
			undecided = append(undecided, where+": geen vertaling om te valideren ("+t.Problem+")")
			continue
		}
		byRef := map[string]map[string]any{}
		for _, r := range t.Resources {
			byRef[fmt.Sprint(r["resourceType"], "/", r["id"])] = r
		}
		resolve := func(ref string) (map[string]any, bool) { r, ok := byRef[ref]; return r, ok }
		errs, und, err := profile.Check(ctx, v, t.Bundle, resolve)
		if err != nil {
			return nil, nil, fmt.Errorf("validate the translation of %s: %w", where, err)
		}
		targets, err := TargetsOf(t.Reg)
		if err != nil {
			return nil, nil, fmt.Errorf("the target profiles of %s: %w", where, err)
		}
		claimErrs, claimUnd, err := claimsTargets(ctx, v, t.Resources, targets, resolve)
		if err != nil {
			return nil, nil, fmt.Errorf("validate the translation of %s: %w", where, err)
		}
		errs = append(errs, claimErrs...)
		for _, u := range append(und, claimUnd...) {
			undecided = append(undecided, where+" "+u)
		}
		if len(errs) > 0 {
			problems = append(problems, fmt.Sprintf("%s: de vertaling voldoet niet aan de profielen die de transactie vraagt:\n%s", where, strings.Join(errs, "\n")))
		}
	}
	return problems, undecided, nil
}

// geboortezorg says whether a profile is one of the STU3 profiles a MedMij
// Geboortezorg answer claims: a zib (zib2017), a bc- profile or an
// nl-core one; an HL7 base profile is none.
func geboortezorg(canonical string) bool {
	return strings.HasPrefix(canonical, fixtures.Nictiz+"zib-") || strings.HasPrefix(canonical, fixtures.Nictiz+"bc-") ||
		strings.HasPrefix(canonical, "http://fhir.nl/fhir/StructureDefinition/nl-core-")
}

// claimsTargets checks that each resource claims the profiles the
// transaction asks for it, and validates one that does not against them
// (what it claims was validated with the Bundle). A resource the
// transaction has no profile for must claim one of its own, a zib, bc- or
// nl-core STU3 profile: every resource of a MedMij Geboortezorg answer does.
func claimsTargets(ctx context.Context, v spec.Validator, rs []map[string]any, targets Targets, resolve spec.Resolve) (errs, undecided []string, err error) {
	people := patientsOf(rs)
	for _, r := range rs {
		name := fmt.Sprint(r["resourceType"], "/", r["id"])
		want, got := targets.For(r, people), Claimed(r)
		if want == nil {
			switch {
			case len(got) == 0:
				errs = append(errs, "  "+name+": claimt geen profiel (meta.profile ontbreekt)")
			case !slices.ContainsFunc(got, geboortezorg):
				errs = append(errs, fmt.Sprintf("  %s: claimt %s, geen zib-, bc- of nl-core-profiel (STU3) van MedMij Geboortezorg", name, strings.Join(got, ", ")))
			}
			continue
		}
		missing := slices.DeleteFunc(slices.Clone(want), func(p string) bool { return slices.Contains(got, p) })
		if len(missing) == 0 {
			continue
		}
		claim := "geen profiel"
		if len(got) > 0 {
			claim = strings.Join(got, ", ")
		}
		errs = append(errs, fmt.Sprintf("  %s: claimt %s, de transactie vraagt %s", name, claim, strings.Join(missing, ", ")))
		e, u, err := profile.CheckAgainst(ctx, v, r, missing, resolve)
		if err != nil {
			return nil, nil, err
		}
		for _, x := range e {
			errs = append(errs, "  "+name+" tegen "+strings.Join(missing, ", ")+":"+x)
		}
		for _, x := range u {
			undecided = append(undecided, name+" "+x)
		}
	}
	return errs, undecided, nil
}
