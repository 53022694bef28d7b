package viewer

import (
	"slices"
	"testing"

	"github.com/bcbench/bcbench/browser"
	"github.com/bcbench/bcbench/fixtures"
)

func TestLeaksFindTheClientHoweverSheIsWritten(t *testing.T) {
	c := fixtures.Client{Given: "Sanne", Family: "de Jong", BSN: "999999011", BirthDate: "1995-04-12"}
	tests := []struct {
		name    string
		o       observed
		want    []string
		refusal bool // read whole, as VWR-02 reads a refusal
	}{
		{name: "nothing of her", o: observed{text: "Geen toegang. De viewer is niet geopend vanuit uw eigen systeem."}, refusal: true},
		{name: "her name shown", o: observed{text: "Dossier van Sanne de Jong"}, want: []string{"haar naam staat op de pagina"}},
		{name: "her family name, other case and spacing", o: observed{text: "DE   JONG"}, want: []string{"haar achternaam staat op de pagina"}},
		{name: "her name with non-breaking spaces", o: observed{text: "Sanne\u00a0de\u00a0Jong"}, want: []string{"haar naam staat op de pagina"}},
		{name: "her family name with a zero-width space", o: observed{text: "de\u200bJong"}, want: []string{"haar achternaam staat op de pagina"}},
		{name: "her family name with a narrow non-breaking space", o: observed{text: "de\u202fJong"}, want: []string{"haar achternaam staat op de pagina"}},
		{name: "her name with nbsp entities in a body", refusal: true, o: observed{content: &browser.Content{
			Traffic: []browser.Text{{Where: "antwoord op GET http://v/", Text: "<p>Sanne&nbsp;de&nbsp;Jong</p>"}}}},
			want: []string{"haar naam staat in het netwerkverkeer: antwoord op GET http://v/"}},
		{name: "her birth date with non-breaking spaces", refusal: true, o: observed{content: &browser.Content{DOM: "geboren 12\u00a0april\u00a01995"}},
			want: []string{"haar geboortedatum staat in de DOM van de pagina (tekst, commentaar, attributen, verborgen elementen)"}},
		{name: "her family name inside a longer word is not her", o: observed{text: "de jongste dienst"}},
		{name: "her BSN with dots in the storage", o: observed{store: "k=9999.99.011\n"}, want: []string{"haar BSN staat in de opslag van de browser"}},
		{name: "her BSN inside a longer number is not her", o: observed{text: "1999999011"}},
		{name: "her name percent-encoded in a URL", o: observed{urls: []string{"http://v/x?n=Sanne%20de%20Jong"}}, want: []string{"haar naam staat in het netwerkverkeer: adres http://v/x"}},
		{name: "her birth date on a page judged only for name and BSN", o: observed{text: "12-04-1995"}},
		{name: "a refusal's hidden DOM, traffic and cookies", refusal: true, o: observed{content: &browser.Content{
			DOM:     "<!-- 12 april 1995 -->\nSanne de Jong",
			Traffic: []browser.Text{{Where: "antwoord op GET http://v/c", Text: `{"bsn":"999 999 011","geboren":"1995-04-12"}`}},
			Cookies: []string{"laatst=de+Jong"},
		}}, want: []string{
			"haar naam staat in de DOM van de pagina (tekst, commentaar, attributen, verborgen elementen)",
			"haar geboortedatum staat in de DOM van de pagina (tekst, commentaar, attributen, verborgen elementen)",
			"haar BSN staat in het netwerkverkeer: antwoord op GET http://v/c",
			"haar geboortedatum staat in het netwerkverkeer: antwoord op GET http://v/c",
			"haar achternaam staat in een cookie",
		}},
		{name: "a request URL seen twice is one finding", refusal: true, o: observed{urls: []string{"http://v/x?bsn=999999011"},
			content: &browser.Content{Traffic: []browser.Text{{Where: "adres http://v/x", Text: "http://v/x?bsn=999999011"}}}},
			want: []string{"haar BSN staat in het netwerkverkeer: adres http://v/x"}},
		{name: "her birth date in Dutch short form", refusal: true, o: observed{content: &browser.Content{DOM: "geboren 12-4-1995"}},
			want: []string{"haar geboortedatum staat in de DOM van de pagina (tekst, commentaar, attributen, verborgen elementen)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			if tc.refusal && o.content == nil {
				o.content = &browser.Content{}
			}
			got := o.leaks(c)
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("leaks =\n%q\nwant\n%q", got, want)
			}
		})
	}
}
