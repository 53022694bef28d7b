package viewer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bcbench/bcbench/fixtures"
)

// Bounds of what the viewer reads from the FHIR API.
const (
	maxBody  = 8 << 20
	maxPages = 20
)

// Sections of the record, in the order a midwife reads them.
const (
	secPregnancy = "Zwangerschap"
	secVitals    = "Metingen"
	secLab       = "Laboratorium"
	secRisk      = "Risicoselectie"
	secReferral  = "Verwijzingen en overdrachten"
	secBirth     = "Bevalling en kind"
	secOther     = "Overige bevindingen"
)

var sectionOrder = []string{secPregnancy, secVitals, secLab, secRisk, secReferral, secBirth, secOther}

var sectionOf = map[fixtures.EventKind]string{
	fixtures.Intake: secPregnancy, fixtures.Ultrasound: secPregnancy, fixtures.Vitals: secVitals,
	fixtures.Lab: secLab, fixtures.Risk: secRisk, fixtures.Referral: secReferral, fixtures.JGZTransfer: secReferral,
	fixtures.Labour: secBirth, fixtures.Birth: secBirth, fixtures.Newborn: secBirth, fixtures.MaternityCare: secBirth,
}

// label is the Dutch name a midwife reads for a code, and its section.
type label struct{ name, section string }

// labels maps "system|code" to the Dutch name of the zib concept: the
// viewer's own vocabulary, taken from the bench's scenario catalogue (the
// same names docs/scenarios.md lists).
var labels = sync.OnceValue(func() map[string]label {
	m := map[string]label{}
	var add func(f fixtures.Fact, sec string, ofChild bool)
	add = func(f fixtures.Fact, sec string, ofChild bool) {
		k := f.Code.System + "|" + f.Code.Code
		if ofChild {
			// a newborn's concept may have a name of its own (the
			// gestational age at birth)
			if _, ok := m[k+"|kind"]; !ok && f.Name != "" {
				m[k+"|kind"] = label{name: f.Name, section: sec}
			}
		}
		if f.Note != "" {
			// one code, several concepts told apart by their note (a
			// glucose two hours after a load)
			if _, ok := m[k+"|"+f.Note]; !ok {
				m[k+"|"+f.Note] = label{name: f.Name, section: sec}
			}
		}
		old, ok := m[k]
		switch {
		case !ok && f.Name != "":
			m[k] = label{name: f.Name, section: sec}
		case ok && old.section == secPregnancy && sec != secPregnancy && sec != secOther:
			// measured at the intake too, but a measurement
			m[k] = label{name: old.name, section: sec}
		}
		for _, c := range f.Components {
			add(c, sec, ofChild)
		}
	}
	for _, s := range fixtures.Golden() {
		for _, e := range s.Events {
			sec := sectionOf[e.Kind]
			if sec == "" {
				sec = secOther
			}
			for _, f := range e.Facts {
				add(f, sec, e.Subject != "" && e.Subject != s.Client.ID)
			}
		}
	}
	return m
})

// record is what the viewer shows of one client.
type record struct {
	PatientID  string
	Name       string
	BSN        string
	BirthDate  string
	Gender     string
	Today      string
	Summary    []row // G/P, due date, gestational age today
	Sections   []section
	Medication []medLine
	MedEmpty   bool
	// Children are the client's newborns, each from her own Patient.
	Children []child
	// Read lists what was read (Type/id) for the access log.
	read []string
}

type section struct {
	ID, Title string
	Rows      []row
}

type row struct {
	Name, Value, Date, Source, Note string
	code                            fixtures.Coding
}

// child is a newborn of the client as her own record shows her: her
// Patient and her observations and referrals, in date order.
type child struct {
	PatientID, Name, BSN, BirthDate, Gender string
	Rows                                    []row
}

type medLine struct{ Product, Dosage, Period, Source string }

