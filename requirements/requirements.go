// Package requirements holds the requirement catalogue of bcbench: every
// requirement a candidate can be certified against, as data. It imports none
// of the project's other packages.
package requirements

import (
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Level is the strength of a requirement, in the wording of the standards.
type Level string

// The three levels. Only MOET decides certification.
const (
	Must   Level = "MOET"
	Should Level = "ZOU MOETEN"
	May    Level = "MAG"
)

// Requirement is one entry of the catalogue.
type Requirement struct {
	// ID is stable and label-safe (usable as a Ginkgo label), e.g. "INH-01".
	ID string `yaml:"id" json:"id"`
	// Title is an outcome sentence in English for developers.
	Title string `yaml:"title" json:"title"`
	// Text is the requirement in Dutch with MOET / ZOU MOETEN / MAG wording.
	Text string `yaml:"text" json:"text"`
	// Level is MOET, ZOU MOETEN or MAG.
	Level Level `yaml:"level" json:"level"`
	// Role is the role under test: xis, translator, index, viewer, dvza, jgz.
	Role string `yaml:"role" json:"role"`
	// Area groups requirements by suite: profile, content, mp9, timeliness,
	// viewer, dvza, trust, transfer, adapter.
	Area string `yaml:"area" json:"area"`
	// OutcomeGoal is the outcome goal (1–4) of the subsidy regulation.
	OutcomeGoal int `yaml:"outcomeGoal" json:"outcomeGoal"`
	// Source names the seed paragraph or standard the requirement traces to.
	Source string `yaml:"source" json:"source"`
}

// Catalogue is the ordered list of requirements.
type Catalogue struct {
	Version      string        `yaml:"version" json:"version"`
	Requirements []Requirement `yaml:"requirements" json:"requirements"`
	index        map[string]int
}

//go:embed catalogue.yaml
var embedded []byte

// idPattern keeps IDs usable as Ginkgo labels and in file names.
var idPattern = regexp.MustCompile(`^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$`)

var roles = []string{"xis", "translator", "index", "viewer", "dvza", "jgz"}

// Default returns the catalogue embedded in the binary.
func Default() (*Catalogue, error) {
	return Parse(embedded)
}

// MustDefault is Default for package initialisation; the embedded catalogue
// is checked by the package's tests, so a panic here is a build defect.
func MustDefault() *Catalogue {
	c, err := Default()
	if err != nil {
		panic(err)
	}
	return c
}

// Parse reads and checks a catalogue.
func Parse(data []byte) (*Catalogue, error) {
	var c Catalogue
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("reading catalogue: %w", err)
	}
	c.index = make(map[string]int, len(c.Requirements))
	var problems []string
	for i, r := range c.Requirements {
		if !idPattern.MatchString(r.ID) {
			problems = append(problems, fmt.Sprintf("entry %d: id %q is not label-safe (want e.g. INH-01)", i+1, r.ID))
		}
		if _, dup := c.index[r.ID]; dup {
			problems = append(problems, fmt.Sprintf("%s: duplicate id", r.ID))
		}
		c.index[r.ID] = i
		switch r.Level {
		case Must, Should, May:
		default:
			problems = append(problems, fmt.Sprintf("%s: level %q is not MOET, ZOU MOETEN or MAG", r.ID, r.Level))
		}
		if !strings.Contains(r.Text, string(r.Level)) {
			problems = append(problems, fmt.Sprintf("%s: text does not use its level word %q", r.ID, r.Level))
		}
		if r.OutcomeGoal < 1 || r.OutcomeGoal > 4 {
			problems = append(problems, fmt.Sprintf("%s: outcomeGoal %d is not 1–4", r.ID, r.OutcomeGoal))
		}
		if !slices.Contains(roles, r.Role) {
			problems = append(problems, fmt.Sprintf("%s: role %q is not one of %v", r.ID, r.Role, roles))
		}
		if r.Title == "" || r.Source == "" || r.Area == "" {
			problems = append(problems, fmt.Sprintf("%s: title, area and source are required", r.ID))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("checking catalogue: %s", strings.Join(problems, "; "))
	}
	return &c, nil
}

// Get returns the requirement with the given ID.
func (c *Catalogue) Get(id string) (Requirement, bool) {
	i, ok := c.index[id]
	if !ok {
		return Requirement{}, false
	}
	return c.Requirements[i], true
}

// Check returns an error naming every ID that is not in the catalogue.
func (c *Catalogue) Check(ids ...string) error {
	var unknown []string
	for _, id := range ids {
		if _, ok := c.index[id]; !ok {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("unknown requirement id(s): %s", strings.Join(unknown, ", "))
	}
	return nil
}
