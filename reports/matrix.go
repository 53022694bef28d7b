package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"
)

// MatrixSchema is the version of the interoperability matrix (matrix.json).
const MatrixSchema = "bcbench.matrix/v1"

// File names of a matrix report folder.
const (
	MatrixJSONFile = "matrix.json"
	MatrixHTMLFile = "matrix.html"
)

// CellStatus is the outcome of one publisher × consumer pair.
type CellStatus string

// The outcomes of a pair. Only pass is pass: a run that does not verify is
// invalid and a pair without a run is missing; neither ever counts as pass.
const (
	CellPass       CellStatus = "pass"
	CellFail       CellStatus = "fail"
	CellIncomplete CellStatus = "incomplete"
	CellInvalid    CellStatus = "invalid" // a run exists, but none verifies (changed, wrong key, revoked operator)
	CellMissing    CellStatus = "missing" // the plan names the pair, no run of it was given
)

// MatrixPair is one pair a plan asks for.
type MatrixPair struct {
	Profile   string `json:"profile"`
	Publisher string `json:"publisher"`
	Consumer  string `json:"consumer"`
}

// MatrixRun is one signed chain run, as the matrix saw it.
type MatrixRun struct {
	MatrixPair
	// Dir is the run's folder, Report its report.html, both relative to the
	// matrix report's folder when possible (links in matrix.html).
	Dir    string `json:"dir"`
	Report string `json:"report"`
	// Envelope is the sha256 of the run's results.dsse.json.
	Envelope string    `json:"envelope"`
	Verdict  Verdict   `json:"verdict,omitempty"`
	Finished time.Time `json:"finished"`
	// Verified says the signature and every file it covers hold (and, with
	// the bureau's root, the operator's certificate); Problem says what
	// does not.
	Verified bool   `json:"verified"`
	Problem  string `json:"problem,omitempty"`
	// NotPassed are the requirements of the run that did not pass (ID=status).
	NotPassed []string `json:"notPassed,omitempty"`
}

// MatrixCell is one pair with every run of it; the latest verified run
// decides.
type MatrixCell struct {
	MatrixPair
	Status CellStatus `json:"status"`
	// Counted is the index in Runs of the run that decided (-1: none).
	Counted int         `json:"counted"`
	Runs    []MatrixRun `json:"runs"`
}

// Matrix is the interoperability matrix: each publisher × each consumer per
// profile.
type Matrix struct {
	Schema     string       `json:"schema"`
	Created    time.Time    `json:"created"`
	Profiles   []string     `json:"profiles"`
	Publishers []string     `json:"publishers"`
	Consumers  []string     `json:"consumers"`
	Cells      []MatrixCell `json:"cells"`
	// Unplanned are runs of pairs the plan does not name: shown, never counted.
	Unplanned []MatrixRun `json:"unplanned,omitempty"`
}

// BuildMatrix places runs in their cells. With a plan (pairs), the cells are
// the plan's pairs, in its order, and runs of other pairs are Unplanned;
// without one, every pair that has a run is a cell.
func BuildMatrix(runs []MatrixRun, pairs []MatrixPair, now time.Time) *Matrix {
	m := &Matrix{Schema: MatrixSchema, Created: now.UTC(), Cells: []MatrixCell{}}
	index := map[MatrixPair]int{}
	add := func(p MatrixPair) int {
		if i, ok := index[p]; ok {
			return i
		}
		index[p] = len(m.Cells)
		m.Cells = append(m.Cells, MatrixCell{MatrixPair: p, Runs: []MatrixRun{}})
		for _, x := range []struct {
			list *[]string
			v    string
		}{{&m.Profiles, p.Profile}, {&m.Publishers, p.Publisher}, {&m.Consumers, p.Consumer}} {
			if !slices.Contains(*x.list, x.v) {
				*x.list = append(*x.list, x.v)
			}
		}
		return index[p]
	}
	for _, p := range pairs {
		add(p)
	}
	for _, r := range runs {
		i, ok := index[r.MatrixPair]
		if !ok && pairs != nil {
			m.Unplanned = append(m.Unplanned, r)
			continue
		}
		if !ok {
			i = add(r.MatrixPair)
		}
		m.Cells[i].Runs = append(m.Cells[i].Runs, r)
	}
	for i := range m.Cells {
		c := &m.Cells[i]
		slices.SortStableFunc(c.Runs, func(a, b MatrixRun) int { return a.Finished.Compare(b.Finished) })
		c.Counted, c.Status = -1, CellMissing
		if len(c.Runs) > 0 {
			c.Status = CellInvalid
		}
		for j := len(c.Runs) - 1; j >= 0; j-- {
			if c.Runs[j].Verified {
				c.Counted = j
				c.Status = cellOf(c.Runs[j].Verdict)
				break
			}
		}
	}
	return m
}

func cellOf(v Verdict) CellStatus {
	switch v {
	case VerdictPass:
		return CellPass
	case VerdictFail:
		return CellFail
	default:
		return CellIncomplete
	}
}

// Cell returns the cell of a pair (nil when the matrix has none).
func (m *Matrix) Cell(profile, publisher, consumer string) *MatrixCell {
	for i := range m.Cells {
		if c := &m.Cells[i]; c.Profile == profile && c.Publisher == publisher && c.Consumer == consumer {
			return c
		}
	}
	return nil
}

