package terminology

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// The membership table: decisions the packages cannot make offline (codes
// of SNOMED CT, LOINC and the G-Standaard in value sets defined by a filter
// or by a whole external code system), each with the evidence it rests on,
// so that a system using the scenarios' codes can be certified without a
// terminology server. A code outside the table stays Unknown.
//
//go:embed membership.yaml
var membershipYAML []byte

// Provenance kinds of a table entry.
const (
	// ProvenanceEnumeration: the value set (or one it imports) lists the
	// code itself; Source is the value set's canonical.
	ProvenanceEnumeration = "enumeration"
	// ProvenanceExample: a conformant published example uses the code at
	// Element, where the profile binds the value set; Source is the file,
	// relative to the corpus root.
	ProvenanceExample = "example"
	// ProvenanceCodeInSystem: the value set includes the whole code system
	// (no filter), and a published example uses the code of that system at
	// Element, which shows that the code exists; Source is the file.
	ProvenanceCodeInSystem = "code-in-system"
	// ProvenanceServer: a recorded answer of a FHIR terminology server;
	// Source is the server's base URL and the date of the answer.
	ProvenanceServer = "tx-answer"
)

// Entry is one decision of the membership table.
type Entry struct {
	ValueSet string `yaml:"valueSet"`
	System   string `yaml:"system"`
	Code     string `yaml:"code"`
	Display  string `yaml:"display,omitempty"`
	// Decision is "member" or "not-member".
	Decision   string     `yaml:"decision"`
	Provenance Provenance `yaml:"provenance"`
}

// Provenance says where an entry's decision comes from.
type Provenance struct {
	Kind    string `yaml:"kind"`
	Source  string `yaml:"source"`
	Element string `yaml:"element,omitempty"`
	// Answer is the recorded server answer (the Parameters resource as
	// JSON), for kind tx-answer.
	Answer string `yaml:"answer,omitempty"`
}

// result turns the entry into the Service's answer, naming the evidence.
func (e Entry) result() Result {
	msg := fmt.Sprintf("decided by the bench's membership table (%s: %s", e.Provenance.Kind, e.Provenance.Source)
	if e.Provenance.Element != "" {
		msg += " at " + e.Provenance.Element
	}
	msg += ")"
	if e.Decision == "not-member" {
		return Result{Outcome: NotMember, Message: fmt.Sprintf("code %q of %s is not in value set %s: %s", e.Code, e.System, e.ValueSet, msg)}
	}
	return Result{Outcome: Member, Message: msg}
}

// Table is a membership table, keyed by value set, system and code.
type Table struct {
	entries []Entry
	index   map[[3]string]int
}

// ParseTable reads a membership table (YAML: a list "entries" of value
// set, system, code, decision and provenance).
func ParseTable(data []byte) (*Table, error) {
	var doc struct {
		Entries []Entry `yaml:"entries"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("reading membership table: %w", err)
	}
	t := &Table{entries: doc.Entries, index: make(map[[3]string]int, len(doc.Entries))}
	for i, e := range doc.Entries {
		switch {
		case e.ValueSet == "" || e.System == "" || e.Code == "":
			return nil, fmt.Errorf("reading membership table: entry %d: value set, system and code are required", i+1)
		case e.Decision != "member" && e.Decision != "not-member":
			return nil, fmt.Errorf("reading membership table: entry %d (%s): decision %q: use member or not-member", i+1, e.Code, e.Decision)
		}
		switch e.Provenance.Kind {
		case ProvenanceEnumeration, ProvenanceExample, ProvenanceCodeInSystem, ProvenanceServer:
		default:
			return nil, fmt.Errorf("reading membership table: entry %d (%s): provenance kind %q unknown", i+1, e.Code, e.Provenance.Kind)
		}
		if e.Provenance.Source == "" {
			return nil, fmt.Errorf("reading membership table: entry %d (%s): provenance without source", i+1, e.Code)
		}
		k := [3]string{tableURL(e.ValueSet), e.System, e.Code}
		if _, dup := t.index[k]; dup {
			return nil, fmt.Errorf("reading membership table: entry %d: %s|%s in %s twice", i+1, e.System, e.Code, e.ValueSet)
		}
		t.index[k] = i
	}
	return t, nil
}

// tableURL drops a "|version" from a value set canonical: table entries
// name the value set's URL (the Nictiz URLs carry their version already).
func tableURL(canonical string) string {
	u, _, _ := strings.Cut(canonical, "|")
	return u
}

// Lookup finds the decision for a code of system in a value set.
func (t *Table) Lookup(valueSet, system, code string) (Entry, bool) {
	if t == nil {
		return Entry{}, false
	}
	i, ok := t.index[[3]string{tableURL(valueSet), system, code}]
	if !ok {
		return Entry{}, false
	}
	return t.entries[i], true
}

// Entries returns the table's entries in file order.
func (t *Table) Entries() []Entry {
	if t == nil {
		return nil
	}
	return append([]Entry(nil), t.entries...)
}

var shippedTable = sync.OnceValue(func() *Table {
	t, err := ParseTable(membershipYAML)
	if err != nil {
		panic(err) // the embedded file is checked by the tests
	}
	return t
})

// Membership returns the table the bench ships.
func Membership() *Table { return shippedTable() }
