package shared

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ManifestCase is one test of the HL7 validator test manifest
// (fhir-test-cases/validator/manifest.json), as far as bcbench's tests read
// it.
type ManifestCase struct {
	Name       string   `json:"name"`
	File       string   `json:"file"`
	Version    string   `json:"version"`
	Module     string   `json:"module"`
	UseTest    *bool    `json:"use-test"`
	Supporting []string `json:"supporting"`
	// Supporting5 are supporting definitions written in R5 form, which
	// the Java runner loads whatever the case's version.
	Supporting5 []string        `json:"supporting5"`
	Profiles    []string        `json:"profiles"`
	Packages    []string        `json:"packages"`
	Logical     json.RawMessage `json:"logical"`
	TxDep       json.RawMessage `json:"tx-dependent"`
	Java        json.RawMessage `json:"java"`
	Profile     *struct {
		Source     string          `json:"source"`
		Supporting []string        `json:"supporting"`
		Java       json.RawMessage `json:"java"`
		// AssumeValidRestReferences for the profile run.
		AssumeValidRestReferences bool `json:"assumeValidRestReferences"`
	} `json:"profile"`
	// Options of the Java validator the case runs with.
	Comments   bool `json:"allow-comments"`
	Security   bool `json:"security-checks"`
	NoHTML     bool `json:"noHtmlInMarkdown"`
	BundleRule *struct {
		Rule    string `json:"rule"`
		Profile string `json:"profile"`
	} `json:"bundle-param"`
	// Examples false: URLs on example.org are not allowed.
	Examples *bool `json:"examples"`
	// WrongDisplays "warning": a wrong display is a warning, not an error.
	WrongDisplays string `json:"wrong-displays"`
	// ValidateReference and ValidateContains are the runner's policies for
	// references and contained resources (IGNORE, CHECK_VALID …).
	ValidateReference string `json:"validateReference"`
	// AssumeValidRestReferences: the type a RESTful reference names is
	// taken as its target's type (Java's default: it is not).
	AssumeValidRestReferences bool   `json:"assumeValidRestReferences"`
	ValidateContains          string `json:"validateContains"`
}

// Manifest reads the manifest; it returns the folder of its files and the
// cases, or skips the test when the corpus does not have it.
func Manifest(t testing.TB) (string, []ManifestCase) {
	t.Helper()
	dir := filepath.Join(Corpus(t, "the HL7 validator test manifest is in it"), "fhir-test-cases", "validator")
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Skipf("no validator manifest in the corpus: %v", err)
	}
	var m struct {
		Cases []ManifestCase `json:"test-cases"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("reading the validator manifest: %v", err)
	}
	return dir, m.Cases
}

// OutOfScope says why a case is left out of bcbench's comparison with the
// Java validator ("" when it is in scope): only R4 and STU3, nothing that
// needs packages from the internet, logical models or a terminology server.
func (c ManifestCase) OutOfScope(dir string) string {
	switch {
	case c.UseTest != nil && !*c.UseTest:
		return "disabled (use-test false)"
	case c.Version != "4.0" && c.Version != "4.0.1" && c.Version != "3.0" && c.Version != "3.0.1":
		return "not R4/STU3"
	case len(c.Packages) > 0:
		return "needs packages from the internet"
	case len(c.Logical) > 0:
		return "logical model"
	case c.Module == "tx" || len(c.TxDep) > 0:
		return "terminology-server only"
	}
	if _, err := os.Stat(filepath.Join(dir, c.File)); err != nil {
		return "input not in the corpus"
	}
	return ""
}

// JavaErrors reads what the Java validator expects of a case: raw is a path
// under outcomes/ to an OperationOutcome (then its error and fatal issues
// come back as "expression: text"), or an inline {errorCount}. ok is false
// when there is no readable expectation.
func JavaErrors(dir string, raw json.RawMessage) (count int, messages []string, ok bool) {
	var path string
	if json.Unmarshal(raw, &path) == nil {
		data, err := os.ReadFile(filepath.Join(dir, "outcomes", path))
		if err != nil {
			return 0, nil, false
		}
		var oo struct {
			Issue []struct {
				Severity   string   `json:"severity"`
				Expression []string `json:"expression"`
				Details    struct {
					Text string `json:"text"`
				} `json:"details"`
			} `json:"issue"`
		}
		if json.Unmarshal(data, &oo) != nil {
			return 0, nil, false
		}
		for _, is := range oo.Issue {
			if is.Severity == "error" || is.Severity == "fatal" {
				messages = append(messages, strings.Join(is.Expression, ",")+": "+is.Details.Text)
			}
		}
		return len(messages), messages, true
	}
	var inline struct {
		ErrorCount *int `json:"errorCount"`
	}
	if json.Unmarshal(raw, &inline) == nil && inline.ErrorCount != nil {
		return *inline.ErrorCount, nil, true
	}
	return 0, nil, false
}

// JavaIssue is one error or warning the Java validator expects, with the
// FHIRPath location in bcbench's notation (Java's /*Type/id*/ comments
// removed, x.ofType(T) written xT).
type JavaIssue struct {
	Severity string // error (also for fatal) or warning
	Path     string
}

// JavaIssues reads the errors and warnings of a case's expected outcome
// file; ok is false when the expectation is inline (a count only) or
// unreadable.
func JavaIssues(dir string, raw json.RawMessage) (issues []JavaIssue, ok bool) {
	var path string
	if json.Unmarshal(raw, &path) != nil {
		return nil, false
	}
	data, err := os.ReadFile(filepath.Join(dir, "outcomes", path))
	if err != nil {
		return nil, false
	}
	var oo struct {
		Issue []struct {
			Severity   string   `json:"severity"`
			Expression []string `json:"expression"`
		} `json:"issue"`
	}
	if json.Unmarshal(data, &oo) != nil {
		return nil, false
	}
	for _, is := range oo.Issue {
		sev := is.Severity
		switch sev {
		case "fatal":
			sev = "error"
		case "error", "warning":
		default:
			continue
		}
		p := ""
		if len(is.Expression) > 0 {
			p = NormalisePath(is.Expression[0])
		}
		issues = append(issues, JavaIssue{Severity: sev, Path: p})
	}
	return issues, true
}

// NormalisePath writes a Java validator location the way bcbench writes it.
func NormalisePath(p string) string {
	for {
		i := strings.Index(p, "/*")
		if i < 0 {
			break
		}
		j := strings.Index(p[i:], "*/")
		if j < 0 {
			break
		}
		p = p[:i] + p[i+j+2:]
	}
	for {
		i := strings.Index(p, ".ofType(")
		if i < 0 {
			break
		}
		j := strings.IndexByte(p[i:], ')')
		if j < 0 {
			break
		}
		t := p[i+len(".ofType(") : i+j]
		if t != "" {
			t = strings.ToUpper(t[:1]) + t[1:]
		}
		p = p[:i] + t + p[i+j+1:]
	}
	return p
}
