package reports

import (
	"runtime/debug"
	"testing"
)

func TestBuildDigest(t *testing.T) {
	base := func() *debug.BuildInfo {
		return &debug.BuildInfo{
			GoVersion: "go1.26.0",
			Main:      debug.Module{Path: "github.com/bcbench/bcbench", Version: "v0.2.0", Sum: "h1:main"},
			Deps: []*debug.Module{
				{Path: "github.com/onsi/ginkgo/v2", Version: "v2.1.0", Sum: "h1:ginkgo"},
				{Path: "gopkg.in/yaml.v3", Version: "v3.0.1", Sum: "h1:yaml"},
			},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "false"}},
		}
	}
	want, rev, mod := BuildDigest(base(), "exe")
	if rev != "abc123" || mod {
		t.Fatalf("revision %q modified %v, want abc123 false", rev, mod)
	}
	if len(want) != 64 {
		t.Fatalf("digest %q is not a sha256", want)
	}
	// Reordering the dependencies does not change the code that judged.
	re := base()
	re.Deps[0], re.Deps[1] = re.Deps[1], re.Deps[0]
	if got, _, _ := BuildDigest(re, "exe"); got != want {
		t.Error("the digest depends on the order of the dependencies")
	}
	cases := []struct {
		name   string
		change func(*debug.BuildInfo)
	}{
		{"main module version", func(b *debug.BuildInfo) { b.Main.Version = "v0.2.1" }},
		{"one dependency's sum", func(b *debug.BuildInfo) { b.Deps[1].Sum = "h1:other" }},
		{"one dependency replaced", func(b *debug.BuildInfo) { b.Deps[0].Replace = &debug.Module{Path: "../ginkgo"} }},
		{"another revision", func(b *debug.BuildInfo) { b.Settings[0].Value = "def456" }},
		{"a modified work tree", func(b *debug.BuildInfo) { b.Settings[1].Value = "true" }},
		{"another Go", func(b *debug.BuildInfo) { b.GoVersion = "go1.26.1" }},
		{"no build information", nil},
	}
	if got, _, _ := BuildDigest(base(), "other-exe"); got == want {
		t.Error("another executable with the same build information has the same digest")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var bi *debug.BuildInfo
			if tc.change != nil {
				bi = base()
				tc.change(bi)
			}
			if got, _, _ := BuildDigest(bi, "exe"); got == want {
				t.Errorf("a build with a different %s has the same digest", tc.name)
			}
		})
	}
}
