package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/bcbench/bcbench/requirements"
)

// A merged report combines verified runs (bcbench report merge).
const (
	MergedSchema        = "bcbench.merged/v1"
	MergedFile          = "merged.json"
	MergedHTMLFile      = "merged.html"
	MergedEnvelopeFile  = "merged.dsse.json"
	MergedPredicateType = "https://bcbench.nl/merged/v1"
)

// ReferenceCandidate names the bench's own reference where a merged report
// says who brought a role.
const ReferenceCandidate = "referentie"

// MergeInput is one verified run: its folder (relative to the merged
// report's folder, for the references), the sha256 of its envelope, who
// signed it, and its results.
type MergeInput struct {
	Dir      string
	Envelope string
	KeyID    string
	Signer   string
	Results  *Results
	// ResultsSHA256 is the sha256 of its results.json.
	ResultsSHA256 string
}

// Merged is merged.json: per candidate, role and requirement the latest
// status, with the history and the evidence of every run that judged it,
// referenced (path and sha256), not copied.
type Merged struct {
	Schema  string    `json:"schema"`
	Created time.Time `json:"created"`
	// Bench and Profile are the runs' (of the latest run when Mixed).
	Bench   Bench   `json:"bench"`
	Profile Profile `json:"profile"`
	// Mixed names what the runs disagree on (bench version, catalogue,
	// profile); only with --allow-mixed, else the merge is refused.
	Mixed []string `json:"mixed,omitempty"`
	// VerifiedWith says what the runs' signatures were checked against: a
	// bureau's root, a key or certificate the merger gave, or only each
	// run's own signer.crt (integrity, not who signed).
	VerifiedWith string              `json:"verifiedWith"`
	Runs         []MergedRun         `json:"runs"`
	Requirements []MergedRequirement `json:"requirements"`
	Summary      Summary             `json:"summary"`
	Verdict      Verdict             `json:"verdict"`
}

// MergedRun is one run that was merged, as its signature bound it.
type MergedRun struct {
	Dir       string     `json:"dir"`
	Envelope  FileDigest `json:"envelope"`
	Results   FileDigest `json:"results"`
	Candidate Candidate  `json:"candidate"`
	Profile   Profile    `json:"profile"`
	Bench     Bench      `json:"bench"`
	Mode      string     `json:"mode"`
	Verdict   Verdict    `json:"verdict"`
	Started   time.Time  `json:"started"`
	Finished  time.Time  `json:"finished"`
	KeyID     string     `json:"keyId"`
	Signer    string     `json:"signer,omitempty"`
}

// MergedRequirement is one requirement of one candidate's role.
type MergedRequirement struct {
	Candidate string           `json:"candidate"`
	Role      string           `json:"role"`
	ID        string           `json:"id"`
	Title     string           `json:"title"`
	Level     string           `json:"level"`
	Status    Status           `json:"status"`
	Reason    string           `json:"reason,omitempty"`
	Run       int              `json:"run"` // index in Runs of the run that gave Status (the latest)
	History   []MergedStatus   `json:"history"`
	Evidence  []MergedEvidence `json:"evidence,omitempty"`
}

// MergedStatus is the status one run gave.
type MergedStatus struct {
	Run    int    `json:"run"`
	Status Status `json:"status"`
}

