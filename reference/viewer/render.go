package viewer

import (
	"bytes"
	"html/template"
	"net/http"
)

// style: dark text on white (contrast well above 4.5:1), visible focus,
// reflow at 320 px (tables scroll in their own box), no fixed heights.
const style = `
body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;color:#1a1a1a;background:#fff}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:1}
a{color:#0b4f8a}a:focus,button:focus,input:focus{outline:3px solid #0b4f8a;outline-offset:2px}
header{background:#0b3d66;color:#fff;padding:.75rem 1rem}header h1{margin:0;font-size:1.25rem}
.banner{background:#eef3f8;border-bottom:2px solid #0b3d66;padding:.75rem 1rem}
.banner dl{display:flex;flex-wrap:wrap;gap:.25rem 1.5rem;margin:0}.banner dt{font-weight:bold}.banner dd{margin:0}
main{padding:1rem;max-width:70rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}
th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid #8a8a8a}
thead th{background:#eef3f8}
.note{display:block;color:#333}
.refusal{border:2px solid #8a1c1c;padding:1rem;color:#1a1a1a}
`

var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html{{if .Lang}} lang="nl"{{end}}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} – Geboortezorgviewer</title>
<style>{{.Style}}</style>
</head>
<body>
{{if .Trap}}<p><label for="notitie">Notitie</label> <input id="notitie" onkeydown="if(event.key==='Tab'){event.preventDefault()}"></p>{{end}}
<a class="skip" href="#inhoud">Naar de inhoud</a>
<header><p><strong>Geboortezorgviewer</strong></p>{{if .Logo}}<img src="data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIyNCIgaGVpZ2h0PSIyNCI+PGNpcmNsZSBjeD0iMTIiIGN5PSIxMiIgcj0iMTAiIGZpbGw9IiNmZmYiLz48L3N2Zz4=" width="24" height="24">{{end}}</header>
{{if .Refusal}}
<main id="inhoud">
<h1>Geen toegang</h1>
<div class="refusal" role="alert"><p>{{.Refusal}}</p>
<p>Open de viewer vanuit het dossier van de cliënt in uw eigen systeem.</p></div>
{{.Leak}}
</main>
{{else}}
{{range .Records}}
<section class="banner" aria-label="Cliënt {{.Name}}">
<h1>{{.Name}}</h1>
<dl>
<div><dt>BSN</dt><dd>{{.BSN}}</dd></div>
<div><dt>Geboortedatum</dt><dd>{{.BirthDate}}</dd></div>
<div><dt>Geslacht</dt><dd>{{.Gender}}</dd></div>
<div><dt>Bekeken op</dt><dd>{{.Today}}</dd></div>
</dl>
</section>
{{end}}
<main id="inhoud">
{{if .Login}}
<form method="post" action="/login" aria-labelledby="opnieuw">
<h2 id="opnieuw">Opnieuw inloggen</h2>
<p><label for="gebruiker">Gebruikersnaam</label> <input id="gebruiker" name="gebruiker" autocomplete="username"></p>
<p><label for="wachtwoord">Wachtwoord</label> <input id="wachtwoord" name="wachtwoord" type="password" autocomplete="current-password"></p>
<p><button type="submit">Inloggen</button></p>
</form>
{{end}}
{{range $r := .Records}}
<h2 id="overzicht-{{.PatientID}}">Zwangerschap in het kort</h2>
{{if .Summary}}<div class="scroll"><table aria-labelledby="overzicht-{{.PatientID}}">
<thead><tr><th scope="col">Gegeven</th><th scope="col">Waarde</th><th scope="col">Datum</th><th scope="col">Bron</th></tr></thead>
<tbody>{{range .Summary}}<tr><th scope="row">{{.Name}}</th><td>{{.Value}}</td><td>{{.Date}}</td><td>{{.Source}}</td></tr>{{end}}</tbody>
</table></div>{{else}}<p>Nog geen zwangerschapsgegevens.</p>{{end}}
<h2 id="medicatie-{{.PatientID}}">Medicatieoverzicht op {{.Today}}</h2>
{{if .MedEmpty}}<p>Geen medicatie in gebruik volgens de medicatieafspraken.</p>{{else}}
<div class="scroll"><table aria-labelledby="medicatie-{{.PatientID}}" data-bcbench="medicatieoverzicht">
<thead><tr><th scope="col">Geneesmiddel</th><th scope="col">Gebruik</th><th scope="col">Periode</th><th scope="col">Bron</th></tr></thead>
<tbody>{{range .Medication}}<tr><th scope="row">{{.Product}}</th><td>{{.Dosage}}</td><td>{{.Period}}</td><td>{{.Source}}</td></tr>{{end}}</tbody>
</table></div>{{end}}
{{range .Sections}}
<h2 id="{{.ID}}-{{$r.PatientID}}">{{.Title}}</h2>
<div class="scroll"><table aria-labelledby="{{.ID}}-{{$r.PatientID}}">
<thead><tr><th scope="col">Gegeven</th><th scope="col">Waarde</th><th scope="col">Datum</th><th scope="col">Bron</th></tr></thead>
<tbody>{{range .Rows}}<tr><th scope="row">{{.Name}}</th><td>{{.Value}}{{if .Note}}<span class="note">{{.Note}}</span>{{end}}</td><td>{{.Date}}</td><td>{{.Source}}</td></tr>{{end}}</tbody>
</table></div>
{{end}}
{{range .Children}}
<h2 id="kind-{{.PatientID}}">Kind: {{.Name}}</h2>
<p>Geboren {{.BirthDate}}{{if .Gender}}, {{.Gender}}{{end}}{{if .BSN}}, BSN {{.BSN}}{{end}}</p>
{{if .Rows}}<div class="scroll"><table aria-labelledby="kind-{{.PatientID}}">
<thead><tr><th scope="col">Gegeven</th><th scope="col">Waarde</th><th scope="col">Datum</th><th scope="col">Bron</th></tr></thead>
<tbody>{{range .Rows}}<tr><th scope="row">{{.Name}}</th><td>{{.Value}}{{if .Note}}<span class="note">{{.Note}}</span>{{end}}</td><td>{{.Date}}</td><td>{{.Source}}</td></tr>{{end}}</tbody>
</table></div>{{else}}<p>Nog geen gegevens van {{.Name}}.</p>{{end}}
{{end}}
{{end}}
{{if .Pale}}<p style="color:#aaaaaa">Gegevens uit de aangesloten bronsystemen.</p>{{end}}
</main>
<footer><p><a href="#inhoud">Terug naar het begin van de inhoud</a></p></footer>
{{end}}
</body>
</html>
`))

type pageData struct {
	Title                   string
	Style                   template.CSS
	Refusal                 string
	Records                 []*record
	Lang, Logo, Login, Trap bool
	Pale                    bool
	// Leak is what a leaking mutant adds to a refusal (markup it made)
	Leak template.HTML
}

func (s *Server) data(title string) pageData {
	d := pageData{Title: title, Style: template.CSS(style), Lang: true}
	if m := s.defect; m != nil {
		d.Lang = !m.noLang
		d.Logo = m.logo
		d.Login = m.loginForm
		d.Trap = m.trap
		d.Pale = m.pale
	}
	return d
}

func (s *Server) render(w http.ResponseWriter, recs []*record) {
	d := s.data("Dossier")
	if len(recs) > 0 {
		d.Title = "Dossier " + recs[len(recs)-1].Name
	}
	d.Records = recs
	write(w, http.StatusOK, d)
}

// refuse answers 403 with a page that holds no client data.
func (s *Server) refuse(w http.ResponseWriter, why string) {
	s.refuseWith(w, why, "")
}

// refuseWith is refuse with markup a leaking mutant adds.
func (s *Server) refuseWith(w http.ResponseWriter, why string, leak template.HTML) {
	d := s.data("Geen toegang")
	d.Refusal = why
	d.Login = false
	d.Leak = leak
	write(w, http.StatusForbidden, d)
}

func write(w http.ResponseWriter, status int, d pageData) {
	var b bytes.Buffer
	if err := page.Execute(&b, d); err != nil {
		http.Error(w, "rendering: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}
