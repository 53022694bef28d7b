package validator

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
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

// BenchmarkNictizCostRatio is the bar as a Go benchmark: each iteration
// decodes the Nictiz examples once with encoding/json and validates the same
// bytes once (profiles compiled before timing), each side measured in
// process CPU time with the collector off (see cpuTime), and reports the
// ratio of the two totals as "ratio" (bar: at most 3×) besides the CPU
// time per pass of each side. Run it with
//
//	go test -run '^$' -bench NictizCostRatio -benchtime 20x ./profiles/validator
func BenchmarkNictizCostRatio(b *testing.B) {
	v := r4(b)
	docs := nictizJSON(b)
	ctx := context.Background()
	for _, d := range docs { // compile the profiles first
		v.Validate(ctx, d, Request{Format: "json"})
	}
	decode := func() {
		for _, d := range docs {
			var x any
			_ = json.Unmarshal(d, &x)
		}
	}
	validate := func() {
		for _, d := range docs {
			v.Validate(ctx, d, Request{Format: "json"})
		}
	}
	var dec, val time.Duration
	n := 0
	b.ResetTimer()
	for b.Loop() {
		dec += cpuTime(false, 1, decode)
		val += cpuTime(false, 1, validate)
		n++
	}
	if dec <= 0 || n == 0 {
		b.Fatalf("no CPU time measured for encoding/json (%v over %d iterations)", dec, n)
	}
	b.ReportMetric(float64(val)/float64(dec), "ratio")
	b.ReportMetric(float64(dec.Nanoseconds())/float64(n), "json-cpu-ns/pass")
	b.ReportMetric(float64(val.Nanoseconds())/float64(n), "validate-cpu-ns/pass")
}

// TestValidationCostRatio prints the bar figure: the CPU time of validating
// the Nictiz examples over that of decoding the same bytes with encoding/json
// (bar: at most 3×). Process CPU time (getrusage) is used rather than wall
// time so that other processes on a busy machine do not skew the ratio, with
// the collector off on both sides (see cpuTime), and each side is measured
// in several interleaved rounds of which the cheapest counts (the round
// least disturbed by the machine's other work). It is a measurement, not a
// timed assertion.
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
	const rounds, passes = 5, 3
	decode := func() {
		for _, d := range docs {
			var x any
			_ = json.Unmarshal(d, &x)
		}
	}
	validate := func() {
		for _, d := range docs {
			v.Validate(ctx, d, Request{Format: "json"})
		}
	}
	// cheapest measures both sides in interleaved rounds, passes at a time,
	// and keeps the cheapest round of each, per pass.
	cheapest := func(collect bool) (dec, val time.Duration) {
		dec, val = time.Duration(1<<62), time.Duration(1<<62)
		for r := 0; r < rounds; r++ {
			dec = min(dec, cpuTime(collect, passes, decode))
			val = min(val, cpuTime(collect, passes, validate))
		}
		return dec, val
	}
	decodeCPU, validateCPU := cheapest(false)
	t.Logf("Nictiz examples (%d files, %d bytes): encoding/json %v CPU/pass, validation %v CPU/pass (collector off, cheapest of %d rounds), ratio %.2f× (bar ≤ 3×)",
		len(docs), totalBytes(docs), decodeCPU, validateCPU, rounds, float64(validateCPU)/float64(decodeCPU))
	// The same with the collector on and one full collection at the end of
	// each measurement (equal passes on both sides): the collection of the
	// test process's large live heap (the loaded definitions) weighs on the
	// decoding side as much as on validation, which flatters the ratio.
	decodeGC, validateGC := cheapest(true)
	t.Logf("with the collector on and one full collection per measurement: encoding/json %v, validation %v CPU/pass, ratio %.2f×", decodeGC, validateGC, float64(validateGC)/float64(decodeGC))
}

func totalBytes(docs [][]byte) int {
	n := 0
	for _, d := range docs {
		n += len(d)
	}
	return n
}

// cpuTime returns the process CPU time (user + system) one of passes runs
// of fn takes. Without
// collect the garbage collector is off: the work of fn itself (allocation
// included), not the collection of a heap that, in a test process holding
// the loaded packages, is mostly the validator's definitions and would weigh
// on both sides alike. With collect it is on, and a full collection at the
// end is part of the measurement.
func cpuTime(collect bool, passes int, fn func()) time.Duration {
	var before, after syscall.Rusage
	runtime.GC()
	if !collect {
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	for i := 0; i < passes; i++ {
		fn()
	}
	if collect {
		runtime.GC()
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	usage := func(r syscall.Rusage) time.Duration {
		return time.Duration(r.Utime.Nano() + r.Stime.Nano())
	}
	return (usage(after) - usage(before)) / time.Duration(passes)
}
