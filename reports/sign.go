package reports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// File names of a run's output folder.
const (
	ResultsFile  = "results.json"
	JUnitFile    = "junit.xml"
	HTMLFile     = "report.html"
	EnvelopeFile = "results.dsse.json"
	EvidenceDir  = "evidence"
)

// In-toto and DSSE identifiers of the signed statement.
const (
	PayloadType   = "application/vnd.in-toto+json"
	StatementType = "https://in-toto.io/Statement/v1"
	PredicateType = "https://bcbench.nl/certification/v1"
)

// Statement is an in-toto Statement v1 whose subject is the candidate and
// whose predicate is the certification result.
type Statement struct {
	Type          string        `json:"_type"`
	Subject       []Subject     `json:"subject"`
	PredicateType string        `json:"predicateType"`
	Predicate     Certification `json:"predicate"`
}

// Subject is an in-toto ResourceDescriptor of the candidate.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// FileDigest is a file of the output folder and its sha256.
type FileDigest struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Certification is the predicate: what was judged, how, the verdict, and
// the digests of results.json, report.html, junit.xml and every evidence
// file. The fields marked "since v2" are absent from statements of v1 runs.
type Certification struct {
	Bench     Bench     `json:"bench"`
	Profile   Profile   `json:"profile"`
	Candidate Candidate `json:"candidate"`
	Mode      string    `json:"mode"`
	Verdict   Verdict   `json:"verdict"`
	Summary   Summary   `json:"summary"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	// Scenarios, ReferenceDate, Limits, Packages, Terminology and
	// SetupProblem repeat results.json's (since v2).
	Scenarios     []string   `json:"scenarios,omitempty"`
	ReferenceDate string     `json:"referenceDate,omitempty"`
	Limits        *Limits    `json:"limits,omitempty"`
	Packages      []Package  `json:"packages,omitempty"`
	Terminology   string     `json:"terminology,omitempty"`
	SetupProblem  string     `json:"setupProblem,omitempty"`
	Results       FileDigest `json:"results"`
	// Reports are report.html and junit.xml (since v2).
	Reports  []FileDigest `json:"reports,omitempty"`
	Evidence []FileDigest `json:"evidence"`
}

// maxEnvelopeSize bounds results.dsse.json.
const maxEnvelopeSize = 64 << 20

// Sign writes dir/results.dsse.json: a DSSE envelope over an in-toto
// statement binding the candidate identity to results.json and every evidence
// file it lists, all hashed from disk.
func Sign(dir string, key Signer) error {
	if key == nil {
		return errors.New("signing report: no key")
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("signing report: %w", err)
	}
	defer root.Close()
	data, err := readRootLimited(root, ResultsFile, maxResultsSize)
	if err != nil {
		return fmt.Errorf("signing report: %w", err)
	}
	res, err := ParseResults(data)
	if err != nil {
		return fmt.Errorf("signing report: %w", err)
	}
	st := Statement{
		Type:          StatementType,
		Subject:       Subjects(res.Candidate),
		PredicateType: PredicateType,
		Predicate: Certification{
			Bench: res.Bench, Profile: res.Profile, Candidate: res.Candidate, Mode: res.Mode,
			Verdict: res.Verdict, Summary: res.Summary, Started: res.Started, Finished: res.Finished,
			Scenarios: res.Scenarios, ReferenceDate: res.ReferenceDate, Limits: res.Limits, Packages: res.Packages,
			Terminology: res.Terminology, SetupProblem: res.SetupProblem,
			Results:  FileDigest{Path: ResultsFile, SHA256: sha256hex(data)},
			Evidence: []FileDigest{},
		},
	}
	for _, name := range []string{HTMLFile, JUnitFile} {
		sum, err := hashFile(root, name)
		if err != nil {
			return fmt.Errorf("signing report: %w", err)
		}
		st.Predicate.Reports = append(st.Predicate.Reports, FileDigest{Path: name, SHA256: sum})
	}
	for _, e := range res.Evidence {
		sum, err := hashFile(root, e.Path)
		if err != nil {
			return fmt.Errorf("signing report: evidence %w", err)
		}
		if sum != e.SHA256 {
			return fmt.Errorf("signing report: evidence %s changed after results.json was written (sha256 %s, results.json says %s)", e.Path, sum, e.SHA256)
		}
		st.Predicate.Evidence = append(st.Predicate.Evidence, FileDigest{Path: e.Path, SHA256: sum})
	}
	out, err := signStatement(st, key)
	if err != nil {
		return fmt.Errorf("signing report: %w", err)
	}
	return writeFile(filepath.Join(dir, EnvelopeFile), out)
}

// signStatement encodes an in-toto statement and returns it signed in a
// DSSE envelope, as indented JSON ending in a newline.
func signStatement(st any, key Signer) ([]byte, error) {
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encoding statement: %w", err)
	}
	es, err := dsse.NewEnvelopeSigner(key)
	if err != nil {
		return nil, err
	}
	env, err := es.SignPayload(context.Background(), PayloadType, payload)
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding envelope: %w", err)
	}
	return append(out, '\n'), nil
}

// Subjects names the candidate for the statement: one subject per role whose
// image digest or binary sha256 is known; when none is, one subject whose
// digest is the sha256 of the candidate identity as canonical JSON.
func Subjects(c Candidate) []Subject {
	name := c.Name + "@" + c.Version
	var subs []Subject
	for _, r := range c.Roles {
		sum := ""
		switch {
		case strings.HasPrefix(r.Digest, "sha256:"):
			sum = strings.TrimPrefix(r.Digest, "sha256:")
		case r.SHA256 != "":
			sum = r.SHA256
		}
		if sum != "" {
			subs = append(subs, Subject{Name: name + "#" + r.Role, Digest: map[string]string{"sha256": sum}})
		}
	}
	if len(subs) == 1 {
		subs[0].Name = name
	}
	if len(subs) == 0 {
		canon, _ := json.Marshal(c) // a struct of strings: cannot fail
		subs = []Subject{{Name: name, Digest: map[string]string{"sha256": sha256hex(canon)}}}
	}
	return subs
}

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// hashFile returns the hex sha256 of a file inside root; paths that leave
// the folder are refused.
func hashFile(root *os.Root, p string) (string, error) {
	if err := checkRelative(p); err != nil {
		return "", err
	}
	// Look before opening: opening a FIFO would block.
	if st, err := root.Lstat(filepath.FromSlash(p)); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	} else if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", p)
	}
	f, err := root.Open(filepath.FromSlash(p))
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", p)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkRelative refuses a path that is absolute or climbs out of its folder.
func checkRelative(p string) error {
	if p == "" || path.IsAbs(p) || filepath.IsAbs(p) || strings.Contains(p, "\\") ||
		slices.Contains(strings.Split(p, "/"), "..") {
		return fmt.Errorf("%q: not a path inside the report folder", p)
	}
	return nil
}

func readRootLimited(root *os.Root, name string, limit int64) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("reading %s: larger than %d bytes", name, limit)
	}
	return data, nil
}

// writeFile writes data next to its destination and renames it into place,
// so a reader never sees half a file.
func writeFile(dst string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return nil
}
