package spec

import (
	"testing"
)

// TestLeadsTo: an index pointer leads to a person's Patient at a publisher
// when it is her fullUrl there, or her Patient id on the same host; never
// another host, another id, or an empty url.
func TestLeadsTo(t *testing.T) {
	full := "http://127.0.0.1:4000/fhir/Patient/abc"
	cases := []struct {
		name    string
		pointer string
		want    bool
	}{
		{name: "her fullUrl", pointer: full, want: true},
		{name: "her id on the same host, another base path", pointer: "http://127.0.0.1:4000/r4/Patient/abc", want: true},
		{name: "another host", pointer: "http://127.0.0.1:4001/fhir/Patient/abc"},
		{name: "another id", pointer: "http://127.0.0.1:4000/fhir/Patient/abd"},
		{name: "an id that only ends like hers", pointer: "http://127.0.0.1:4000/fhir/Patient/xabc"},
		{name: "empty", pointer: ""},
		{name: "not a url", pointer: "::"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := LeadsTo(tc.pointer, full, "abc"); got != tc.want {
				t.Errorf("LeadsTo(%q) = %v, want %v", tc.pointer, got, tc.want)
			}
		})
	}
}

// TestRecordTransferKeepsOnePerTransfer: a second record of the same
// transfer replaces the first; the list is ordered by scenario.
func TestRecordTransferKeepsOnePerTransfer(t *testing.T) {
	e := &Env{}
	e.RecordTransfer(TransferCoverage{Scenario: "spoedsectio", Transfer: "acute-verwijzing", Items: 16, Structured: 15})
	e.RecordTransfer(TransferCoverage{Scenario: "overdracht-jgz", Transfer: "overdracht-jgz", Items: 12, Structured: 12})
	e.RecordTransfer(TransferCoverage{Scenario: "spoedsectio", Transfer: "acute-verwijzing", Items: 16, Structured: 16})
	got := e.Transfers()
	if len(got) != 2 || got[0].Scenario != "overdracht-jgz" || got[1].Structured != 16 {
		t.Fatalf("transfers = %+v", got)
	}
}