// read gets the client's Patient and her resources from the session's FHIR
// server with its token.
func (s *Server) read(ctx context.Context, sess *session, patient string) (*record, error) {
	c := &fhirClient{hc: s.opts.HTTP, base: strings.TrimSuffix(sess.iss, "/"), token: sess.token}
	pat, err := c.get(ctx, "Patient/"+url.PathEscape(patient))
	if err != nil {
		return nil, err
	}
	now := s.opts.Now().In(fixtures.Amsterdam)
	rec := &record{PatientID: patient, Today: now.Format("02-01-2006"), read: []string{"Patient/" + patient}}
	rec.Name, rec.BSN, rec.BirthDate, rec.Gender = patientBanner(pat)
	rows := map[string][]row{}
	var agreements []map[string]any
	for _, typ := range []string{"Observation", "ServiceRequest", "MedicationRequest"} {
		list, err := c.search(ctx, typ, url.Values{"patient": {"Patient/" + patient}})
		if err != nil {
			return nil, err
		}
		for _, r := range list {
			if id, _ := r["id"].(string); id != "" {
				rec.read = append(rec.read, typ+"/"+id)
			}
			switch typ {
			case "Observation":
				sec, rw := s.observationRow(r, false)
				rows[sec] = append(rows[sec], rw)
			case "ServiceRequest":
				sec, rw := referralRow(r)
				rows[sec] = append(rows[sec], rw)
			case "MedicationRequest":
				if profiled(r, "mp-MedicationAgreement") {
					agreements = append(agreements, r)
				}
			}
		}
	}
	for _, sec := range sectionOrder {
		if len(rows[sec]) == 0 {
			continue
		}
		rs := rows[sec]
		sort.SliceStable(rs, func(i, j int) bool { return dateKey(rs[i].Date) < dateKey(rs[j].Date) })
		rec.Sections = append(rec.Sections, section{ID: slug(sec), Title: sec, Rows: rs})
	}
	rec.Summary = summary(rows[secPregnancy], now)
	if rec.Children, err = s.children(ctx, c, rec); err != nil {
		return nil, err
	}
	rec.Medication = s.overview(agreements, now)
	rec.MedEmpty = len(rec.Medication) == 0
	return rec, nil
}

// children finds the client's newborns through the link the XIS publishes
// (docs/viewer.md): a RelatedPerson with the mother's BSN as identifier and
// relationship MTH on each child's own Patient. It reads each child's
// Patient and her observations and referrals, never the mother's record.
func (s *Server) children(ctx context.Context, c *fhirClient, rec *record) ([]child, error) {
	if rec.BSN == "" {
		return nil, nil
	}
	links, err := c.search(ctx, "RelatedPerson", url.Values{"identifier": {fixtures.BSNSystem + "|" + rec.BSN}})
	if err != nil {
		return nil, err
	}
	var out []child
	seen := map[string]bool{rec.PatientID: true}
	for _, l := range links {
		if !mother(l) {
			continue
		}
		id := refID(str(mapOf(l["patient"])["reference"]), "Patient")
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		if lid := str(l["id"]); lid != "" {
			rec.read = append(rec.read, "RelatedPerson/"+lid)
		}
		pat, err := c.get(ctx, "Patient/"+url.PathEscape(id))
		if err != nil {
			return nil, err
		}
		rec.read = append(rec.read, "Patient/"+id)
		k := child{PatientID: id}
		k.Name, k.BSN, k.BirthDate, k.Gender = patientBanner(pat)
		for _, typ := range []string{"Observation", "ServiceRequest"} {
			list, err := c.search(ctx, typ, url.Values{"patient": {"Patient/" + id}})
			if err != nil {
				return nil, err
			}
			for _, r := range list {
				if rid := str(r["id"]); rid != "" {
					rec.read = append(rec.read, typ+"/"+rid)
				}
				var rw row
				if typ == "Observation" {
					_, rw = s.observationRow(r, true)
				} else {
					_, rw = referralRow(r)
				}
				k.Rows = append(k.Rows, rw)
			}
		}
		out = append(out, k)
	}
	if s.defect != nil && s.defect.misfile && len(out) > 1 {
		// the second twin's birth weight filed under the first
		keep := out[1].Rows[:0]
		for _, rw := range out[1].Rows {
			if rw.code == fixtures.CodeBirthWeight {
				out[0].Rows = append(out[0].Rows, rw)
				continue
			}
			keep = append(keep, rw)
		}
		out[1].Rows = keep
	}
	for i := range out {
		rs := out[i].Rows
		sort.SliceStable(rs, func(i, j int) bool { return dateKey(rs[i].Date) < dateKey(rs[j].Date) })
	}
	return out, nil
}

// mother tells whether a RelatedPerson is the patient's mother (HL7 v3
// RoleCode MTH).
func mother(r map[string]any) bool {
	for _, rel := range list(r["relationship"]) {
		for _, cd := range list(mapOf(rel)["coding"]) {
			m := mapOf(cd)
			if str(m["system"]) == "http://terminology.hl7.org/CodeSystem/v3-RoleCode" && str(m["code"]) == "MTH" {
				return true
			}
		}
	}
	return false
}

