package reports

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed results.schema.json
var schemaJSON []byte

// Schema returns the JSON Schema (draft 2020-12) of results.json.
func Schema() []byte { return bytes.Clone(schemaJSON) }

// maxResultsSize bounds what ReadResults and Verify read as results.json.
const maxResultsSize = 64 << 20

var (
	schemaOnce     sync.Once
	compiledSchema *jsonschema.Schema
	schemaErr      error
)

func resultsSchema() (*jsonschema.Schema, error) {
	schemaOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
		if err != nil {
			schemaErr = fmt.Errorf("reading results schema: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		const url = "https://bcbench.nl/schema/results/v1.json"
		if err := c.AddResource(url, doc); err != nil {
			schemaErr = fmt.Errorf("adding results schema: %w", err)
			return
		}
		compiledSchema, schemaErr = c.Compile(url)
		if schemaErr != nil {
			schemaErr = fmt.Errorf("compiling results schema: %w", schemaErr)
		}
	})
	return compiledSchema, schemaErr
}

// ValidateJSON checks a results.json document against the schema. The error
// names every violation with its JSON pointer, on one line.
func ValidateJSON(data []byte) error {
	sch, err := resultsSchema()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("reading results.json: %w", err)
	}
	if err := sch.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("results.json does not match its schema: %s", flatten(ve))
		}
		return fmt.Errorf("validating results.json: %w", err)
	}
	return nil
}

// flatten turns the library's indented error tree into one line:
// "at '/a/b': message; …", leaving out wrapper lines that say nothing.
func flatten(ve *jsonschema.ValidationError) string {
	var parts []string
	for _, line := range strings.Split(ve.Error(), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "- at ") {
			continue
		}
		line = strings.TrimPrefix(line, "- ")
		if strings.HasSuffix(line, ": 'allOf' failed") || strings.HasSuffix(line, ": validation failed") {
			continue
		}
		parts = append(parts, line)
	}
	if len(parts) == 0 {
		return strings.Join(strings.Fields(ve.Error()), " ")
	}
	const most = 10
	if len(parts) > most {
		parts = append(parts[:most], fmt.Sprintf("and %d more", len(parts)-most))
	}
	return strings.Join(parts, "; ")
}

// Marshal encodes results as results.json: indented, field order fixed by
// the model, slices in the order Assemble gives them, a final newline.
func Marshal(res *Results) ([]byte, error) {
	clean := *res
	clean.Requirements = make([]RequirementResult, len(res.Requirements))
	for i, r := range res.Requirements {
		r.Specs = append([]SpecRun{}, r.Specs...)
		for j := range r.Specs {
			if s := r.Specs[j].Seconds; math.IsNaN(s) || math.IsInf(s, 0) || s < 0 {
				r.Specs[j].Seconds = 0
			}
		}
		clean.Requirements[i] = r
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&clean); err != nil {
		return nil, fmt.Errorf("encoding results.json: %w", err)
	}
	return buf.Bytes(), nil
}

// ParseResults checks data against the schema, decodes it and checks that
// its totals and verdict follow from its requirements.
func ParseResults(data []byte) (*Results, error) {
	if err := ValidateJSON(data); err != nil {
		return nil, err
	}
	var res Results
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("decoding results.json: %w", err)
	}
	if err := Consistent(&res); err != nil {
		return nil, err
	}
	return &res, nil
}

// ReadResults reads, checks and decodes a results.json file.
func ReadResults(path string) (*Results, error) {
	data, err := readLimited(path, maxResultsSize)
	if err != nil {
		return nil, err
	}
	res, err := ParseResults(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}

// readLimited reads a whole file, refusing one larger than limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("reading %s: larger than %d bytes", path, limit)
	}
	return data, nil
}

// Consistent checks that the summary, the outcome goals and the verdict of
// res follow from its requirement statuses, so a hand-edited results.json
// cannot show "pass" over failed requirements.
func Consistent(res *Results) error {
	var p []string
	if s := summarise(res.Requirements); s != res.Summary {
		p = append(p, fmt.Sprintf("summary %+v, requirements give %+v", res.Summary, s))
	}
	if v := verdict(res.Requirements, res.SetupProblem); v != res.Verdict {
		p = append(p, fmt.Sprintf("verdict %s, requirements give %s", res.Verdict, v))
	}
	want := outcomeGoals(res.Requirements, res.SetupProblem)
	if len(res.OutcomeGoals) != len(want) {
		p = append(p, fmt.Sprintf("%d outcome goals, want %d", len(res.OutcomeGoals), len(want)))
	} else {
		for i, g := range res.OutcomeGoals {
			w := want[i]
			if g.Goal != w.Goal || g.Requirements != w.Requirements || g.Passed != w.Passed || g.Assessed != w.Assessed ||
				!sameFloat(g.Realisation, w.Realisation) || !sameFloat(g.Discount, w.Discount) {
				p = append(p, fmt.Sprintf("outcome goal %d does not follow from the requirements", w.Goal))
			}
		}
	}
	if len(p) > 0 {
		return fmt.Errorf("results.json is inconsistent: %s", strings.Join(p, "; "))
	}
	return nil
}

func sameFloat(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) < 1e-9
}
