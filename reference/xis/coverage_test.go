package xis

import (
	"net/http"
	"testing"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/fixtures/truth"
)

// TestConsentAndDeletionCoverTheChild: the mother's withdrawal hides her
// newborn's record too, and her deletion request erases it.
func TestConsentAndDeletionCoverTheChild(t *testing.T) {
	ts := newTestServer(t, "")
	var mother fixtures.Registration
	var child *fixtures.Client
	for _, r := range registrations(t, "overdracht-jgz") {
		if code := post(t, ts, r); code != http.StatusCreated {
			t.Fatalf("%s = %d", r.Event, code)
		}
		mother = r
		if r.Subject != nil {
			child = r.Subject
		}
	}
	if child == nil {
		t.Fatal("overdracht-jgz has no child")
	}
	childObs := "/fhir/Observation?patient=Patient/" + truth.PatientID(child.BSN)
	if n := total(t, ts, childObs); n == 0 {
		t.Fatal("the child's observations are not published")
	}
	withdraw := mother
	withdraw.Event, withdraw.Kind, withdraw.Facts, withdraw.Subject = "withdraw", fixtures.Consent, nil, nil
	no := false
	withdraw.Consent = &no
	post(t, ts, withdraw)
	if n := total(t, ts, childObs); n != 0 {
		t.Fatalf("after the mother withdrew consent %d observations of her child are shared", n)
	}
	yes := true
	withdraw.Event, withdraw.Consent = "give", &yes
	post(t, ts, withdraw)
	del := withdraw
	del.Event, del.Kind, del.Consent = "delete", fixtures.Deletion, nil
	post(t, ts, del)
	if n := total(t, ts, "/fhir/Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|"+child.BSN); n != 0 {
		t.Fatalf("after the mother's deletion request the child's Patient still exists (%d)", n)
	}
}
