package spec

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/token"
)

// Access is how the bench reads the XIS as named professionals with tokens
// of its own authorization server (docs/logging.md), and what the access-log
// specs compare the candidate's AuditEvents with.
type Access struct {
	// Exchanges returns what the bench exchanged with the XIS from the
	// from-th recorded exchange on, as its recording proxy kept it, oldest
	// first (harness.Proxy.EntriesFrom).
	Exchanges func(from int) []harness.Entry
	// Readers says which professional sent each recorded request.
	Readers *harness.Readers
	// Professionals are the professionals the bench reads as, by ID.
	Professionals map[string]token.Professional
	// Reader is the professional Env.XIS reads as: one with a care
	// relationship with every client.
	Reader token.Professional
	// Outsider reads the XIS as a professional without a care relationship
	// with any client; OutsiderAs is who she is.
	Outsider   *harness.FHIR
	OutsiderAs token.Professional
}

// ProfessionalOf is who a token names for a care provider's professional.
func ProfessionalOf(p fixtures.Provider) token.Professional {
	role := fixtures.ProfessionalRoles[p.Professional.Role]
	return token.Professional{
		Name: p.Professional.Name, UZI: p.Professional.UZI, AGB: p.Professional.AGB,
		Role: role.Code, RoleDisplay: role.Display,
		OrgName: p.Name, OrgURA: p.URA, OrgAGB: p.AGB,
	}
}

// tokenLifetime is how long the bench's tokens are valid: a whole run,
// population included.
const tokenLifetime = 24 * time.Hour

// ReadAs makes the bench read the XIS at base as named professionals, with
// tokens of the bench's issuer: it returns the FHIR client that reads as
// the scenarios' reader (fixtures.Reader; Env.XIS) and the Access of the
// LOG specs, whose outsider reads as fixtures.Outsider. client reaches the
// XIS through its recording proxy; exchanges returns that recording.
func ReadAs(iss *token.Issuer, base string, client *http.Client, exchanges func(from int) []harness.Entry, scenarios []*fixtures.Scenario, now time.Time) (*harness.FHIR, *Access, error) {
	provider, ok := fixtures.Reader(scenarios)
	if !ok {
		return nil, nil, errors.New("choosing who the bench reads as: no scenario has an event")
	}
	readers := harness.NewReaders()
	acc := &Access{Exchanges: exchanges, Readers: readers, Professionals: map[string]token.Professional{},
		Reader: ProfessionalOf(provider), OutsiderAs: ProfessionalOf(fixtures.Outsider())}
	as := func(p token.Professional) (*harness.FHIR, error) {
		tok, err := iss.Issue(p, "xis", now, tokenLifetime)
		if err != nil {
			return nil, fmt.Errorf("reading as %s: %w", p.Name, err)
		}
		acc.Professionals[p.ID()] = p
		return &harness.FHIR{Base: base, Client: readers.Client(client, p.ID(), tok)}, nil
	}
	reader, err := as(acc.Reader)
	if err != nil {
		return nil, nil, err
	}
	if acc.Outsider, err = as(acc.OutsiderAs); err != nil {
		return nil, nil, err
	}
	return reader, acc, nil
}
