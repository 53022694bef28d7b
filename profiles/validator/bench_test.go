package validator

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// nictizJSON returns the zib2020 / nl-core examples as JSON (decoded from
// their XML with placeholders filled, then encoded), so that validation and
// encoding/json decoding can be compared on the same bytes.
func nictizJSON(b testing.TB) [][]byte {
	files, _ := filepath.Glob(filepath.Join(corpus(b), "nictiz-r4-zib2020/examples/*.xml"))
	if len(files) == 0 {
		b.Skip("no Nictiz examples in the corpus")
	}
	var out [][]byte
	for _, f := range files {
		if _, known := knownExceptions[filepath.Base(f)]; known {
			continue // an upstream defect (docs/validation-exceptions.md)
		}
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		tree, _, err := decode(FillPlaceholders(data), "xml", false, "4.0.1")
		if err != nil {
			b.Fatal(err)
		}
		j, err := json.Marshal(tree)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, j)
	}
	return out
}

// BenchmarkNictizDecodeJSON is the baseline: encoding/json decoding of the
// Nictiz examples into map[string]any.
func BenchmarkNictizDecodeJSON(b *testing.B) {
	docs := nictizJSON(b)
	b.ResetTimer()
	for b.Loop() {
		for _, d := range docs {
			var v any
			if err := json.Unmarshal(d, &v); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkNictizValidate validates the same bytes against the profiles they
// claim, with the profiles compiled (one warm-up pass before timing).
func BenchmarkNictizValidate(b *testing.B) {
	v := r4(b)
	docs := nictizJSON(b)
	ctx := context.Background()
	for _, d := range docs {
		if out := v.Validate(ctx, d, Request{Format: "json"}); out.HasErrors() {
			b.Fatalf("warm-up: example does not validate:\n%s", out.Text())
		}
	}
	b.ResetTimer()
	for b.Loop() {
		for _, d := range docs {
			v.Validate(ctx, d, Request{Format: "json"})
		}
	}
}

// TestValidationCostRatio prints the bar figure: the CPU time of validating
// the Nictiz examples over that of decoding the same bytes with encoding/json
// (bar: at most 5×). Process CPU time (getrusage) is used rather than wall
// time so that other processes on a busy machine do not skew the ratio. It
// is a measurement, not a timed assertion.
func TestValidationCostRatio(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement; skipped in -short")
	}
	v := r4(t)
	docs := nictizJSON(t)
	ctx := context.Background()
	for _, d := range docs { // compile the profiles first
		v.Validate(ctx, d, Request{Format: "json"})
	}
	decodeCPU := cpuTime(func() {
		for i := 0; i < 20; i++ {
			for _, d := range docs {
				var x any
				_ = json.Unmarshal(d, &x)
			}
		}
	}) / 20
	validateCPU := cpuTime(func() {
		for i := 0; i < 5; i++ {
			for _, d := range docs {
				v.Validate(ctx, d, Request{Format: "json"})
			}
		}
	}) / 5
	t.Logf("Nictiz examples (%d files, %d bytes): encoding/json %v CPU/pass, validation %v CPU/pass, ratio %.2f× (bar ≤ 5×)",
		len(docs), totalBytes(docs), decodeCPU, validateCPU, float64(validateCPU)/float64(decodeCPU))
}

func totalBytes(docs [][]byte) int {
	n := 0
	for _, d := range docs {
		n += len(d)
	}
	return n
}

// cpuTime returns the process CPU time (user + system) fn takes.
func cpuTime(fn func()) time.Duration {
	var before, after syscall.Rusage
	runtime.GC()
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	fn()
	runtime.GC()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	usage := func(r syscall.Rusage) time.Duration {
		return time.Duration(r.Utime.Nano() + r.Stime.Nano())
	}
	return usage(after) - usage(before)
}
