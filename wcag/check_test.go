package wcag

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/browser"
)

// goodPage is a small viewer-like page in Dutch that meets every rule; each
// case below breaks it in one place only.
const goodPage = `<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>Zwangerschapskaart — J. de Vries</title>
<style>body{font:16px sans-serif;color:#222;background:#fff;margin:1em} a:focus,button:focus{outline:3px solid #0050b3}
.box{width:100%%;max-width:40em} %s</style></head>
<body><a href="#inhoud">Naar de inhoud</a>
<main id="inhoud"><h1>Zwangerschap</h1>
<p class="box">Uitgerekende datum 12-03-2026, zwangerschapsduur 24 weken en 3 dagen, gewicht 3,2 kg.</p>
<button type="button">Vernieuwen</button> <a href="/lab">Laboratoriumuitslagen</a>
%s
</main></body></html>`

func TestCheckFindsOneDefectEach(t *testing.T) {
	if _, err := browser.Find(""); err != nil {
		t.Skipf("skipping: %v", err)
	}
	cases := []struct {
		name, css, body string
		rule, sc        string // "" : no failure at all
	}{
		{"good page", "", "", "", ""},
		{"low contrast paragraph", ".grijs{color:#aaa}", `<p class="grijs">Bloeddruk 120/80 mmHg gemeten op 12-03-2026</p>`, "afw4f7", "1.4.3"},
		{"no focus indicator on one button", "#stil:focus{outline:none}", `<button id="stil" type="button" style="border:0;background:#fff;color:#222">Afdrukken</button>`, "oj04fd", "2.4.7"},
		{"keyboard trap", "", `<input id="val" aria-label="Notitie" onkeydown="if(event.key==='Tab'){event.preventDefault()}"> <a href="/meer">Meer gegevens</a>`, "bcb-keyboard", "2.1.2"},
		{"too wide for 320 px", "", `<div style="width:900px">Een lange regel met verwijzingen naar de verloskundige praktijk</div>`, "bcb-reflow", "1.4.10"},
		{"clipped with text spacing", "", `<div style="height:1.3em;line-height:1.2;overflow:hidden;white-space:nowrap">Hypertensie</div>`, "bcb-text-spacing", "1.4.12"},
		{"empty heading", "", `<h2></h2>`, "bcb-heading", "2.4.6"},
		{"image without alternative", "", `<img src="/echo.png" width="20" height="20">`, "23a2a8", "1.1.1"},
	}
	mux := http.NewServeMux()
	for i, tc := range cases {
		mux.HandleFunc(fmt.Sprintf("/case/%d", i), func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, goodPage, tc.css, tc.body)
		})
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	b, err := browser.Launch(context.Background(), browser.Options{PageTimeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Check(context.Background(), b, fmt.Sprintf("%s/case/%d", srv.URL, i))
			if err != nil {
				t.Fatal(err)
			}
			var failed []string
			for _, f := range rep.Findings {
				if f.Outcome == Failed {
					failed = append(failed, f.Rule+" "+f.SC+" "+f.Element+": "+f.Message)
				}
			}
			if len(rep.Screenshot) == 0 {
				t.Error("no page screenshot")
			}
			if tc.rule == "" {
				if len(failed) > 0 {
					t.Fatalf("the good page failed:\n%s", strings.Join(failed, "\n"))
				}
				return
			}
			found := false
			for _, f := range rep.Findings {
				if f.Outcome == Failed && f.Rule == tc.rule && f.SC == tc.sc {
					found = true
				}
			}
			if !found {
				t.Fatalf("no %s (%s) failure; failed: %v", tc.rule, tc.sc, failed)
			}
			for _, f := range failed {
				if !strings.HasPrefix(f, tc.rule+" ") {
					t.Errorf("also failed, beyond the one defect: %s", f)
				}
			}
		})
	}
}