// refID is the id of a relative or absolute reference to a resource of
// type typ, or "".
func refID(ref, typ string) string {
	segs := strings.Split(strings.TrimSuffix(ref, "/"), "/")
	if n := len(segs); n >= 2 && segs[n-2] == typ {
		return segs[n-1]
	}
	return ""
}

func profiled(r map[string]any, suffix string) bool {
	meta, _ := r["meta"].(map[string]any)
	for _, p := range list(meta["profile"]) {
		if s, _ := p.(string); strings.HasSuffix(s, suffix) {
			return true
		}
	}
	return false
}

func patientBanner(p map[string]any) (name, bsn, birth, gender string) {
	for _, n := range list(p["name"]) {
		m, _ := n.(map[string]any)
		if t, _ := m["text"].(string); t != "" && name == "" {
			name = t
		}
	}
	for _, id := range list(p["identifier"]) {
		m, _ := id.(map[string]any)
		if m["system"] == "http://fhir.nl/fhir/NamingSystem/bsn" {
			bsn, _ = m["value"].(string)
		}
	}
	if b, _ := p["birthDate"].(string); b != "" {
		birth = showDate(b)
	}
	gender = map[string]string{"female": "vrouw", "male": "man", "other": "anders", "unknown": "onbekend"}[str(p["gender"])]
	return
}

// labelOf finds the Dutch label of a CodeableConcept.
func labelOf(cc any) (fixtures.Coding, label) {
	m, _ := cc.(map[string]any)
	for _, c := range list(m["coding"]) {
		cd, _ := c.(map[string]any)
		code := fixtures.Coding{System: str(cd["system"]), Code: str(cd["code"]), Display: str(cd["display"])}
		if l, ok := labels()[code.System+"|"+code.Code]; ok {
			return code, l
		}
	}
	t := str(m["text"])
	if t == "" {
		if cs := list(m["coding"]); len(cs) > 0 {
			cd, _ := cs[0].(map[string]any)
			t = str(cd["display"])
		}
	}
	return fixtures.Coding{}, label{name: t, section: secOther}
}

func (s *Server) observationRow(r map[string]any, ofChild bool) (string, row) {
	code, l := labelOf(r["code"])
	if cl, ok := labels()[code.System+"|"+code.Code+"|kind"]; ok && ofChild {
		l = cl
	}
	for _, n := range list(r["note"]) {
		if nl, ok := labels()[code.System+"|"+code.Code+"|"+str(mapOf(n)["text"])]; ok {
			l = nl
		}
	}
	f := fixtures.Fact{Name: l.name, Code: code}
	date := ""
	if v, _ := r["valueDateTime"].(string); v != "" {
		date = showDate(v)
	}
	f.Value = valueOf(r)
	for _, c := range list(r["component"]) {
		cm, _ := c.(map[string]any)
		ccode, cl := labelOf(cm["code"])
		f.Components = append(f.Components, fixtures.Fact{Name: cl.name, Code: ccode, Value: valueOf(cm)})
	}
	value := fixtures.ShowValue(f, time.Time{})
	if date != "" {
		value = date
	}
	if s.defect != nil && s.defect.unit != nil {
		value = s.defect.unit(code, f.Value, value)
	}
	rw := row{Name: l.name, Value: value, Date: showDate(str(r["effectiveDateTime"])), Source: source(r["performer"]), code: code}
	for _, n := range list(r["note"]) {
		nm, _ := n.(map[string]any)
		rw.Note = str(nm["text"])
	}
	return l.section, rw
}

func referralRow(r map[string]any) (string, row) {
	_, l := labelOf(r["code"])
	if l.section == secOther {
		l.section = secReferral
	}
	rw := row{Name: l.name, Date: showDate(str(r["authoredOn"])), Source: source(r["requester"])}
	pt, _ := r["performerType"].(map[string]any)
	rw.Value = str(pt["text"])
	if rw.Value == "" {
		for _, c := range list(pt["coding"]) {
			cd, _ := c.(map[string]any)
			rw.Value = str(cd["display"])
		}
	}
	for _, rc := range list(r["reasonCode"]) {
		m, _ := rc.(map[string]any)
		rw.Note = str(m["text"])
	}
	return l.section, rw
}

