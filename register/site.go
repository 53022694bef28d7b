package register

import (
	"bytes"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Status of a certificate on a given day.
const (
	StatusValid   = "geldig"
	StatusRevoked = "ingetrokken"
	StatusExpired = "verlopen"
	StatusPending = "nog niet geldig"
)

// Certificate is one issued certificate with what happened to it since.
type Certificate struct {
	Index   int64
	Entry   Entry
	Revoked *Entry
	Status  string
}

// System is every certificate of one system, newest first: its roadmap.
type System struct {
	Name         string
	Vendor       string
	Slug         string
	Certificates []Certificate
}

// Systems groups the register by system, judging each certificate's status
// at now.
func (l *Log) Systems(now time.Time) ([]System, error) {
	es, err := l.Entries()
	if err != nil {
		return nil, err
	}
	revoked := map[string]*Entry{}
	for i := range es {
		if es[i].Kind == Revoked {
			revoked[es[i].Certificate] = &es[i]
		}
	}
	bySys := map[string]*System{}
	for i, e := range es {
		if e.Kind != Issued {
			continue
		}
		s := bySys[e.System]
		if s == nil {
			s = &System{Name: e.System, Vendor: e.Vendor, Slug: slug(e.System)}
			bySys[e.System] = s
		}
		c := Certificate{Index: int64(i), Entry: e, Revoked: revoked[e.Certificate]}
		switch {
		case c.Revoked != nil:
			c.Status = StatusRevoked
		case now.After(e.NotAfter):
			c.Status = StatusExpired
		case now.Before(e.NotBefore):
			c.Status = StatusPending
		default:
			c.Status = StatusValid
		}
		s.Certificates = append([]Certificate{c}, s.Certificates...)
	}
	out := make([]System, 0, len(bySys))
	for _, s := range bySys {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b System) int { return strings.Compare(a.Name, b.Name) })
	// Two systems whose names map to one slug get distinct pages.
	seen := map[string]int{}
	for i := range out {
		seen[out[i].Slug]++
		if n := seen[out[i].Slug]; n > 1 {
			out[i].Slug = fmt.Sprintf("%s-%d", out[i].Slug, n)
		}
	}
	return out, nil
}

func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
		if b.Len() >= 60 {
			break
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		out = "systeem"
	}
	return out
}

var siteFuncs = template.FuncMap{
	"datum": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("02-01-2006")
	},
	"join": func(s []string) string { return strings.Join(s, ", ") },
	"cls":  func(s string) string { return strings.ReplaceAll(s, " ", "-") },
}

const siteStyle = `<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.5}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #888;padding:.3rem .5rem;text-align:left;vertical-align:top}
.geldig{color:#0b5d1e;font-weight:600}.ingetrokken{color:#a50e0e;font-weight:600}.verlopen,.nog-niet-geldig{color:#5a5a5a}
code{word-break:break-all;font-size:.85rem}
</style>`

var indexPage = template.Must(template.New("index").Funcs(siteFuncs).Parse(`<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Register van certificaten — {{.Origin}}</title>` + siteStyle + `</head>
<body><main>
<h1>Register van certificaten</h1>
<p>Register <code>{{.Origin}}</code>, {{.N}} vermeldingen, stand van {{datum .Now}}. Gecontroleerd boomhash: <code>{{.Hash}}</code>.</p>
<h2>Systemen, rollen en status</h2>
<table>
<thead><tr><th scope="col">Systeem</th><th scope="col">Leverancier</th><th scope="col">Versie</th><th scope="col">Rollen</th><th scope="col">Profiel</th><th scope="col">Status</th><th scope="col">Geldig tot</th></tr></thead>
<tbody>
{{range .Systems}}{{$s := .}}{{range .Certificates}}<tr><td><a href="{{$s.Slug}}.html">{{$s.Name}}</a></td><td>{{$s.Vendor}}</td><td>{{.Entry.Version}}</td><td>{{join .Entry.Roles}}</td><td>{{.Entry.Profile}} {{.Entry.ProfileVersion}}</td><td class="{{cls .Status}}">{{.Status}}</td><td>{{datum .Entry.NotAfter}}</td></tr>
{{end}}{{else}}<tr><td colspan="7">Nog geen certificaten.</td></tr>
{{end}}</tbody></table>
<h2>Controleren</h2>
<p>Dit register is een transparantielog: elke vermelding is opgenomen in een Merkle-boom waarvan het programmabureau de stand ondertekent.
Controleer de hele map met <code>bcbench register verify --root root.crt --register .</code>.</p>
</main></body></html>
`))

var systemPage = template.Must(template.New("system").Funcs(siteFuncs).Parse(`<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>{{.S.Name}} — certificaten</title>` + siteStyle + `</head>
<body><main>
<p><a href="index.html">Alle systemen</a></p>
<h1>{{.S.Name}}</h1>
<p>Leverancier: {{.S.Vendor}}</p>
<h2>Roadmap: gecertificeerde versies</h2>
<table>
<thead><tr><th scope="col">Versie</th><th scope="col">Profiel</th><th scope="col">Rollen</th><th scope="col">Eisen</th><th scope="col">Geldig van</th><th scope="col">Geldig tot</th><th scope="col">Status</th><th scope="col">Vermelding</th></tr></thead>
<tbody>
{{range .S.Certificates}}<tr><td>{{.Entry.Version}}</td><td>{{.Entry.Profile}} {{.Entry.ProfileVersion}}</td><td>{{join .Entry.Roles}}</td><td>{{join .Entry.Requirements}}</td><td>{{datum .Entry.NotBefore}}</td><td>{{datum .Entry.NotAfter}}</td>
<td class="{{cls .Status}}">{{.Status}}{{if .Revoked}} op {{datum .Revoked.Time}}: {{.Revoked.Reason}}{{end}}</td><td>#{{.Index}}, <code>{{.Entry.Certificate}}</code></td></tr>
{{end}}</tbody></table>
</main></body></html>
`))

// Site renders the register as static pages in out: index.html with every
// system × role × status, and one page per system with its history. No
// script; every value is escaped.
func (l *Log) Site(out string, now time.Time) error {
	systems, err := l.Systems(now)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("writing register site: %w", err)
	}
	var b bytes.Buffer
	cp := l.Checkpoint()
	err = indexPage.Execute(&b, map[string]any{"Origin": cp.Origin, "N": cp.N, "Hash": cp.Hash.String(), "Now": now, "Systems": systems})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "index.html"), b.Bytes(), 0o644); err != nil {
		return err
	}
	for _, s := range systems {
		b.Reset()
		if err := systemPage.Execute(&b, map[string]any{"S": s}); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, s.Slug+".html"), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