// Text draws the matrix as plain text, one table per profile: a row per
// publisher, a column per consumer.
func (m *Matrix) Text() string {
	var b strings.Builder
	const corner = "publisher \\ consumer"
	width := len(corner)
	for _, s := range append(slices.Clone(m.Publishers), m.Consumers...) {
		width = max(width, len([]rune(s)))
	}
	pad := func(s string) string { return s + strings.Repeat(" ", max(0, width-len([]rune(s)))) }
	for _, prof := range m.Profiles {
		fmt.Fprintf(&b, "profile %s\n%s", prof, pad(corner))
		for _, c := range m.Consumers {
			fmt.Fprintf(&b, "  %s", pad(c))
		}
		b.WriteString("\n")
		for _, p := range m.Publishers {
			b.WriteString(pad(p))
			for _, c := range m.Consumers {
				s := "-"
				if cell := m.Cell(prof, p, c); cell != nil {
					s = string(cell.Status)
				}
				fmt.Fprintf(&b, "  %s", pad(s))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// Count returns how many cells have each status.
func (m *Matrix) Count() map[CellStatus]int {
	n := map[CellStatus]int{}
	for _, c := range m.Cells {
		n[c.Status]++
	}
	return n
}

var cellLabels = map[CellStatus]string{
	CellPass:       "werkt samen",
	CellFail:       "werkt niet samen",
	CellIncomplete: "onvolledig",
	CellInvalid:    "run ongeldig",
	CellMissing:    "geen run",
}

type matrixHTMLCell struct {
	Status  CellStatus
	Label   string
	Report  string
	Detail  string
	Invalid []string
}

type matrixHTMLRow struct {
	Publisher string
	Cells     []matrixHTMLCell
}

type matrixHTMLTable struct {
	Profile   string
	Consumers []string
	Rows      []matrixHTMLRow
}

var matrixHTML = template.Must(template.New("matrix").Parse(`<!DOCTYPE html>
<html lang="nl">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Interoperabiliteitsmatrix — bcbench</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#111}
table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #888;padding:.5rem .75rem;vertical-align:top;text-align:left}
.pass{background:#d9f2d9}.fail{background:#f8d7d7}.incomplete,.missing{background:#fff2cc}.invalid{background:#e0e0e0;text-decoration:line-through}
.invalid a,.invalid span{text-decoration:none}
small{display:block;color:#333}
</style>
</head>
<body>
<main>
<h1>Interoperabiliteitsmatrix</h1>
<p>Elke cel is één ketenrun: de publicerende XIS (rij) met de afnemende rol (kolom), beoordeeld tegen het profiel.
Alleen een getekende run waarvan de handtekening en alle bestanden kloppen telt mee; een gewijzigde of niet te controleren run is
„run ongeldig” en telt nooit als „werkt samen”. Gemaakt {{.Created}}.</p>
{{range .Tables}}
<h2>Profiel {{.Profile}}</h2>
<table>
<caption>Publicerende XIS × afnemende rol, profiel {{.Profile}}</caption>
<thead><tr><th scope="col">XIS \ afnemer</th>{{range .Consumers}}<th scope="col">{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr><th scope="row">{{.Publisher}}</th>{{range .Cells}}<td class="{{.Status}}">{{if .Report}}<a href="{{.Report}}">{{.Label}}</a>{{else}}<span>{{.Label}}</span>{{end}} ({{.Status}}){{if .Detail}}<small>{{.Detail}}</small>{{end}}{{range .Invalid}}<small>ongeldig: {{.}}</small>{{end}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{end}}
{{if .Unplanned}}<h2>Runs buiten het plan (tellen niet mee)</h2>
<ul>{{range .Unplanned}}<li>{{.Publisher}} × {{.Consumer}} ({{.Profile}}): <a href="{{.Report}}">{{.Dir}}</a> — {{if .Verified}}{{.Verdict}}{{else}}ongeldig: {{.Problem}}{{end}}</li>{{end}}</ul>{{end}}
</main>
</body>
</html>
`))

// HTML renders the matrix as one self-contained page without script: a
// table per profile, each cell linking to the report of the run that
// decided it.
func (m *Matrix) HTML() ([]byte, error) {
	view := struct {
		Created   string
		Tables    []matrixHTMLTable
		Unplanned []MatrixRun
	}{Created: m.Created.Format(time.RFC3339), Unplanned: m.Unplanned}
	for _, prof := range m.Profiles {
		t := matrixHTMLTable{Profile: prof, Consumers: m.Consumers}
		for _, p := range m.Publishers {
			row := matrixHTMLRow{Publisher: p}
			for _, c := range m.Consumers {
				cell := m.Cell(prof, p, c)
				if cell == nil {
					row.Cells = append(row.Cells, matrixHTMLCell{Status: CellMissing, Label: "niet gepland"})
					continue
				}
				hc := matrixHTMLCell{Status: cell.Status, Label: cellLabels[cell.Status]}
				if cell.Counted >= 0 {
					r := cell.Runs[cell.Counted]
					hc.Report = r.Report
					hc.Detail = strings.Join(r.NotPassed, ", ")
				}
				for _, r := range cell.Runs {
					if !r.Verified {
						hc.Invalid = append(hc.Invalid, r.Dir+": "+r.Problem)
					}
				}
				row.Cells = append(row.Cells, hc)
			}
			t.Rows = append(t.Rows, row)
		}
		view.Tables = append(view.Tables, t)
	}
	var b bytes.Buffer
	if err := matrixHTML.Execute(&b, view); err != nil {
		return nil, fmt.Errorf("rendering the matrix: %w", err)
	}
	return b.Bytes(), nil
}