// valueOf reads value[x] into a fixtures.Value (dates are handled apart).
func valueOf(r map[string]any) fixtures.Value {
	var v fixtures.Value
	switch {
	case r["valueInteger"] != nil:
		if n, ok := r["valueInteger"].(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				x := int(i)
				v.Integer = &x
			}
		}
	case r["valueQuantity"] != nil:
		q, _ := r["valueQuantity"].(map[string]any)
		unit := str(q["code"])
		if unit == "" {
			unit = str(q["unit"])
		}
		n, _ := q["value"].(json.Number)
		v.Quantity = &fixtures.Quantity{Value: n.String(), Unit: unit}
	case r["valueCodeableConcept"] != nil:
		cc, _ := r["valueCodeableConcept"].(map[string]any)
		d := str(cc["text"])
		for _, c := range list(cc["coding"]) {
			cd, _ := c.(map[string]any)
			if d == "" {
				d = str(cd["display"])
			}
		}
		v.Coding = &fixtures.Coding{Display: d}
	case r["valueString"] != nil:
		x := str(r["valueString"])
		v.String = &x
	case r["valueBoolean"] != nil:
		b, _ := r["valueBoolean"].(bool)
		v.Boolean = &b
	}
	return v
}

func source(v any) string {
	var out []string
	for _, x := range list(v) {
		m, _ := x.(map[string]any)
		if a, ok := m["actor"].(map[string]any); ok {
			m = a
		}
		if d := str(m["display"]); d != "" {
			out = append(out, d)
		}
	}
	return strings.Join(out, "; ")
}

// summary is the pregnancy at a glance: the latest gravidity, parity and
// due date, and the gestational age today from the due date.
func summary(rows []row, now time.Time) []row {
	latest := map[string]row{}
	for _, r := range rows {
		if r.Name == "Graviditeit" || r.Name == "Pariteit" || r.Name == "À terme datum" {
			if old, ok := latest[r.Name]; !ok || dateKey(r.Date) >= dateKey(old.Date) {
				latest[r.Name] = r
			}
		}
	}
	var out []row
	for _, n := range []string{"Graviditeit", "Pariteit", "À terme datum"} {
		if r, ok := latest[n]; ok {
			out = append(out, r)
		}
	}
	if edd, ok := latest["À terme datum"]; ok {
		if due, err := time.ParseInLocation("02-01-2006", edd.Value, fixtures.Amsterdam); err == nil {
			today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, fixtures.Amsterdam)
			ga := fixtures.TermDays - int(due.Sub(today).Hours()/24+0.5)
			if ga >= 0 && ga <= 45*7 {
				out = append(out, row{Name: "Zwangerschapsduur vandaag", Value: fixtures.GestationalAge(ga) + " weken", Date: now.Format("02-01-2006"), Source: "berekend uit de à terme datum"})
			}
		}
	}
	return out
}

// showDate formats a FHIR date or dateTime as dd-mm-jjjj (Amsterdam).
func showDate(v string) string {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.In(fixtures.Amsterdam).Format("02-01-2006")
	}
	if len(v) >= 10 {
		if t, err := time.Parse("2006-01-02", v[:10]); err == nil {
			return t.Format("02-01-2006")
		}
	}
	return v
}

// dateKey makes dd-mm-jjjj sortable.
func dateKey(d string) string {
	if len(d) == 10 {
		return d[6:] + d[3:5] + d[:2]
	}
	return d
}

func slug(s string) string {
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		return '-'
	}, s)
}

func str(v any) string { s, _ := v.(string); return s }

func list(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		return []any{x}
	}
}

// fhirClient reads one FHIR server with a bearer token.
type fhirClient struct {
	hc    *http.Client
	base  string
	token string
}

var errAnswer = errors.New("unusable answer")

func (c *fhirClient) get(ctx context.Context, rel string) (map[string]any, error) {
	u := rel
	if !strings.HasPrefix(rel, "http://") && !strings.HasPrefix(rel, "https://") {
		u = c.base + "/" + rel
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", rel, err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", rel, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", rel, err)
	}
	if resp.StatusCode != http.StatusOK || len(body) > maxBody {
		return nil, fmt.Errorf("reading %s: HTTP %d (%d bytes): %w", rel, resp.StatusCode, len(body), errAnswer)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("reading %s: %w", rel, err)
	}
	return m, nil
}

