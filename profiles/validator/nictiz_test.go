package validator

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestNictizExamples is the bar: every zib2020 / nl-core R4 example validates
// against the profiles it claims without error, unless the exception is
// written down in docs/validation-exceptions.md (listed in knownExceptions).
func TestNictizExamples(t *testing.T) {
	v := r4(t)
	root := corpus(t)
	files, _ := filepath.Glob(filepath.Join(root, "nictiz-r4-zib2020/examples/*.xml"))
	if len(files) == 0 {
		t.Skip("no Nictiz zib2020 examples in the corpus")
	}
	sort.Strings(files)
	pass, excepted := 0, 0
	var failed []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out := v.Validate(context.Background(), data, Request{FillPlaceholders: true})
		name := filepath.Base(f)
		if !out.HasErrors() {
			pass++
			continue
		}
		if reason, ok := knownExceptions[name]; ok {
			excepted++
			t.Logf("exception %s: %s", name, reason)
			continue
		}
		var msgs []string
		for _, is := range out.Errors() {
			msgs = append(msgs, strings.Join(is.Expression, ",")+": "+is.Diagnostics)
		}
		failed = append(failed, name+"\n      "+strings.Join(msgs, "\n      "))
	}
	t.Logf("Nictiz zib2020/nl-core R4 examples: %d of %d pass with no error, %d written-down exceptions, %d unexplained failures", pass, len(files), excepted, len(failed))
	for _, f := range failed {
		t.Errorf("unexplained failure: %s", f)
	}
}

// knownExceptions are examples that fail because of an upstream defect,
// documented in docs/validation-exceptions.md.
var knownExceptions = map[string]string{}
