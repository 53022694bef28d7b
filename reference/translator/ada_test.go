package translator

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// endless is a reader of n bytes of an endless ADA element, never held in memory at once.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	k := min(len(p), e.n)
	for i := range k {
		p[i] = "<a>"[i%3]
	}
	e.n -= k
	return k, nil
}

func TestBadInput(t *testing.T) {
	bomb := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><prio1_huidig>&lol2;</prio1_huidig>`
	external := `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "http://127.0.0.1:1/secret">]><prio1_huidig><vrouw><burgerservicenummer value="&xxe;"/></vrouw></prio1_huidig>`
	cases := []struct {
		name string
		in   io.Reader
		want error
		says string
	}{
		{"not well-formed", strings.NewReader("<prio1_huidig><vrouw></prio1_huidig>"), ErrMalformed, "not a well-formed"},
		{"entity bomb", strings.NewReader(bomb), ErrMalformed, "DOCTYPE not allowed"},
		{"external entity", strings.NewReader(external), ErrMalformed, "DOCTYPE not allowed"},
		{"undeclared entity", strings.NewReader(`<prio1_huidig a="&x;"/>`), ErrMalformed, "not a well-formed"},
		{"100 MB", &endless{n: 100 << 20}, ErrTooLarge, "16 MiB"},
		{"too deep", strings.NewReader(strings.Repeat("<a>", MaxDepth+1) + strings.Repeat("</a>", MaxDepth+1)), ErrMalformed, "deeper than"},
		{"unknown transaction", strings.NewReader(`<beschikbaarstellen_iets_anders/>`), ErrUnknown, "beschikbaarstellen_iets_anders"},
		{"empty", strings.NewReader(""), ErrMalformed, "no root element"},
		{"empty adaxml", strings.NewReader("<adaxml><data/></adaxml>"), ErrMalformed, "without a transaction"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ToFHIR(c.in)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want %v saying %q", err, c.want, c.says)
			}
		})
	}
}

func TestFHIRDate(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"relative day", "T-139D", "${DATE, T, D, -139}"},
		{"relative future", "T+99D", "${DATE, T, D, +99}"},
		{"relative with time", "T-587D{12:04}", "${DATE, T, D, -587}T12:04:00+02:00"},
		{"local winter time", "2014-01-02T10:30:00", "2014-01-02T10:30:00+01:00"},
		{"local summer time", "2014-07-02T10:30:00", "2014-07-02T10:30:00+02:00"},
		{"the hour that happens twice is summer time", "2026-10-25T02:59:00", "2026-10-25T02:59:00+02:00"},
		{"midnight is a moment", "2014-03-02T00:00:00", "2014-03-02T00:00:00+01:00"},
		{"date", "1976-05-02", "1976-05-02"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := fhirDate(c.in); got != c.want {
				t.Fatalf("fhirDate(%q) = %q, want %q", c.in, got, c.want)
			}
			if back := adaDate(fhirDate(c.in)); c.in[0] == 'T' && back != strings.Replace(c.in, "{12:04}", "{12:04:00}", 1) {
				t.Fatalf("adaDate(fhirDate(%q)) = %q", c.in, back)
			}
		})
	}
}
