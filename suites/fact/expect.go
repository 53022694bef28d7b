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

// People returns the persons whose record carries the items: the client
// first, then each child (in the scenario's order) that is the subject of
// at least one item. A newborn's facts belong on her own record.
func People(s *fixtures.Scenario, items []Item) []fixtures.Client {
	out := []fixtures.Client{s.Client}
	for _, c := range s.Children {
		for _, it := range items {
			if it.Event.Subject == c.ID {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// About returns the items whose subject is the person (the client's own
// facts when the event names no subject).
func About(s *fixtures.Scenario, items []Item, person fixtures.Client) []Item {
	var out []Item
	for _, it := range items {
		subject := s.SubjectOf(it.Event)
		if subject == person.ID {
			out = append(out, it)
		}
	}
	return out
}
