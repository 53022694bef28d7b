package spec

import (
	"net/url"
	"slices"
	"strings"
)

// TransferCoverage is what the bench, playing the receiving organisation of
// a transfer (suites/transfer), found of its data set through the index:
// how many items arrived structured (found as a coded resource on the right
// record with the registered value) out of all items of the set.
type TransferCoverage struct {
	Scenario string
	Transfer string // fixtures.Transfer.ID
	Title    string
	// Receiver is the organisation the bench played, and its professional.
	Receiver string
	Items    int
	// Structured counts the items that arrived structured and right.
	Structured int
	// Missing names each item that did not, with why (Dutch).
	Missing []string
}

// RecordTransfer keeps the coverage of one transfer for the report; a
// second record of the same transfer replaces the first (each transfer
// spec computes the whole set).
func (e *Env) RecordTransfer(c TransferCoverage) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, old := range e.transfers {
		if old.Scenario == c.Scenario && old.Transfer == c.Transfer {
			e.transfers[i] = c
			return
		}
	}
	e.transfers = append(e.transfers, c)
}

// Transfers returns the recorded coverage of every transfer, ordered by
// scenario and transfer.
func (e *Env) Transfers() []TransferCoverage {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := slices.Clone(e.transfers)
	slices.SortFunc(out, func(a, b TransferCoverage) int {
		if c := strings.Compare(a.Scenario, b.Scenario); c != 0 {
			return c
		}
		return strings.Compare(a.Transfer, b.Transfer)
	})
	return out
}

// LeadsTo says whether an index pointer's url is a person's Patient at a
// publisher: her fullUrl there, or her Patient id on the same host.
func LeadsTo(pointer, full, pid string) bool {
	if pointer == "" {
		return false
	}
	if pointer == full {
		return true
	}
	pu, err1 := url.Parse(pointer)
	fu, err2 := url.Parse(full)
	return err1 == nil && err2 == nil && fu.Host != "" && pu.Host == fu.Host && strings.HasSuffix(pu.Path, "/Patient/"+pid)
}

// Attachment returns the first content.attachment of an index pointer
// (DocumentReference); empty when it has none.
func Attachment(d map[string]any) map[string]any {
	content, _ := d["content"].([]any)
	for _, c := range content {
		if m, ok := c.(map[string]any); ok {
			if att, ok := m["attachment"].(map[string]any); ok {
				return att
			}
		}
	}
	return map[string]any{}
}

// SubjectBSN returns the BSN an index pointer's subject names by identifier.
func SubjectBSN(d map[string]any) string {
	subject, _ := d["subject"].(map[string]any)
	id, _ := subject["identifier"].(map[string]any)
	v, _ := id["value"].(string)
	return v
}
