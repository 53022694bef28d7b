package dvza

import (
	"fmt"
	"strings"
	"time"
)

// fixtureKey is the record key of a fixture patient (her Patient id), apart
// from the BSNs of the scenario clients.
func fixtureKey(patientID string) string { return "fixture:" + patientID }

// patientRefs are the elements through which a resource belongs to a
// patient (STU3).
var patientRefs = []string{"subject", "patient", "beneficiary", "subscriber"}

// LoadFixtures loads FHIR STU3 resources as they are (the `_reference`
// fixtures of Nictiz's MedMij Geboortezorg TestScripts) and fixed bearer
// tokens (token → Patient id), so that the scripts can run against the
// reference DVZA: each Patient is a client; a resource that refers to a
// Patient (subject, patient, beneficiary, subscriber) is hers; what refers
// to none (Practitioner, Organization, …) is served to every client.
func (s *Server) LoadFixtures(resources []map[string]any, tokens map[string]string) error {
	owned := map[string][]map[string]any{}
	var shared []map[string]any
	patients := map[string]bool{}
	for _, res := range resources {
		if res["resourceType"] == "Patient" {
			id, _ := res["id"].(string)
			if id == "" {
				return fmt.Errorf("loading fixtures: a Patient without id")
			}
			patients[id] = true
			owned[id] = append(owned[id], res)
		}
	}
	for _, res := range resources {
		if res["resourceType"] == "Patient" {
			continue
		}
		mine := ""
		for _, p := range patientRefs {
			for _, ref := range references(res, p) {
				if id, ok := strings.CutPrefix(ref, "Patient/"); ok && patients[id] {
					mine = id
				}
			}
		}
		if mine == "" {
			shared = append(shared, res)
			continue
		}
		owned[mine] = append(owned[mine], res)
	}
	for id, list := range owned {
		key := fixtureKey(id)
		if err := s.store.add(key, append(list, shared...)); err != nil {
			return err
		}
		s.store.mu.Lock()
		s.store.records[key].self = id
		s.store.mu.Unlock()
	}
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	for tok, id := range tokens {
		if !patients[id] {
			return fmt.Errorf("loading fixtures: token for Patient/%s, who is not among them", id)
		}
		s.auth.tokens[tok] = &access{bsn: fixtureKey(id), client: "fixed", expires: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	}
	return nil
}
