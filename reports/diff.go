package reports

import "slices"

// Change is a requirement whose status differs between two runs. Before or
// After is empty when the requirement is in only one of them.
type Change struct {
	ID     string `json:"id"`
	Level  string `json:"level"`
	Before Status `json:"before,omitempty"`
	After  Status `json:"after,omitempty"`
	// Worse is true when After is a step down from Before (pass → anything
	// else, skip or not-tested → fail or error, …) or a MOET requirement
	// disappeared from the profile.
	Worse bool `json:"worse"`
}

// rank orders statuses from bad to good for regression checks.
var rank = map[Status]int{Fail: 0, Error: 1, NotTested: 2, Skip: 2, Pass: 3}

// Diff lists the requirements whose status changed from a to b, in b's order
// followed by those only in a.
func Diff(a, b *Results) []Change {
	before := map[string]RequirementResult{}
	for _, r := range a.Requirements {
		before[r.ID] = r
	}
	var changes []Change
	seen := map[string]bool{}
	for _, r := range b.Requirements {
		seen[r.ID] = true
		old, ok := before[r.ID]
		switch {
		case !ok:
			changes = append(changes, Change{ID: r.ID, Level: string(r.Level), After: r.Status})
		case old.Status != r.Status:
			changes = append(changes, Change{ID: r.ID, Level: string(r.Level), Before: old.Status, After: r.Status,
				Worse: rankOf(r.Status) < rankOf(old.Status)})
		}
	}
	for _, r := range a.Requirements {
		if !seen[r.ID] {
			changes = append(changes, Change{ID: r.ID, Level: string(r.Level), Before: r.Status,
				Worse: r.Level == "MOET" && r.Status == Pass})
		}
	}
	return changes
}

// AnyWorse reports whether any change is a regression.
func AnyWorse(changes []Change) bool {
	return slices.ContainsFunc(changes, func(c Change) bool { return c.Worse })
}

func rankOf(s Status) int {
	if r, ok := rank[s]; ok {
		return r
	}
	return -1
}