// MergedEvidence is an evidence file of a run, by path (relative to the
// merged report's folder) and sha256.
type MergedEvidence struct {
	Run    int    `json:"run"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Merge combines verified runs. Runs of another bench version, catalogue or
// profile than the others are refused, unless allowMixed: then Mixed names
// the differences and the report says so at the top.
func Merge(inputs []MergeInput, allowMixed bool, now time.Time) (*Merged, error) {
	if len(inputs) == 0 {
		return nil, errors.New("merging runs: none given")
	}
	runs := slices.Clone(inputs)
	slices.SortStableFunc(runs, func(a, b MergeInput) int { return a.Results.Finished.Compare(b.Results.Finished) })
	var mixed []string
	for _, d := range []struct {
		what string
		of   func(*Results) string
	}{
		{"bench version", func(r *Results) string { return r.Bench.Version }},
		{"catalogue", func(r *Results) string { return r.Bench.Catalogue }},
		{"profile", func(r *Results) string { return r.Profile.ID + " " + r.Profile.Version }},
	} {
		seen := map[string][]string{}
		var order []string
		for _, in := range runs {
			v := d.of(in.Results)
			if _, ok := seen[v]; !ok {
				order = append(order, v)
			}
			seen[v] = append(seen[v], in.Dir)
		}
		if len(order) > 1 {
			var parts []string
			for _, v := range order {
				parts = append(parts, fmt.Sprintf("%s (%s)", v, strings.Join(seen[v], ", ")))
			}
			mixed = append(mixed, fmt.Sprintf("%s: %s", d.what, strings.Join(parts, "; ")))
		}
	}
	if len(mixed) > 0 && !allowMixed {
		return nil, fmt.Errorf("merging runs: the runs disagree on %s: merge runs of one bench and one profile, or give --allow-mixed to merge them marked as mixed", strings.Join(mixed, "; and on "))
	}
	last := runs[len(runs)-1].Results
	m := &Merged{Schema: MergedSchema, Created: now.UTC(), Bench: last.Bench, Profile: last.Profile, Mixed: mixed,
		Runs: []MergedRun{}, Requirements: []MergedRequirement{}}
	index := map[[3]string]int{}
	var levels []RequirementResult
	for i, in := range runs {
		res := in.Results
		m.Runs = append(m.Runs, MergedRun{
			Dir:       in.Dir,
			Envelope:  FileDigest{Path: joinRef(in.Dir, EnvelopeFile), SHA256: in.Envelope},
			Results:   FileDigest{Path: joinRef(in.Dir, ResultsFile), SHA256: in.ResultsSHA256},
			Candidate: res.Candidate, Profile: res.Profile, Bench: res.Bench, Mode: res.Mode, Verdict: res.Verdict,
			Started: res.Started, Finished: res.Finished, KeyID: in.KeyID, Signer: in.Signer,
		})
		digests := map[string]string{}
		for _, e := range res.Evidence {
			digests[path.Clean(e.Path)] = e.SHA256
		}
		for _, r := range res.Requirements {
			owner := ownerOf(res.Candidate, r.Role)
			k := [3]string{owner, r.Role, r.ID}
			j, ok := index[k]
			if !ok {
				j = len(m.Requirements)
				index[k] = j
				m.Requirements = append(m.Requirements, MergedRequirement{Candidate: owner, Role: r.Role, ID: r.ID})
				levels = append(levels, RequirementResult{})
			}
			mr := &m.Requirements[j]
			mr.Title, mr.Level, mr.Status, mr.Reason, mr.Run = r.Title, string(r.Level), r.Status, r.Reason, i
			mr.History = append(mr.History, MergedStatus{Run: i, Status: r.Status})
			for _, p := range r.Evidence {
				mr.Evidence = append(mr.Evidence, MergedEvidence{Run: i, Path: joinRef(in.Dir, p), SHA256: digests[path.Clean(p)]})
			}
			levels[j] = RequirementResult{Level: r.Level, Status: r.Status}
		}
	}
	order := make([]int, len(m.Requirements))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		x, y := m.Requirements[a], m.Requirements[b]
		return strings.Compare(x.Candidate+"\x00"+x.Role+"\x00"+x.ID, y.Candidate+"\x00"+y.Role+"\x00"+y.ID)
	})
	sorted := make([]MergedRequirement, len(order))
	sortedLevels := make([]RequirementResult, len(order))
	for i, j := range order {
		sorted[i], sortedLevels[i] = m.Requirements[j], levels[j]
	}
	m.Requirements = sorted
	m.Summary = summarise(sortedLevels)
	m.Verdict = verdict(sortedLevels, "")
	return m, nil
}

// ownerOf names who brought the role a requirement judges in a run: the
// manifest (when several were combined, the one that brought it), or the
// bench's reference.
func ownerOf(c Candidate, role string) string {
	for _, r := range c.Roles {
		if r.Role != role {
			continue
		}
		switch {
		case r.Source == SourceReference:
			return ReferenceCandidate
		case r.Candidate != "":
			return r.Candidate
		}
	}
	return c.Name
}

func joinRef(dir, p string) string {
	if dir == "" || dir == "." {
		return p
	}
	return path.Join(dir, p)
}

// key names a merged requirement in a diff.
func (r MergedRequirement) key() string { return r.Candidate + " · " + r.Role + " · " + r.ID }

// DiffMerged lists the requirements (per candidate and role) whose status
// changed from a to b, as Diff does for two runs.
func DiffMerged(a, b *Merged) []Change {
	toResults := func(m *Merged) *Results {
		res := &Results{}
		for _, r := range m.Requirements {
			res.Requirements = append(res.Requirements, RequirementResult{ID: r.key(), Level: requirements.Level(r.Level), Status: r.Status})
		}
		return res
	}
	return Diff(toResults(a), toResults(b))
}

// MergedOf is a single run as a merged report, so that a run and a merged
// report can be compared.
func MergedOf(res *Results) *Merged {
	m, _ := Merge([]MergeInput{{Results: res}}, true, res.Finished) // one run cannot disagree with itself
	return m
}

// maxMergedSize bounds merged.json.
const maxMergedSize = 256 << 20

// ReadMerged reads and checks merged.json.
func ReadMerged(p string) (*Merged, error) {
	data, err := readLimited(p, maxMergedSize)
	if err != nil {
		return nil, err
	}
	var m Merged
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: decoding merged report: %w", p, err)
	}
	if m.Schema != MergedSchema {
		return nil, fmt.Errorf("%s: schema %q, want %q", p, m.Schema, MergedSchema)
	}
	for _, r := range m.Requirements {
		if r.Run < 0 || r.Run >= len(m.Runs) {
			return nil, fmt.Errorf("%s: requirement %s names run %d of %d", p, r.key(), r.Run, len(m.Runs))
		}
	}
	return &m, nil
}

// SchemaOf returns the "schema" field of a JSON report file (results.json
// or merged.json).
func SchemaOf(p string) (string, error) {
	data, err := readLimited(p, maxMergedSize)
	if err != nil {
		return "", err
	}
	var doc struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return "", fmt.Errorf("%s: not a JSON report: %w", p, err)
	}
	return doc.Schema, nil
}

// MergedStatement is the predicate of merged.dsse.json: what was merged and
// the digests of merged.json and merged.html.
type MergedStatement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     MergedPredicate `json:"predicate"`
}

// MergedPredicate binds the merged report and the envelopes of its runs.
type MergedPredicate struct {
	Profile Profile  `json:"profile"`
	Bench   Bench    `json:"bench"`
	Mixed   []string `json:"mixed,omitempty"`
	// VerifiedWith is Merged.VerifiedWith, under the signature.
	VerifiedWith string       `json:"verifiedWith"`
	Verdict      Verdict      `json:"verdict"`
	Summary      Summary      `json:"summary"`
	Created      time.Time    `json:"created"`
	Files        []FileDigest `json:"files"`
	Runs         []FileDigest `json:"runs"`
}

// WriteMerged writes merged.json, merged.html and merged.dsse.json (signed
// with signer) into dir.
func WriteMerged(dir string, m *Merged, signer Signer) error {
	if signer == nil {
		return errors.New("writing merged report: no signing key")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing merged report: %w", err)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("writing merged report: %w", err)
	}
	data = append(data, '\n')
	page, err := m.HTML()
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, MergedFile), data); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, MergedHTMLFile), page); err != nil {
		return err
	}
	st := MergedStatement{
		Type:          StatementType,
		Subject:       []Subject{{Name: MergedFile, Digest: map[string]string{"sha256": sha256hex(data)}}},
		PredicateType: MergedPredicateType,
		Predicate: MergedPredicate{Profile: m.Profile, Bench: m.Bench, Mixed: m.Mixed, VerifiedWith: m.VerifiedWith, Verdict: m.Verdict, Summary: m.Summary, Created: m.Created,
			Files: []FileDigest{{Path: MergedFile, SHA256: sha256hex(data)}, {Path: MergedHTMLFile, SHA256: sha256hex(page)}},
			Runs:  []FileDigest{}},
	}
	for _, r := range m.Runs {
		st.Predicate.Runs = append(st.Predicate.Runs, r.Envelope)
	}
	out, err := signStatement(st, signer)
	if err != nil {
		return fmt.Errorf("signing merged report: %w", err)
	}
	return writeFile(filepath.Join(dir, MergedEnvelopeFile), out)
}

// VerifyMerged checks merged.dsse.json with a public key or certificate and
// that merged.json and merged.html beside it are the files it signed.
func VerifyMerged(envelopePath, keyPath string) (*MergedStatement, error) {
	v, _, err := loadVerifierCert(keyPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnusable, err)
	}
	data, err := readLimited(envelopePath, maxEnvelopeSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnusable, err)
	}
	var env dsse.Envelope
	if err := json.Unmarshal(data, &env); err != nil || env.PayloadType != PayloadType {
		return nil, fmt.Errorf("%w: %s is not a DSSE envelope of an in-toto statement", ErrUnusable, envelopePath)
	}
	ev, err := dsse.NewEnvelopeVerifier(v)
	if err != nil {
		return nil, fmt.Errorf("verifying merged report: %w", err)
	}
	if _, err := ev.Verify(context.Background(), &env); err != nil {
		return nil, fmt.Errorf("merged report %s: signature does not verify with key %s", envelopePath, keyPath)
	}
	payload, err := env.DecodeB64Payload()
	if err != nil {
		return nil, fmt.Errorf("merged report %s: %w", envelopePath, err)
	}
	var st MergedStatement
	if err := json.Unmarshal(payload, &st); err != nil || st.PredicateType != MergedPredicateType {
		return nil, fmt.Errorf("merged report %s: not a merged report's statement", envelopePath)
	}
	root, err := os.OpenRoot(filepath.Dir(envelopePath))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnusable, err)
	}
	defer root.Close()
	var changed []string
	for _, f := range st.Predicate.Files {
		sum, err := hashFile(root, f.Path)
		switch {
		case err != nil:
			changed = append(changed, err.Error())
		case sum != f.SHA256:
			changed = append(changed, f.Path+": changed")
		}
	}
	if len(changed) > 0 {
		return &st, fmt.Errorf("merged report changed since it was signed: %s", strings.Join(changed, "; "))
	}
	return &st, nil
}

var mergedHTML = template.Must(template.New("merged").Parse(`<!DOCTYPE html>
<html lang="nl">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Samengevoegd rapport — bcbench</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#111}
table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #888;padding:.4rem .6rem;vertical-align:top;text-align:left}
.pass{background:#d9f2d9}.fail,.error{background:#f8d7d7}.skip,.not-tested{background:#fff2cc}
.mixed{border:3px solid #b00;padding:1rem;background:#fde}
</style>
</head>
<body>
<main>
<h1>Samengevoegd rapport: {{.M.Profile.ID}} {{.M.Profile.Version}}</h1>
{{if .M.Mixed}}<div class="mixed" role="alert"><h2>Let op: gemengde runs</h2><p>De samengevoegde runs verschillen in:</p><ul>{{range .M.Mixed}}<li>{{.}}</li>{{end}}</ul><p>Dit rapport vergelijkt daardoor niet gelijk met gelijk.</p></div>{{end}}
<p>Handtekeningen van de runs gecontroleerd met: {{.M.VerifiedWith}}</p>
<p>Oordeel: <strong>{{.M.Verdict}}</strong> — {{.M.Summary.Pass}} voldoet, {{.M.Summary.Fail}} voldoet niet, {{.M.Summary.Error}} fout, {{.M.Summary.Skip}} overgeslagen, {{.M.Summary.NotTested}} niet getest. Per kandidaat, rol en eis telt de laatste run. Gemaakt {{.Created}}.</p>
<h2>Runs</h2>
<table><thead><tr><th scope="col">#</th><th scope="col">run</th><th scope="col">kandidaat</th><th scope="col">oordeel</th><th scope="col">einde</th><th scope="col">ondertekend door</th></tr></thead><tbody>
{{range $i, $r := .M.Runs}}<tr><td>{{$i}}</td><td><a href="{{$r.Dir}}/report.html">{{$r.Dir}}</a><br><small>sha256 {{$r.Envelope.SHA256}}</small></td><td>{{$r.Candidate.Name}} {{$r.Candidate.Version}}</td><td>{{$r.Verdict}}</td><td>{{$r.Finished.UTC.Format "2006-01-02 15:04:05Z"}}</td><td>{{if $r.Signer}}{{$r.Signer}}{{else}}{{$r.KeyID}}{{end}}</td></tr>
{{end}}</tbody></table>
<h2>Eisen</h2>
<table><thead><tr><th scope="col">kandidaat</th><th scope="col">rol</th><th scope="col">eis</th><th scope="col">niveau</th><th scope="col">status</th><th scope="col">uit run</th><th scope="col">bewijs</th></tr></thead><tbody>
{{range .M.Requirements}}<tr><td>{{.Candidate}}</td><td>{{.Role}}</td><td>{{.ID}} {{.Title}}{{if .Reason}}<br><small>{{.Reason}}</small>{{end}}</td><td>{{.Level}}</td><td class="{{.Status}}">{{.Status}}</td><td>{{.Run}}{{if gt (len .History) 1}} (eerder:{{range .History}} {{.Status}}{{end}}){{end}}</td><td>{{range .Evidence}}<a href="{{.Path}}">{{.Path}}</a><br>{{end}}</td></tr>
{{end}}</tbody></table>
</main>
</body>
</html>
`))

// HTML renders the merged report as one page without script.
func (m *Merged) HTML() ([]byte, error) {
	var b bytes.Buffer
	if err := mergedHTML.Execute(&b, struct {
		M       *Merged
		Created string
	}{m, m.Created.Format(time.RFC3339)}); err != nil {
		return nil, fmt.Errorf("rendering the merged report: %w", err)
	}
	return b.Bytes(), nil
}
