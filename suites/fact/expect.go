package fact

import (
	"github.com/bcbench/bcbench/fixtures"
)

// Item is one registered fact that must be published at the end of a replay.
type Item struct {
	Event fixtures.Event
	Fact  fixtures.Fact
}

// Expected walks a scenario's timeline and returns the facts that must be
// published once every event is registered: a deletion request removes what
// came before it, and withdrawn consent (not given again) means nothing of
// the client may be shared. shared is false in those two cases.
func Expected(s *fixtures.Scenario) (items []Item, shared bool) {
	consent := true
	deleted := false
	for _, ev := range s.Events {
		switch {
		case ev.Kind == fixtures.Deletion:
			items, deleted = nil, true
			continue
		case ev.Consent != nil:
			consent = *ev.Consent
		}
		for _, f := range ev.Facts {
			if f.ResourceType == "" || f.ResourceType == "Patient" {
				continue
			}
			items = append(items, Item{Event: ev, Fact: f})
			deleted = false
		}
	}
	if !consent {
		return nil, false
	}
	return items, !deleted
}

// Withholding says why nothing of a client may be shared at the end of a
// scenario.
type Withholding string

// The reasons a client's data must not be shared.
const (
	Shared    Withholding = ""
	Withdrawn Withholding = "withdrawn" // consent withdrawn and not given again
	Deleted   Withholding = "deleted"   // deletion requested, nothing registered since
)

// Withheld tells whether, and why, nothing of the scenario's client may be
// shared once every event is registered.
func Withheld(s *fixtures.Scenario) Withholding {
	consent, deleted := true, false
	for _, ev := range s.Events {
		switch {
		case ev.Kind == fixtures.Deletion:
			deleted = true
		case ev.Consent != nil:
			consent = *ev.Consent
		case len(ev.Facts) > 0:
			deleted = false
		}
	}
	switch {
	case !consent:
		return Withdrawn
	case deleted:
		return Deleted
	}
	return Shared
}
