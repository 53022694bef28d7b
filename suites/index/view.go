package index

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/bcbench/bcbench/fixtures/truth"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/suites/spec"
)

// form is one way an index serves a client's pointers (docs/index.md): an
// ITI-67 search by GET or POST, by BSN, by patient reference or by id, a
// read of a pointer, a read or search of a SubmissionSet. IDX-09 asks each
// of them as an organisation without a care relationship with her.
type form struct {
	what string // Dutch: how the bench asked
	ask  func(ctx context.Context, as *harness.FHIR) ([]map[string]any, error)
}

// forms are the ways to ask for the client's pointers: her BSN, her
// Patient reference (subject), her pointer's id and her SubmissionSet's
// (list, "" when the index gave none).
func forms(bsn, subject, id, list string) []form {
	byBSN := url.Values{"patient.identifier": {truth.BSNSystem + "|" + bsn}, "status": {"current"}}
	search := func(typ string, q url.Values) func(context.Context, *harness.FHIR) ([]map[string]any, error) {
		return func(ctx context.Context, as *harness.FHIR) ([]map[string]any, error) {
			return resources(as.Search(ctx, typ, q))
		}
	}
	read := func(typ, id string) func(context.Context, *harness.FHIR) ([]map[string]any, error) {
		return func(ctx context.Context, as *harness.FHIR) ([]map[string]any, error) {
			r, err := as.Read(ctx, typ, id)
			return []map[string]any{r}, err
		}
	}
	out := []form{
		{"GET DocumentReference?" + byBSN.Encode(), search("DocumentReference", byBSN)},
		{"POST DocumentReference/_search (" + byBSN.Encode() + ")", func(ctx context.Context, as *harness.FHIR) ([]map[string]any, error) {
			return resources(as.SearchForm(ctx, "DocumentReference", byBSN))
		}},
		{"GET DocumentReference?patient=" + subject, search("DocumentReference", url.Values{"patient": {subject}})},
		{"GET DocumentReference?_id=" + id + "&patient.identifier=…", search("DocumentReference", url.Values{"_id": {id}, "patient.identifier": byBSN["patient.identifier"]})},
		{"GET DocumentReference?_id=" + id + "&patient=…", search("DocumentReference", url.Values{"_id": {id}, "patient": {subject}})},
		{"GET DocumentReference/" + id, read("DocumentReference", id)},
		{"GET List?patient.identifier=…", search("List", url.Values{"patient.identifier": byBSN["patient.identifier"]})},
	}
	if list != "" {
		out = append(out, form{"GET List/" + list, read("List", list)})
	}
	return out
}

func resources(found []harness.Resource, err error) ([]map[string]any, error) {
	out := make([]map[string]any, len(found))
	for i, r := range found {
		out[i] = r
	}
	return out, err
}

// outsiderSees asks the index for the client's pointers in every form as
// the outsider (an organisation no pointer of hers names) and lists what
// it served her of them. An answer that is no 2xx serves nothing: refused
// (403), not found (404) or a form the index does not serve (400, 405) is
// no finding of IDX-09. A redirect to another host is the index's finding;
// a form that got no answer at all leaves the spec undecided when no other
// form served her pointers.
func (b *bench) outsiderSees(outsider *harness.FHIR, bsn, subject, id, list string) []string {
	var problems []string
	var broken []error
	who := spec.Current().Access.OutsiderAs
	for _, f := range forms(bsn, subject, id, list) {
		found, err := f.ask(b.ctx, outsider)
		var status *harness.StatusError
		var redirect *harness.RedirectError
		switch {
		case errors.As(err, &redirect):
			problems = append(problems, fmt.Sprintf("%s: de index stuurt %s naar een andere host (%s); niet gevolgd", f.what, who.OrgName, redirect.To))
			continue
		case errors.As(err, &status):
			continue // nothing served
		case err != nil:
			broken = append(broken, fmt.Errorf("%s as %s: %w", f.what, who.OrgName, err))
			continue
		}
		for _, r := range found {
			if leaks(r, bsn, id) {
				problems = append(problems, fmt.Sprintf("%s: de index levert %s/%v van de cliënt aan %s (URA %s), die geen behandelrelatie met haar heeft: geen verwijzing noemt die organisatie",
					f.what, r["resourceType"], r["id"], who.OrgName, who.OrgURA))
			}
		}
	}
	if len(problems) == 0 && len(broken) > 0 {
		spec.Broke(errors.Join(broken...))
	}
	return problems
}

// leaks says whether a resource served shows the client's pointer: the
// pointer itself (her BSN or its id), or a SubmissionSet that names her or
// lists it.
func leaks(r map[string]any, bsn, id string) bool {
	switch r["resourceType"] {
	case "DocumentReference":
		return spec.SubjectBSN(r) == bsn || r["id"] == id
	case "List":
		if spec.SubjectBSN(r) == bsn {
			return true
		}
		for _, e := range truth.Items(r["entry"]) {
			entry, _ := e.(map[string]any)
			item, _ := entry["item"].(map[string]any)
			if ref, _ := item["reference"].(string); ref == "DocumentReference/"+id || strings.HasSuffix(ref, "/DocumentReference/"+id) {
				return true
			}
		}
	}
	return false
}
