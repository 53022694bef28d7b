package spec

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/token"
)

// Access is how the bench reads the roles that trust its authorization
// server (the publishers, the index) as named professionals with tokens of
// its own (docs/logging.md), and what the access-log specs compare each
// role's AuditEvents with.
type Access struct {
	// Roles are the roles read as named professionals, in the manifest's
	// order (xis first).
	Roles []Logged
	// Readers says which professional sent each recorded request.
	Readers *harness.Readers
	// Professionals are the professionals the bench read as, by ID; read
	// them with Professional (As adds to them under the lock).
	Professionals map[string]token.Professional
	// Reader is the professional the bench reads every role as unless a
	// spec reads as another (a transfer's receiver): one with a care
	// relationship with every client.
	Reader token.Professional
	// OutsiderAs is a professional without a care relationship with any
	// client; Logged.Outsider reads as her.
	OutsiderAs token.Professional

	issuer *token.Issuer
	now    time.Time
	mu     sync.Mutex
	as     map[string]*harness.FHIR // by role and professional ID
}

// Logged is one role the bench reads as named professionals.
type Logged struct {
	Role string
	// FHIR reads the role as the Reader; Outsider as OutsiderAs.
	FHIR, Outsider *harness.FHIR
	// Exchanges returns what the bench exchanged with the role from the
	// from-th recorded exchange on, as its recording proxy kept it, oldest
	// first (harness.Proxy.EntriesFrom).
	Exchanges func(from int) []harness.Entry
	client    *http.Client
}

// Reached is a role as the bench reaches it: its FHIR base, a client
// through its recording proxy, and that recording.
type Reached struct {
	Role      string
	Base      string
	Client    *http.Client
	Exchanges func(from int) []harness.Entry
}

// Logged returns the role of that name, when the bench reads it as named
// professionals.
func (a *Access) Logged(role string) (Logged, bool) {
	for _, l := range a.Roles {
		if l.Role == role {
			return l, true
		}
	}
	return Logged{}, false
}

// As returns a client that reads the role as the professional p (a
// transfer's receiver reads as herself), or nil when the bench does not
// read the role as named professionals; its exchanges are recorded as hers.
func (a *Access) As(role string, p token.Professional) (*harness.FHIR, error) {
	if a == nil {
		return nil, nil
	}
	l, ok := a.Logged(role)
	if !ok {
		return nil, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	key := role + " " + p.ID()
	if f, ok := a.as[key]; ok {
		return f, nil
	}
	tok, err := a.issuer.Issue(p, role, a.now, tokenLifetime)
	if err != nil {
		return nil, fmt.Errorf("reading %s as %s: %w", role, p.Name, err)
	}
	a.Professionals[p.ID()] = p
	f := &harness.FHIR{Base: l.FHIR.Base, Client: a.Readers.Client(l.client, p.ID(), tok)}
	a.as[key] = f
	return f, nil
}

// Professional is the professional the bench read as under that ID; the
// map may grow while specs read it (a transfer's receiver reads as herself).
func (a *Access) Professional(id string) (token.Professional, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.Professionals[id]
	return p, ok
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

// ReadAs makes the bench read each role as named professionals, with
// tokens of the bench's issuer: it returns, by role, the FHIR client that
// reads as the scenarios' reader (fixtures.Reader; Env.XIS, Env.Index and
// each Publisher's) and the Access of the LOG specs, whose outsider reads
// as fixtures.Outsider. Each role's client reaches it through its
// recording proxy; Exchanges returns that recording.
func ReadAs(iss *token.Issuer, roles []Reached, scenarios []*fixtures.Scenario, now time.Time) (map[string]*harness.FHIR, *Access, error) {
	provider, ok := fixtures.Reader(scenarios)
	if !ok {
		return nil, nil, errors.New("choosing who the bench reads as: no scenario has an event")
	}
	acc := &Access{Readers: harness.NewReaders(), Professionals: map[string]token.Professional{},
		Reader: ProfessionalOf(provider), OutsiderAs: ProfessionalOf(fixtures.Outsider()),
		issuer: iss, now: now, as: map[string]*harness.FHIR{}}
	readers := map[string]*harness.FHIR{}
	for _, r := range roles {
		l := Logged{Role: r.Role, Exchanges: r.Exchanges, client: r.Client, FHIR: &harness.FHIR{Base: r.Base}}
		acc.Roles = append(acc.Roles, l)
		var err error
		if l.FHIR, err = acc.As(r.Role, acc.Reader); err != nil {
			return nil, nil, err
		}
		if l.Outsider, err = acc.As(r.Role, acc.OutsiderAs); err != nil {
			return nil, nil, err
		}
		acc.Roles[len(acc.Roles)-1] = l
		readers[r.Role] = l.FHIR
	}
	return readers, acc, nil
}
