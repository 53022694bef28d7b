package terminology

import (
	"context"
	"strings"
)

// Remote is a terminology server the Service consults for what it cannot
// decide from the packages and its membership table, the way FHIR tools use
// one (profiles/tx is the FHIR client: ValueSet/$validate-code and
// CodeSystem/$lookup).
//
// A Remote bounds its own time. It answers Unknown, with the reason, when
// it could not decide (no server, a timeout, an error, an answer it could
// not read); it never turns "could not ask" into Member or NotMember.
type Remote interface {
	// ValidateCode asks whether the coding is in the value set (canonical
	// "url" or "url|version").
	ValidateCode(ctx context.Context, valueSet string, c Coding) Result
	// LookupCode asks whether the code exists in its code system.
	LookupCode(ctx context.Context, c Coding) Result
}

// Option configures New.
type Option func(*Service)

// WithRemote makes the Service ask r what neither the packages nor the
// membership table decide.
func WithRemote(r Remote) Option {
	return func(s *Service) { s.remote = r }
}

// WithoutTable leaves the shipped membership table out: only the packages
// (and a remote, if given) decide.
func WithoutTable() Option {
	return func(s *Service) { s.table = nil }
}

// WithTable replaces the shipped membership table.
func WithTable(t *Table) Option {
	return func(s *Service) { s.table = t }
}

// undecided is asked when the packages could not decide: first the
// membership table, then the remote server. offline is the packages'
// answer (Unknown); its reason is kept when nothing else decides either.
func (s *Service) undecided(valueSet string, c Coding, offline Result) Result {
	if valueSet != "" && s.table != nil {
		if e, ok := s.table.Lookup(valueSet, c.System, c.Code); ok {
			return e.result()
		}
	}
	if s.remote == nil || c.System == "" || c.Code == "" {
		return offline
	}
	var r Result
	if valueSet == "" {
		r = s.remote.LookupCode(context.Background(), c)
	} else {
		r = s.remote.ValidateCode(context.Background(), valueSet, c)
	}
	if r.Outcome == Unknown {
		offline.Message = strings.TrimSuffix(offline.Message, ".") + "; the terminology server could not decide either: " + r.Message
		return offline
	}
	return r
}
