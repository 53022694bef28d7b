// Package certification holds the certification profiles: which
// requirements, which scenarios and which limits a run is judged by.
package certification

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/bcbench/bcbench/requirements"
)

// Profile is one certification profile.
type Profile struct {
	ID           string   `yaml:"id"`
	Title        string   `yaml:"title"`
	Version      string   `yaml:"version"`
	Roles        []string `yaml:"roles"`
	Scenarios    []string `yaml:"scenarios"`
	Requirements []string `yaml:"requirements"`
	Limits       Limits   `yaml:"limits"`
}

// Limits bound a run.
type Limits struct {
	SpecTimeout    time.Duration `yaml:"specTimeout"`
	RequestTimeout time.Duration `yaml:"requestTimeout"`
	StartupTimeout time.Duration `yaml:"startupTimeout"`
}

// Default is the profile a run uses when none is named.
const Default = "keurmerk-niveau1"

//go:embed *.yaml
var files embed.FS

// All returns every embedded profile, ordered by ID.
func All() ([]Profile, error) {
	entries, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("listing profiles: %w", err)
	}
	var out []Profile
	for _, name := range entries {
		data, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading profile %s: %w", name, err)
		}
		p, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", name, err)
		}
		if p.ID+".yaml" != path.Base(name) {
			return nil, fmt.Errorf("profile %s: id %q does not match the file name", name, p.ID)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Profile) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Lookup returns the embedded profile with the given ID.
func Lookup(id string) (Profile, error) {
	all, err := All()
	if err != nil {
		return Profile{}, err
	}
	var ids []string
	for _, p := range all {
		if p.ID == id {
			return p, nil
		}
		ids = append(ids, p.ID)
	}
	return Profile{}, fmt.Errorf("unknown profile %q (known: %s)", id, strings.Join(ids, ", "))
}

// Parse reads a profile and checks its requirement IDs against the catalogue.
func Parse(data []byte) (Profile, error) {
	var p Profile
	if err := yaml.Unmarshal(data, &p); err != nil {
		return Profile{}, fmt.Errorf("reading profile: %w", err)
	}
	if p.ID == "" || p.Title == "" || len(p.Requirements) == 0 || len(p.Scenarios) == 0 {
		return Profile{}, fmt.Errorf("reading profile: id, title, requirements and scenarios are required")
	}
	cat, err := requirements.Default()
	if err != nil {
		return Profile{}, err
	}
	if err := cat.Check(p.Requirements...); err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", p.ID, err)
	}
	if p.Limits.SpecTimeout <= 0 {
		p.Limits.SpecTimeout = 2 * time.Minute
	}
	if p.Limits.RequestTimeout <= 0 {
		p.Limits.RequestTimeout = 30 * time.Second
	}
	if p.Limits.StartupTimeout <= 0 {
		p.Limits.StartupTimeout = time.Minute
	}
	return p, nil
}
