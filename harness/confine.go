package harness

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// digestRef matches an image reference pinned by content: name@sha256:<hex>
// or a bare image id sha256:<hex>.
var digestRef = regexp.MustCompile(`^(?:[^@\s]+@)?(sha256:[0-9a-f]{64})$`)

// pinnedDigest returns the sha256 digest an image reference is pinned to.
func pinnedDigest(ref string) (string, bool) {
	m := digestRef.FindStringSubmatch(ref)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// CheckCertifying returns an error, one line, when a role of the manifest
// may not run in a certifying run: only the bench's built-in references,
// images pinned by digest (name@sha256:…) and images built from a context
// inside the manifest's folder run there. command: and url: candidates run
// the vendor's code outside any container (or cannot be identified at all),
// so they are for self-tests only.
func CheckCertifying(m *Manifest) error {
	for _, name := range m.RoleNames() {
		r := m.Roles[name]
		switch r.Kind() {
		case "builtin":
		case "image":
			if r.Image.Dockerfile == "" && !r.Image.Pinned() {
				return fmt.Errorf("a certifying run starts only images pinned by digest: role %s names %s; give name@sha256:… (docker image inspect -f '{{.Id}}' %s) or a dockerfile inside the manifest's folder", name, r.Image.Name, r.Image.Name)
			}
		default:
			return fmt.Errorf("a certifying run does not start %s: candidates (role %s): they are for self-tests only; give the role as an image pinned by digest", r.Kind(), name)
		}
	}
	return nil
}

// pathProblems reports build contexts and Dockerfiles that resolve,
// symbolic links included, outside the manifest's folder: a manifest may
// not make the bench send the rest of the disk to the Docker engine.
func (m *Manifest) pathProblems() []Problem {
	var out []Problem
	for _, name := range m.RoleNames() {
		r := m.Roles[name]
		if r.Image == nil || r.Image.Dockerfile == "" {
			continue
		}
		if _, _, err := m.home(r).buildPaths(r); err != nil {
			field := "roles." + name + ".image.context"
			var pe *outsideError
			if errors.As(err, &pe) && pe.what == "dockerfile" {
				field = "roles." + name + ".image.dockerfile"
			}
			out = append(out, Problem{Field: field, Message: err.Error()})
		}
	}
	return out
}

// outsideError says that a path resolves outside the manifest's folder.
type outsideError struct {
	what, path, resolved, folder string
}

func (e *outsideError) Error() string {
	return fmt.Sprintf("%s %s resolves to %s, outside the manifest's folder %s", e.what, e.path, e.resolved, e.folder)
}

// buildPaths returns a role's build context and its Dockerfile relative to
// it, both checked to lie inside the manifest's folder with symbolic links
// resolved.
func (m *Manifest) buildPaths(r *RoleSpec) (ctxDir, dockerfile string, err error) {
	folder, err := realPath(m.Dir)
	if err != nil {
		return "", "", fmt.Errorf("resolving the manifest's folder: %w", err)
	}
	given := r.Image.Context
	if given == "" {
		given = "."
	}
	ctxDir, err = realPath(m.resolve(given))
	if err != nil {
		return "", "", fmt.Errorf("build context %s: %w", given, err)
	}
	if !inside(folder, ctxDir) {
		return "", "", &outsideError{what: "build context", path: given, resolved: ctxDir, folder: folder}
	}
	df, err := realPath(filepath.Join(ctxDir, r.Image.Dockerfile))
	if err != nil {
		return "", "", fmt.Errorf("dockerfile %s: %w", r.Image.Dockerfile, err)
	}
	if !inside(folder, df) {
		return "", "", &outsideError{what: "dockerfile", path: r.Image.Dockerfile, resolved: df, folder: folder}
	}
	if !inside(ctxDir, df) {
		return "", "", &outsideError{what: "dockerfile", path: r.Image.Dockerfile, resolved: df, folder: ctxDir}
	}
	rel, _ := filepath.Rel(ctxDir, df)
	return ctxDir, rel, nil
}

// realPath makes p absolute with every symbolic link resolved. A path that
// does not exist yet is resolved as far as it exists.
func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err == nil {
		return real, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	// Resolve the longest existing prefix; the rest has no links yet.
	parent, base := filepath.Dir(abs), filepath.Base(abs)
	if parent == abs {
		return abs, nil
	}
	rp, err := realPath(parent)
	if err != nil {
		return "", err
	}
	return filepath.Join(rp, base), nil
}

// inside reports whether p is dir or lies below it (both clean, absolute).
func inside(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// scratchDir makes a private folder for one process candidate (its HOME and
// TMPDIR), removed when the candidate stops.
func scratchDir(role string) (string, error) {
	dir, err := os.MkdirTemp("", "bcbench-"+role+"-")
	if err != nil {
		return "", fmt.Errorf("creating a scratch folder: %w", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o700); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("creating a scratch folder: %w", err)
	}
	return dir, nil
}
