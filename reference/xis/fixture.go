package xis

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/bcbench/bcbench/reference/audit"
	"github.com/bcbench/bcbench/reference/rest"
)

// Prefix is the path of the reference XIS's FHIR API: a store given as
// Options.Resources must be mounted under it (fhirstore.Options.Prefix).
const Prefix = "/fhir"

// errLoaded answers what a loaded XIS does not do.
var errLoaded = errors.New("this reference XIS serves the resources it was loaded with (--fixtures); it takes no adapter events")

// checkLoaded refuses options that do not go with loaded resources: a
// mutant's defect and a variant change what the XIS publishes from events,
// an index is told about events, and the bench's authorization server
// grants reads by care relationships, which loaded resources do not have.
func checkLoaded(opts Options) error {
	switch {
	case opts.Resources == nil:
		return nil
	case opts.Defect != "" || opts.Variant != "":
		return errors.New("new reference xis: loaded resources are served as they are, without a defect or variant")
	case opts.Index != "":
		return errors.New("new reference xis: loaded resources are not registered in an index")
	case opts.Trust != nil:
		return errors.New("new reference xis: loaded resources have no care relationships for the bench's tokens to be checked against")
	case opts.Resources.Prefix() != Prefix:
		return fmt.Errorf("new reference xis: the loaded store is mounted under %q, not %q", opts.Resources.Prefix(), Prefix)
	}
	return nil
}

// serveLoaded answers a read or search of the FHIR API from the loaded
// resources, logged as every read and search of the XIS is (AuditEvent).
func (s *Server) serveLoaded(w http.ResponseWriter, r *http.Request, a *audit.Access) {
	if a.Search {
		for _, name := range []string{"patient", "subject"} {
			for _, v := range a.Query[name] {
				a.Patients = appendNew(a.Patients, audit.PatientParam(v))
			}
		}
	} else if res, ok := s.opts.Resources.Get(a.Type, a.ID); ok {
		a.Patients = appendNew(a.Patients, patientOf(res))
	}
	s.opts.Resources.ServeHTTP(w, r)
}

// write creates, updates or deletes loaded resources, or processes a
// transaction or batch Bundle (POST to the base), as the MP9 Receiving
// scripts send them. Only a loaded XIS has these routes: the XIS of a
// run takes data through the adapter (/bench/events).
func (s *Server) write(w http.ResponseWriter, r *http.Request) {
	s.opts.Resources.ServeHTTP(w, r)
}

// refuseEvent answers an adapter event sent to a loaded XIS.
func refuseEvent(w http.ResponseWriter, _ *http.Request) {
	rest.Problem(w, http.StatusConflict, "not-supported", errLoaded.Error())
}
