package viewer

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// reached is a transport that answers every request itself and records
// the path it was sent to.
type reached struct{ paths []string }

func (r *reached) RoundTrip(req *http.Request) (*http.Response, error) {
	r.paths = append(r.paths, req.URL.EscapedPath())
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("{}")), Header: http.Header{}, Request: req}, nil
}

func TestTheFrontForwardsPathsUnderTheFHIRBaseOnly(t *testing.T) {
	up, _ := url.Parse("http://xis.test/base/fhir")
	tests := []struct {
		name   string
		target string
		want   string // the path the XIS is asked for; "" when refused
	}{
		{name: "a read", target: "/fhir/Patient/p-1", want: "/base/fhir/Patient/p-1"},
		{name: "a search", target: "/fhir/Observation?patient=p-1", want: "/base/fhir/Observation"},
		{name: "an encoded colon stays", target: "/fhir/Patient/a%3Ab", want: "/base/fhir/Patient/a%3Ab"},
		{name: "encoded dot-dot and slash", target: "/fhir/..%2Fbench/x"},
		{name: "encoded dot-dot segment", target: "/fhir/%2e%2e/bench"},
		{name: "encoded dot segment", target: "/fhir/%2E/Patient"},
		{name: "encoded slash", target: "/fhir/Patient%2f..%2fbench"},
		{name: "encoded backslash", target: "/fhir/..%5Cbench"},
		{name: "a literal backslash", target: `/fhir/..\bench`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := &reached{}
			req := httptest.NewRequest(http.MethodGet, tc.target, nil)
			w := httptest.NewRecorder()
			forward(up, rt).ServeHTTP(w, req)
			switch {
			case tc.want == "" && (len(rt.paths) > 0 || w.Code != http.StatusBadRequest):
				t.Errorf("%s: status %d, reached %v; want 400 and nothing reached", tc.target, w.Code, rt.paths)
			case tc.want != "" && (len(rt.paths) != 1 || rt.paths[0] != tc.want):
				t.Errorf("%s: status %d, reached %v; want %s", tc.target, w.Code, rt.paths, tc.want)
			}
		})
	}
}
