package validator

import (
	"regexp"
	"strings"

	"github.com/bcbench/bcbench/profiles/outcome"
)

// restfulURL matches a RESTful fullUrl: [base]/Type/id[/_history/v].
var restfulURL = regexp.MustCompile(`^https?://.+/([A-Z][A-Za-z]+)/([A-Za-z0-9\-\.]{1,64})(/_history/[A-Za-z0-9\-\.]{1,64})?$`)

// bundle checks the Bundle rules the structure definitions cannot express:
// fullUrl presence, form and agreement with the resource, duplicate entries,
// and a single self link.
func (r *run) bundle(b map[string]any, path string) {
	typ := str(b, "type")
	self := 0
	for _, l := range asList(b["link"]) {
		if lm, _ := l.(map[string]any); str(lm, "relation") == "self" {
			self++
		}
	}
	if self > 1 {
		r.issue(outcome.Error, outcome.CodeInvalid, path+".link", "the link relation 'self' may occur only once, found %d", self)
	}
	if typ == "document" && str(b, "timestamp") == "" && !r.v.stu3 {
		r.issue(outcome.Error, outcome.CodeRequired, path, "a document Bundle must have a timestamp (Bundle.timestamp)")
	}
	seen := map[string]int{}
	for i, en := range asList(b["entry"]) {
		em, _ := en.(map[string]any)
		res, _ := em["resource"].(map[string]any)
		p := path + ".entry[" + itoa(i) + "]"
		full, hasFull := em["fullUrl"].(string)
		if res == nil {
			continue
		}
		if !hasFull {
			if typ != "transaction" && typ != "batch" && typ != "transaction-response" && typ != "batch-response" && !r.v.stu3 {
				r.issue(outcome.Error, outcome.CodeInvalid, p, "except in transactions and batches, every Bundle entry needs a fullUrl (the identity of its resource)")
			}
			continue
		}
		if !strings.Contains(full, ":") {
			r.issue(outcome.Error, outcome.CodeInvalid, p+".fullUrl", "the fullUrl %q must be an absolute URL", full)
			continue
		}
		if m := restfulURL.FindStringSubmatch(full); m != nil && r.v.isResourceType(m[1]) {
			rt, id := str(res, "resourceType"), str(res, "id")
			switch {
			case id == "":
				r.issue(outcome.Error, outcome.CodeInvalid, p+".fullUrl", "the fullUrl %q looks like a RESTful URL, but the resource has no id", full)
			case m[1] != rt || m[2] != id:
				r.issue(outcome.Error, outcome.CodeInvalid, p+".fullUrl", "the fullUrl %q looks like a RESTful URL, so it must end with the resource's type and id (%s/%s)", full, rt, id)
			}
		}
		key := full
		if meta, _ := res["meta"].(map[string]any); str(meta, "versionId") != "" {
			key += "|" + str(meta, "versionId")
		}
		if typ != "history" {
			if seen[key] > 0 {
				r.issue(outcome.Error, outcome.CodeInvalid, p+".fullUrl", "duplicate entry: fullUrl %q occurs more than once", full)
			}
			seen[key]++
		}
	}
}