// search follows the Bundle's next links for at most maxPages pages.
func (c *fhirClient) search(ctx context.Context, typ string, q url.Values) ([]map[string]any, error) {
	next := typ + "?" + q.Encode()
	var out []map[string]any
	for page := 0; next != "" && page < maxPages; page++ {
		b, err := c.get(ctx, next)
		if err != nil {
			return nil, err
		}
		next = ""
		for _, l := range list(b["link"]) {
			lm, _ := l.(map[string]any)
			if lm["relation"] == "next" {
				next = str(lm["url"])
			}
		}
		for _, e := range list(b["entry"]) {
			em, _ := e.(map[string]any)
			if r, ok := em["resource"].(map[string]any); ok && r["resourceType"] == typ {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// overview is the medication overview (MP9) on the viewing day, derived
// from the MedicatieAfspraken as fixtures.MedicationOverview derives the
// ground truth: per MBH, a cancel drops itself and the agreement it points
// at, a stop or pause ends it, a change ends the earlier one the day before.
func (s *Server) overview(mas []map[string]any, now time.Time) []medLine {
	type block struct {
		line            medLine
		id, prior, stop string
		start, end      int // days since 1970 (Amsterdam); end -1 = open
		treat           string
		dropped         bool
		at              time.Time // registration (authoredOn)
	}
	day := func(v string) int {
		if v == "" {
			return -1
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return -1
		}
		t = t.In(fixtures.Amsterdam)
		return int(time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, time.UTC).Unix() / 86400)
	}
	var blocks []*block
	byID := map[string]*block{}
	for _, r := range mas {
		b := &block{end: -1}
		b.at, _ = time.Parse(time.RFC3339, str(r["authoredOn"]))
		b.line.Product = str(mapOf(r["medicationReference"])["display"])
		if ids := list(r["identifier"]); len(ids) > 0 {
			b.id = str(mapOf(ids[0])["value"])
		}
		b.prior = str(mapOf(mapOf(r["priorPrescription"])["identifier"])["value"])
		for _, x := range list(r["modifierExtension"]) {
			xm := mapOf(x)
			if strings.HasSuffix(str(xm["url"]), "ext-StopType") {
				if cs := list(mapOf(xm["valueCodeableConcept"])["coding"]); len(cs) > 0 {
					b.stop = str(mapOf(cs[0])["code"])
				}
			}
		}
		var start, end string
		for _, x := range list(r["extension"]) {
			xm := mapOf(x)
			u := str(xm["url"])
			switch {
			case strings.HasSuffix(u, "ext-TimeInterval.Period"):
				p := mapOf(xm["valuePeriod"])
				start, end = str(p["start"]), str(p["end"])
			case strings.HasSuffix(u, "ext-RenderedDosageInstruction"):
				b.line.Dosage = str(xm["valueString"])
			case strings.HasSuffix(u, "ext-PharmaceuticalTreatment.Identifier"):
				b.treat = str(mapOf(xm["valueIdentifier"])["value"])
			}
		}
		if b.line.Dosage == "" {
			if ds := list(r["dosageInstruction"]); len(ds) > 0 {
				b.line.Dosage = str(mapOf(ds[0])["text"])
			}
		}
		b.start, b.end = day(start), day(end)
		b.line.Period = "vanaf " + showDate(start)
		if end != "" {
			b.line.Period = showDate(start) + " t/m " + showDate(end)
		}
		b.line.Source = source(r["requester"])
		blocks = append(blocks, b)
		if b.id != "" {
			byID[b.id] = b
		}
	}
	sort.SliceStable(blocks, func(i, j int) bool { return blocks[i].at.Before(blocks[j].at) })
	clip := func(b *block, last int) {
		if b.end < 0 || last < b.end {
			b.end = last
		}
	}
	ignoreStop := s.defect != nil && s.defect.ignoreStop
	for _, b := range blocks {
		prior := byID[b.prior]
		switch {
		case b.stop == fixtures.StopCanceled.Code:
			b.dropped = true
			if prior != nil {
				prior.dropped = true
			}
		case b.stop != "":
			b.dropped = true
			if prior != nil && b.end >= 0 && !ignoreStop {
				clip(prior, b.end)
			}
		case prior != nil:
			clip(prior, b.start-1)
		}
	}
	today := int(time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, time.UTC).Unix() / 86400)
	var out []*block
	for _, b := range blocks {
		if b.dropped || b.start < 0 || today < b.start || (b.end >= 0 && today > b.end) {
			continue
		}
		out = append(out, b)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].treat != out[j].treat {
			return out[i].treat < out[j].treat
		}
		return out[i].start < out[j].start
	})
	lines := make([]medLine, 0, len(out))
	for _, b := range out {
		lines = append(lines, b.line)
	}
	return slices.Clip(lines)
}

func mapOf(v any) map[string]any { m, _ := v.(map[string]any); return m }
