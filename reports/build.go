package reports

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
)

// BuildDigest describes the code that judged a run, from the build
// information Go embeds in every binary: Suite is the sha256 over the main
// module (path, version, sum), every dependency (path, version, sum, and its
// replacement), the Go version and the VCS revision and modified flag, and
// the sha256 of the executable itself (exe, "" when unknown: a build made
// with -buildvcs=false carries no revision, and "(devel)" names no version,
// so only the executable tells two builds apart); Revision and Modified are
// the VCS settings. Spec titles do not enter it: the code does. A binary
// without build information (bi == nil) yields a digest of that fact and the
// executable, so it never matches a real build's.
func BuildDigest(bi *debug.BuildInfo, exe string) (suite, revision string, modified bool) {
	h := sha256.New()
	fmt.Fprintf(h, "executable %s\n", exe)
	if bi == nil {
		fmt.Fprintln(h, "no build information")
		return hex.EncodeToString(h.Sum(nil)), "", false
	}
	fmt.Fprintf(h, "go %s\n", bi.GoVersion)
	module := func(kind string, m *debug.Module) {
		fmt.Fprintf(h, "%s %s %s %s\n", kind, m.Path, m.Version, m.Sum)
		if m.Replace != nil {
			fmt.Fprintf(h, "=> %s %s %s\n", m.Replace.Path, m.Replace.Version, m.Replace.Sum)
		}
	}
	module("main", &bi.Main)
	deps := slices.Clone(bi.Deps)
	slices.SortFunc(deps, func(a, b *debug.Module) int { return strings.Compare(a.Path, b.Path) })
	for _, d := range deps {
		if d != nil {
			module("dep", d)
		}
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	fmt.Fprintf(h, "vcs %s modified=%t\n", revision, modified)
	return hex.EncodeToString(h.Sum(nil)), revision, modified
}
