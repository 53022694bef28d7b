package cert

import (
	"bytes"
	"html/template"
	"time"
)

var page = template.Must(template.New("certificaat").Funcs(template.FuncMap{
	"datum": func(t time.Time) string { return t.UTC().Format("02-01-2006") },
}).Parse(`<!doctype html>
<html lang="nl">
<head>
<meta charset="utf-8">
<title>Certificaat {{.D.System}} {{.D.Version}} — {{.D.Profile}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.5}
h1{font-size:1.6rem;margin-bottom:.2rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}
dt{font-weight:600}
code{font-size:.85rem;word-break:break-all}
.stempel{border:3px solid #0b5d1e;color:#0b5d1e;padding:.5rem 1rem;display:inline-block;font-weight:700}
@media print{body{margin:0}}
</style>
</head>
<body>
<main>
<h1>Certificaat</h1>
<p class="stempel">{{.P.VerificationResult}} — voldoet aan {{.D.ProfileTitle}}{{if not .D.ProfileTitle}}{{.D.Profile}}{{end}}</p>
<dl>
<dt>Systeem</dt><dd>{{.D.System}}</dd>
<dt>Leverancier</dt><dd>{{.D.Vendor}}</dd>
<dt>Versie</dt><dd>{{.D.Version}}</dd>
<dt>Certificeringsprofiel</dt><dd>{{.D.Profile}} versie {{.D.ProfileVersion}}</dd>
<dt>Rollen</dt><dd>{{range $i, $r := .D.Roles}}{{if $i}}, {{end}}{{$r}}{{end}}</dd>
<dt>Eisen behaald</dt><dd>{{range $i, $r := .D.Requirements}}{{if $i}}, {{end}}{{$r}}{{end}}</dd>
<dt>Run afgerond</dt><dd>{{datum .D.RunFinished}}</dd>
<dt>Afgegeven</dt><dd>{{datum .P.TimeVerified}}</dd>
<dt>Geldig</dt><dd>van {{datum .D.NotBefore}} tot en met {{datum .D.NotAfter}}</dd>
<dt>Testomgeving (operator)</dt><dd>{{.D.Operator}}</dd>
<dt>Afgegeven door</dt><dd>{{.P.Verifier.ID}}</dd>
</dl>
<h2>Controleren</h2>
<p>Dit certificaat is geldig zolang het in het openbare register van het programmabureau staat en niet is ingetrokken.
Controleer het met het rootcertificaat van het bureau en een kopie van het register:</p>
<pre><code>bcbench cert verify --root root.crt --register REGISTER/ certificaat.dsse.json</code></pre>
<p>sha256 van het certificaat: <code>{{.Digest}}</code></p>
</main>
</body>
</html>
`))

// Page renders the printable Dutch page of a certificate. Every value is
// escaped: candidate names are the vendor's text.
func Page(st Statement, digest string) ([]byte, error) {
	var b bytes.Buffer
	err := page.Execute(&b, struct {
		P      Summary
		D      Details
		Digest string
	}{st.Predicate, st.Predicate.Details, digest})
	return b.Bytes(), err
}
