package validator

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestChecks runs one small synthetic resource per check and asserts the
// verdict and, for invalid ones, a word of the message.
func TestChecks(t *testing.T) {
	v := r4(t)
	const nlPatient = "http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"
	tests := []struct {
		name     string
		data     string
		profiles []string
		wantErr  string // "" means valid (no error issue)
	}{
		{"valid patient", `{"resourceType":"Patient","id":"p1","active":true,"name":[{"family":"Jansen","given":["Anna"]}],"birthDate":"1990-02-03"}`, nil, ""},
		{"unknown element", `{"resourceType":"Patient","foo":1}`, nil, "unknown element"},
		{"array expected", `{"resourceType":"Patient","name":{"family":"Jansen"}}`, nil, "must be an array"},
		{"single expected", `{"resourceType":"Patient","active":[true]}`, nil, "must be a single value"},
		{"boolean as string", `{"resourceType":"Patient","active":"true"}`, nil, "not a valid boolean"},
		{"bad date", `{"resourceType":"Patient","birthDate":"1990-02-30"}`, nil, "real calendar date"},
		{"bad date format", `{"resourceType":"Patient","birthDate":"03-02-1990"}`, nil, "not a valid date"},
		{"dateTime without zone", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"effectiveDateTime":"2020-01-01T10:00:00"}`, nil, "not a valid dateTime"},
		{"bad id", `{"resourceType":"Patient","id":"a b"}`, nil, "not a valid id"},
		{"bad code", `{"resourceType":"Patient","gender":"fe  male"}`, nil, "not a valid code"},
		{"uri with space", `{"resourceType":"Patient","implicitRules":"http://a b"}`, nil, "not a valid uri"},
		{"bad decimal type", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":"1.5"}}`, nil, "must be a JSON number"},
		{"missing required", `{"resourceType":"Observation","code":{"text":"x"}}`, nil, "minimum required"},
		{"required binding", `{"resourceType":"Observation","status":"done","code":{"text":"x"}}`, nil, "required value set"},
		{"choice type not allowed", `{"resourceType":"Patient","deceasedString":"yes"}`, nil, "not allowed"},
		{"empty object", `{"resourceType":"Patient","maritalStatus":{}}`, nil, "empty object"},
		{"empty string", `{"resourceType":"Patient","gender":""}`, nil, "must not be empty"},
		{"invariant pat-1", `{"resourceType":"Patient","contact":[{"gender":"female"}]}`, nil, "pat-1"},
		{"reference target type", `{"resourceType":"Patient","generalPractitioner":[{"reference":"Observation/1"}]}`, nil, "allows only"},
		{"contained not found", `{"resourceType":"Patient","managingOrganization":{"reference":"#org"}}`, nil, "no contained resource"},
		{"contained checked", `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"org","bogus":true}],"managingOrganization":{"reference":"#org"}}`, nil, "unknown element"},
		{"unknown extension warns", `{"resourceType":"Patient","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/does-not-exist","valueString":"x"}]}`, nil, ""},
		{"unknown extension", `{"resourceType":"Patient","extension":[{"url":"http://vendor.test/fhir/StructureDefinition/nope","valueString":"x"}]}`, nil, "is unknown"},
		{"example.org extension warns", `{"resourceType":"Patient","extension":[{"url":"http://example.org/fhir/StructureDefinition/nope","valueString":"x"}]}`, nil, ""},
		{"extension used outside its context", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace","valueAddress":{"city":"Utrecht"}}]}`, nil, "not allowed here"},
		{"relative extension url", `{"resourceType":"Patient","extension":[{"url":"nope","valueString":"x"}]}`, nil, "absolute URL"},
		{"bundle fullUrl mismatch", `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"http://example.org/fhir/Patient/a","resource":{"resourceType":"Patient","id":"b"}}]}`, nil, "must end with"},
		{"bundle duplicate fullUrl", `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:2c1f7e2a-1d3b-4c1e-9c1a-0d0a1b2c3d4e","resource":{"resourceType":"Patient"}},{"fullUrl":"urn:uuid:2c1f7e2a-1d3b-4c1e-9c1a-0d0a1b2c3d4e","resource":{"resourceType":"Patient"}}]}`, nil, "duplicate entry"},
		{"attachment size", `{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"data":"aGVsbG8=","size":6}}]}`, nil, "Attachment.size"},
		{"extension checked against definition", `{"resourceType":"Patient","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace","valueString":"Utrecht"}]}`, nil, "not allowed"},
		{"unknown resource type", `{"resourceType":"Patiënt"}`, nil, "unknown resource type"},
		{"xhtml script", `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(1)</script></div>"}}`, nil, "not allowed in a narrative"},
		{"profile fixed system", `{"resourceType":"Patient","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"}],"name":[{"family":"Jansen","use":"official"}]}`, []string{nlPatient}, ""},
		{"profile unknown", `{"resourceType":"Patient"}`, []string{"http://example.org/nope"}, "could not be used"},
		{"profile for other type", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`, []string{nlPatient}, "is for Patient"},
		{"xml valid", `<Patient xmlns="http://hl7.org/fhir"><active value="true"/><name><family value="Jansen"/></name></Patient>`, nil, ""},
		{"xml unknown element", `<Patient xmlns="http://hl7.org/fhir"><colour value="red"/></Patient>`, nil, "unknown element"},
		{"broken json", `{"resourceType":"Patient",`, nil, "decode fhir json"},
		{"broken xml", `<Patient xmlns="http://hl7.org/fhir"><active value="true">`, nil, "decode fhir xml"},
		{"json array root", `[{"resourceType":"Patient"}]`, nil, "must be a JSON object"},
		{"no resourceType", `{"id":"x"}`, nil, "no resourceType"},
		{"deep json", strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000), nil, "nested deeper"},
		{"deep xml", `<Patient xmlns="http://hl7.org/fhir">` + strings.Repeat("<extension>", 10000) + strings.Repeat("</extension>", 10000) + `</Patient>`, nil, "nested deeper"},
		{"empty", ``, nil, "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := v.Validate(context.Background(), []byte(tc.data), Request{Profiles: tc.profiles})
			if tc.wantErr == "" {
				if out.HasErrors() {
					t.Errorf("want valid, got:\n%s", out.Text())
				}
				if w := wantWarning[tc.name]; w != "" && !strings.Contains(out.Text(), w) {
					t.Errorf("want a warning containing %q, got:\n%s", w, out.Text())
				}
				return
			}
			if !out.HasErrors() {
				t.Fatalf("want an error containing %q, got:\n%s", tc.wantErr, out.Text())
			}
			found := false
			for _, is := range out.Errors() {
				found = found || strings.Contains(is.Diagnostics, tc.wantErr)
			}
			if !found {
				t.Errorf("no error contains %q:\n%s", tc.wantErr, out.Text())
			}
		})
	}
}

// wantWarning lists valid cases that must carry a warning.
var wantWarning = map[string]string{"unknown extension warns": "not in the loaded packages", "example.org extension warns": "not in the loaded packages"}

// TestLargeInput checks that a 50 MB input is refused or handled in bounded
// time and gives an issue, not a crash.
func TestLargeInput(t *testing.T) {
	v := r4(t)
	big := `{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">` + strings.Repeat("a", 50<<20) + `</div>"}}`
	start := time.Now()
	out := v.Validate(context.Background(), []byte(big), Request{})
	t.Logf("50 MB input: %d issues in %v", len(out.Issue), time.Since(start))
	if len(out.Issue) == 0 {
		t.Error("no issue")
	}
	huge := make([]byte, MaxInput+1)
	out = v.Validate(context.Background(), huge, Request{})
	if !out.HasErrors() || !strings.Contains(out.Issue[0].Diagnostics, "larger than the limit") {
		t.Errorf("over-limit input: %s", out.Text())
	}
}

func TestFillPlaceholders(t *testing.T) {
	in := `<effectiveDateTime value="${DATE, T, D, -146}"/><id value="${UUID}"/><x value="${DATE, T, Y, -1, 10:30}"/>`
	got := string(FillPlaceholders([]byte(in)))
	if strings.Contains(got, "${") {
		t.Fatalf("placeholders left: %s", got)
	}
	want := time.Now().UTC().AddDate(0, 0, -146).Format("2006-01-02")
	if !strings.Contains(got, want) {
		t.Errorf("DATE -146 days: want %s in %s", want, got)
	}
	if !strings.Contains(got, "T10:30:00+01:00") {
		t.Errorf("date with time: %s", got)
	}
}

func TestCheckXHTML(t *testing.T) {
	const ns = ` xmlns="http://www.w3.org/1999/xhtml"`
	tests := []struct {
		name, div string
		ok        bool
	}{
		{"simple", `<div` + ns + `><p>Anna <b>de Vries</b></p></div>`, true},
		{"attribute with on-word value", `<div` + ns + `><td title="onafhankelijk lopen">x</td></div>`, true},
		{"self closing and comment", `<div` + ns + `><br/><!-- note --><img src="a.png" alt="a"/></div>`, true},
		{"script", `<div` + ns + `><script>alert(1)</script></div>`, false},
		{"event attribute", `<div` + ns + `><p onclick="x()">a</p></div>`, false},
		{"unbalanced", `<div` + ns + `><p>a</div>`, false},
		{"no namespace", `<div><p>a</p></div>`, false},
		{"not a div", `<p` + ns + `>a</p>`, false},
		{"text after", `<div` + ns + `>a</div>tail`, false},
		{"no content", `<div` + ns + `> <p> </p> </div>`, false},
		{"image only", `<div` + ns + `><img src="#a"/></div>`, true},
	}
	for _, tc := range tests {
		if err := checkXHTML(tc.div); (err == nil) != tc.ok {
			t.Errorf("%s: error %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// TestConcurrent validates the same examples from several goroutines at once
// (run with -race) and checks that the verdicts do not change.
func TestConcurrent(t *testing.T) {
	v := r4(t)
	docs := [][]byte{
		[]byte(`{"resourceType":"Patient","id":"p1","active":true,"name":[{"family":"Jansen"}]}`),
		[]byte(`{"resourceType":"Patient","active":"yes"}`),
		[]byte(`<Patient xmlns="http://hl7.org/fhir"><active value="true"/></Patient>`),
		[]byte(`{"resourceType":"Patient","identifier":[{"system":"http://fhir.nl/fhir/NamingSystem/bsn","value":"999911120"}],"meta":{"profile":["http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"]}}`),
	}
	want := make([]bool, len(docs))
	for i, d := range docs {
		want[i] = v.Validate(context.Background(), d, Request{}).HasErrors()
	}
	// A fresh validator on the same definitions: its profiles are compiled
	// concurrently by the goroutines below.
	fresh, err := New(Options{FHIRVersion: "4.0.1", Registry: v.Registry()})
	if err != nil {
		t.Fatal(err)
	}
	v = fresh
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, d := range docs {
				if got := v.Validate(context.Background(), d, Request{}).HasErrors(); got != want[i] {
					errs <- fmt.Sprintf("doc %d: HasErrors %v, want %v", i, got, want[i])
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestSortByChildIsStable: items end up ordered by element, and the items of
// one element keep their order, for few items and for many.
func TestSortByChildIsStable(t *testing.T) {
	for _, tc := range []struct {
		name     string
		children []int
	}{
		{"none", nil},
		{"one", []int{3}},
		{"few, out of order", []int{2, 0, 2, 1, 0}},
		{"already ordered", []int{0, 1, 1, 4}},
		{"many, two groups reversed", append(slices.Repeat([]int{5}, 20), slices.Repeat([]int{1}, 20)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items := make([]item, len(tc.children))
			for i, c := range tc.children {
				items[i] = item{child: c, path: strconv.Itoa(i)}
			}
			sortByChild(items)
			for i := 1; i < len(items); i++ {
				a, b := items[i-1], items[i]
				ai, _ := strconv.Atoi(a.path)
				bi, _ := strconv.Atoi(b.path)
				if a.child > b.child || a.child == b.child && ai > bi {
					t.Fatalf("items %d (element %d, was %s) and %d (element %d, was %s) are out of order", i-1, a.child, a.path, i, b.child, b.path)
				}
			}
		})
	}
}
