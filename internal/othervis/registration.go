// Package othervis is a small XIS written from bcbench's README and docs/ alone,
// by someone who has not read the bench's reference implementation or its specs.
// It implements the adapter contract of docs/adapter.md and publishes what it
// registers through its own FHIR R4 API. It is kept in the tests as a second,
// independent candidate: it must pass, and it deliberately uses valid variants
// where FHIR and the docs allow them (UTC instants, absolute references, its own
// resource ids and its own search paging).
package othervis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// registration is one scenario event as the adapter receives it.
type registration struct {
	Scenario string  `json:"scenario"`
	Event    string  `json:"event"`
	Kind     string  `json:"kind"`
	Time     string  `json:"time"`
	Title    string  `json:"title"`
	Client   person  `json:"client"`
	Subject  *person `json:"subject"`
	Author   author  `json:"author"`
	Consent  *bool   `json:"consent"`
	Facts    []fact  `json:"facts"`
}

type person struct {
	ID        string `json:"id"`
	BSN       string `json:"bsn"`
	Given     string `json:"given"`
	Family    string `json:"family"`
	BirthDate string `json:"birthDate"`
	Gender    string `json:"gender"`
}

type author struct {
	ID           string        `json:"id"`
	Kind         string        `json:"kind"`
	Name         string        `json:"name"`
	AGB          string        `json:"agb"`
	URA          string        `json:"ura"`
	Professional *professional `json:"professional"`
}

type professional struct {
	Name string `json:"name"`
	UZI  string `json:"uzi"`
	AGB  string `json:"agb"`
	Role string `json:"role"`
}

type coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// decimal keeps a number exactly as registered (a JSON string or number).
type decimal string

func (d *decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = decimal(s)
	} else {
		*d = decimal(b)
	}
	if *d != "" && !json.Valid([]byte(*d)) {
		return fmt.Errorf("not a number: %q", string(*d))
	}
	return nil
}

type quantity struct {
	Value decimal `json:"value"`
	Unit  string  `json:"unit"`
}

type value struct {
	Integer  *int64    `json:"integer"`
	Quantity *quantity `json:"quantity"`
	Coding   *coding   `json:"coding"`
	Date     string    `json:"date"`
	String   *string   `json:"string"`
	Boolean  *bool     `json:"boolean"`
}

type fact struct {
	Key          string      `json:"key"`
	Name         string      `json:"name"`
	Code         coding      `json:"code"`
	Value        value       `json:"value"`
	Components   []fact      `json:"components"`
	Medication   *medication `json:"medication"`
	Method       *coding     `json:"method"`
	Note         string      `json:"note"`
	ResourceType string      `json:"resourceType"`
	Profile      string      `json:"profile"`
}

type medication struct {
	Block        string    `json:"block"`
	ID           string    `json:"id"`
	Prior        string    `json:"prior"`
	Treatment    string    `json:"treatment"`
	Product      coding    `json:"product"`
	Dose         *quantity `json:"dose"`
	Frequency    int       `json:"frequency"`
	Period       string    `json:"period"`
	Route        *coding   `json:"route"`
	Start        string    `json:"start"`
	End          string    `json:"end"`
	StopType     *coding   `json:"stopType"`
	ChangeReason *coding   `json:"changeReason"`
	Reason       string    `json:"reason"`
	Amount       *quantity `json:"amount"`
}

// check says what is wrong with a registration, or nil.
func (r *registration) check() error {
	var missing []string
	if r.Event == "" {
		missing = append(missing, "event")
	}
	if r.Kind == "" {
		missing = append(missing, "kind")
	}
	if r.Time == "" {
		missing = append(missing, "time")
	}
	if r.Client.ID == "" && r.Client.BSN == "" {
		missing = append(missing, "client")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	if _, err := parseTime(r.Time); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	for i, f := range r.Facts {
		if f.Code.Code == "" {
			return fmt.Errorf("facts[%d]: no code", i)
		}
		if m := f.Medication; m != nil {
			for _, d := range []string{m.Start, m.End} {
				if d != "" {
					if _, err := parseDay(d); err != nil {
						return fmt.Errorf("facts[%d].medication: %w", i, err)
					}
				}
			}
		}
	}
	return nil
}
