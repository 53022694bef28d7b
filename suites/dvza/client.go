package dvza

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/suites/spec"
)

// client is a scenario's client as the DVZA should serve her at the end
// of the run: her STU3 ground truth, unless she withdrew consent (then
// nothing but her Patient) or asked for deletion (then nothing at all).
type client struct {
	Scenario *fixtures.Scenario
	BSN      string
	Name     string
	// Expected holds her STU3 ground truth by "Type/id".
	Expected map[string]map[string]any
	// Withdrawn and Deleted say how the scenario ended.
	Withdrawn, Deleted bool
}

// HasData says whether the DVZA should serve her any clinical data.
func (c *client) HasData() bool {
	return !c.Withdrawn && !c.Deleted && len(c.Observations()) > 0
}

// Observations are her expected observations, sorted by id.
func (c *client) Observations() []map[string]any {
	var out []map[string]any
	for _, k := range sortedKeys(c.Expected) {
		if strings.HasPrefix(k, "Observation/") {
			out = append(out, c.Expected[k])
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// clientsOf derives every scenario's client.
func clientsOf(env *spec.Env) ([]*client, error) {
	var out []*client
	for _, s := range env.Scenarios {
		regs, err := s.Registrations(env.Reference)
		if err != nil {
			return nil, fmt.Errorf("resolving scenario %s: %w", s.ID, err)
		}
		c := &client{Scenario: s, BSN: s.Client.BSN, Name: s.Client.Given + " " + s.Client.Family, Expected: map[string]map[string]any{}}
		for _, r := range regs {
			switch {
			case r.Kind == fixtures.Deletion:
				c.Deleted = true
				continue
			case r.Consent != nil:
				c.Withdrawn = !*r.Consent
			}
			res, err := truth.STU3(r)
			if err != nil {
				return nil, fmt.Errorf("rendering the STU3 ground truth of %s/%s: %w", s.ID, r.Event, err)
			}
			for _, m := range res {
				c.Expected[fmt.Sprintf("%v/%v", m["resourceType"], m["id"])] = m
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// search is one of the MedMij Geboortezorg searches (EXCHANGE.md §A.5);
// episodes is the comma-separated list of her EpisodeOfCare ids.
type search struct {
	Name  string
	Type  string
	Query func(episodes []string) url.Values
}

func episodeRefs(ids []string) string {
	refs := make([]string, len(ids))
	for i, id := range ids {
		refs[i] = "EpisodeOfCare/" + id
	}
	return strings.Join(refs, ",")
}

func byContext(ids []string) url.Values { return url.Values{"context": {episodeRefs(ids)}} }

// searches are the searches of the MedMij Geboortezorg CapabilityStatement
// and of the Nictiz XIS-Server TestScripts, in the order a PGO asks them.
var searches = []search{
	{"1 Patient", "Patient", func([]string) url.Values { return nil }},
	{"2 EpisodeOfCare (zwangerschapsdossier)", "EpisodeOfCare", func([]string) url.Values {
		return url.Values{"type": {"http://snomed.info/sct|364320009"}, "_include": {"EpisodeOfCare:organization", "EpisodeOfCare:care-manager"}}
	}},
	{"3 Condition per dossier", "Condition", byContext},
	{"4 Encounter per dossier", "Encounter", func(ids []string) url.Values {
		return url.Values{"episodeofcare": {strings.Join(ids, ",")}, "_include": {"Encounter:practitioner"}}
	}},
	{"5a Observation per dossier", "Observation", byContext},
	{"5b Observation via Encounter (geketend)", "Observation", func(ids []string) url.Values {
		return url.Values{"context:Encounter.episodeofcare": {episodeRefs(ids)}}
	}},
	{"6 Procedure per dossier", "Procedure", func(ids []string) url.Values {
		return url.Values{"context": {episodeRefs(ids)}, "_include": {"Procedure:performer", "Procedure:based-on"}}
	}},
	{"7 Coverage", "Coverage", func([]string) url.Values { return nil }},
	{"8 FamilyMemberHistory", "FamilyMemberHistory", func([]string) url.Values { return nil }},
	{"9 DeviceUseStatement", "DeviceUseStatement", func([]string) url.Values {
		return url.Values{"_include": {"DeviceUseStatement:device"}}
	}},
	{"10 CareTeam per dossier", "CareTeam", byContext},
	{"11 RelatedPerson", "RelatedPerson", func([]string) url.Values { return nil }},
	{"12 DiagnosticReport per dossier", "DiagnosticReport", byContext},
	{"13 ReferralRequest per dossier", "ReferralRequest", byContext},
}

// answer is one search's reply.
type answer struct {
	Search search
	Reply  *reply
}

// collected is what the bench, as her PGO, collected of a client.
type collected struct {
	Session  *session
	LoginErr error
	Answers  []answer
	// Served holds every resource the searches returned, by "Type/id";
	// Matches only those of search mode match (or no mode).
	Served, Matches map[string]map[string]any
	Episodes        []string
	Err             error // the DVZA could not be reached
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*collected{}
	cacheOf *spec.Env
)

// collect logs the client in and asks every search once per run.
func collect(ctx context.Context, env *spec.Env, c *client) *collected {
	cacheMu.Lock()
	if cacheOf != env {
		cache, cacheOf = map[string]*collected{}, env
	}
	if got, ok := cache[c.BSN]; ok {
		cacheMu.Unlock()
		return got
	}
	cacheMu.Unlock()
	got := collectNow(ctx, env.DVZA, c.BSN)
	cacheMu.Lock()
	cache[c.BSN] = got
	cacheMu.Unlock()
	return got
}

func collectNow(ctx context.Context, d *spec.DVZA, bsn string) *collected {
	p := &pgo{d: d}
	out := &collected{Served: map[string]map[string]any{}, Matches: map[string]map[string]any{}}
	out.Session, out.LoginErr = p.login(ctx, bsn)
	if out.LoginErr != nil {
		return out
	}
	for _, s := range searches {
		q := s.Query(out.Episodes)
		r, err := p.get(ctx, out.Session.Token, out.Session.Correlation, s.Type, q, "")
		if err != nil {
			out.Err = err
			return out
		}
		out.Answers = append(out.Answers, answer{Search: s, Reply: r})
		if r.Status == 0 {
			break // it does not answer: one timeout per client, not one per search
		}
		for _, e := range entries(r.Bundle) {
			res, _ := e["resource"].(map[string]any)
			key := fmt.Sprintf("%v/%v", res["resourceType"], res["id"])
			out.Served[key] = res
			if mode := searchMode(e); mode == "" || mode == "match" {
				out.Matches[key] = res
				if res["resourceType"] == "EpisodeOfCare" && s.Type == "EpisodeOfCare" {
					out.Episodes = append(out.Episodes, fmt.Sprint(res["id"]))
				}
			}
		}
	}
	return out
}

func entries(bundle map[string]any) []map[string]any {
	list, _ := bundle["entry"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			if _, ok := m["resource"].(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

func searchMode(e map[string]any) string {
	s, _ := e["search"].(map[string]any)
	m, _ := s["mode"].(string)
	return m
}

// codings returns the system|code of every coding of a CodeableConcept.
func codings(v any) []string {
	m, _ := v.(map[string]any)
	list, _ := m["coding"].([]any)
	var out []string
	for _, c := range list {
		cm, _ := c.(map[string]any)
		out = append(out, fmt.Sprintf("%v|%v", cm["system"], cm["code"]))
	}
	return out
}

func sharesCoding(a, b any) bool {
	bs := codings(b)
	for _, c := range codings(a) {
		if slices.Contains(bs, c) {
			return true
		}
	}
	return false
}

// sameMoment compares two FHIR dateTimes: the same instant, or for a date
// the same day in Europe/Amsterdam.
func sameMoment(a, b any) bool {
	as, _ := a.(string)
	bs, _ := b.(string)
	if as == "" || bs == "" {
		return as == bs
	}
	ta, errA := time.Parse(time.RFC3339, as)
	tb, errB := time.Parse(time.RFC3339, bs)
	if errA == nil && errB == nil {
		return ta.Equal(tb)
	}
	day := func(s string, t time.Time, err error) string {
		if err == nil {
			return t.In(fixtures.Amsterdam).Format(fixtures.DateLayout)
		}
		if len(s) >= 10 {
			return s[:10]
		}
		return s
	}
	return day(as, ta, errA) == day(bs, tb, errB)
}

// pair finds the served observation of an expected one: the same code on
// the same moment. Several candidates: the one whose value agrees, if any.
func pair(want map[string]any, served map[string]map[string]any) (map[string]any, bool) {
	var first map[string]any
	for _, k := range sortedKeys(served) {
		got := served[k]
		if got["resourceType"] != "Observation" || !sharesCoding(want["code"], got["code"]) || !sameMoment(want["effectiveDateTime"], got["effectiveDateTime"]) {
			continue
		}
		if len(valueDifferences(want, got)) == 0 {
			return got, true
		}
		if first == nil {
			first = got
		}
	}
	return first, first != nil
}

// valueDifferences lists where the served observation's value (and its
// components) differs from the expected one: value, unit, code, date.
func valueDifferences(want, got map[string]any) []string {
	var out []string
	for _, k := range []string{"valueQuantity", "valueCodeableConcept", "valueDateTime", "valueString", "valueBoolean"} {
		w, has := want[k]
		if !has {
			continue
		}
		if d := differs(k, w, got[k]); d != "" {
			out = append(out, d)
		}
	}
	wc, _ := want["component"].([]any)
	gc, _ := got["component"].([]any)
	for _, c := range wc {
		cm, _ := c.(map[string]any)
		var match map[string]any
		for _, g := range gc {
			if gm, _ := g.(map[string]any); sharesCoding(cm["code"], gm["code"]) {
				match = gm
			}
		}
		if match == nil {
			out = append(out, fmt.Sprintf("component %s ontbreekt", strings.Join(codings(cm["code"]), ",")))
			continue
		}
		for _, d := range valueDifferences(cm, match) {
			out = append(out, "component "+strings.Join(codings(cm["code"]), ",")+": "+d)
		}
	}
	return out
}

func differs(kind string, want, got any) string {
	switch kind {
	case "valueQuantity":
		w, _ := want.(map[string]any)
		g, _ := got.(map[string]any)
		if g == nil {
			return "geen valueQuantity"
		}
		if !sameNumber(w["value"], g["value"]) {
			return fmt.Sprintf("waarde %v, verwacht %v", g["value"], w["value"])
		}
		if w["code"] != nil && (g["code"] != w["code"] || g["system"] != w["system"]) {
			return fmt.Sprintf("eenheid %v (%v), verwacht %v (%v)", g["code"], g["system"], w["code"], w["system"])
		}
	case "valueCodeableConcept":
		if !sharesCoding(want, got) {
			return fmt.Sprintf("code %v, verwacht %v", codings(got), codings(want))
		}
	case "valueDateTime":
		if !sameMoment(want, got) {
			return fmt.Sprintf("datum %v, verwacht %v", got, want)
		}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			return fmt.Sprintf("%s %v, verwacht %v", kind, got, want)
		}
	}
	return ""
}

func sameNumber(a, b any) bool {
	ra, okA := rat(a)
	rb, okB := rat(b)
	return okA && okB && ra.Cmp(rb) == 0
}

func rat(v any) (*big.Rat, bool) {
	var s string
	switch t := v.(type) {
	case json.Number:
		s = t.String()
	case float64:
		s = fmt.Sprint(t)
	case int:
		s = fmt.Sprint(t)
	default:
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}
