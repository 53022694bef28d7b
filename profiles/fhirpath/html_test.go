package fhirpath

import "testing"

func TestHTMLChecks(t *testing.T) {
	const ns = `xmlns="http://www.w3.org/1999/xhtml"`
	tests := []struct {
		name, div string
		want      bool
	}{
		{"plain text", `<div ` + ns + `>Bloeddruk 120/80 mmHg</div>`, true},
		{"table and styles", `<div ` + ns + `><table class="grid"><tr><td style="color:red">x</td></tr></table></div>`, true},
		{"link and image", `<div ` + ns + `><a href="#x" name="x">a</a><img src="#pic" alt="p"/></div>`, true},
		{"xml:lang", `<div ` + ns + ` xml:lang="nl"><p lang="nl">tekst</p></div>`, true},
		{"entities", `<div ` + ns + `>&lt;&nbsp;&amp;</div>`, true},
		{"only an image is content", `<div ` + ns + `><img src="#pic"/></div>`, true},
		{"empty", `<div ` + ns + `>  </div>`, false},
		{"no namespace", `<div>tekst</div>`, false},
		{"not a div", `<p ` + ns + `>tekst</p>`, false},
		{"script", `<div ` + ns + `><script>alert(1)</script>x</div>`, false},
		{"event handler", `<div ` + ns + `><p onclick="x()">x</p></div>`, false},
		{"javascript link", `<div ` + ns + `><a href="javascript:x()">x</a></div>`, false},
		{"form", `<div ` + ns + `><form>x</form></div>`, false},
		{"foreign namespace", `<div ` + ns + `><svg xmlns="http://www.w3.org/2000/svg"/>x</div>`, false},
		{"malformed", `<div ` + ns + `><p>x</div>`, false},
		{"two roots", `<div ` + ns + `>x</div><div ` + ns + `>y</div>`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := htmlChecks(tc.div); got != tc.want {
				t.Errorf("htmlChecks(%s) = %v, want %v", tc.div, got, tc.want)
			}
		})
	}
	// Through FHIRPath, on a Narrative and on its div.
	narrative := map[string]any{"status": "generated", "div": `<div ` + ns + `><p onclick="x()">x</p></div>`}
	got, err := MustCompile("htmlChecks() or div.htmlChecks()").Evaluate(narrative, &Env{FocusType: "Narrative"})
	if err != nil || render(got) != "[Boolean:false]" {
		t.Errorf("htmlChecks on a Narrative with an event handler: %s, %v", render(got), err)
	}
}
