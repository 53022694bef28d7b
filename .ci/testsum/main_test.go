package main

import (
	"strings"
	"testing"
)

func TestSummarise(t *testing.T) {
	const pkg = "github.com/bcbench/bcbench/harness"
	ev := func(action, test, output string) string {
		return `{"Action":"` + action + `","Package":"` + pkg + `","Test":"` + test + `","Output":` + quote(output) + `}` + "\n"
	}
	in := ev("run", "TestA", "") + ev("output", "TestA", "=== RUN   TestA\n") + ev("pass", "TestA", "") +
		ev("output", "TestDocker", "=== RUN   TestDocker\n") +
		ev("output", "TestDocker", "    container_test.go:31: no Docker engine answers: skipping\n") +
		ev("output", "TestDocker", "--- SKIP: TestDocker (0.00s)\n") + ev("skip", "TestDocker", "") +
		ev("output", "TestDocker2", "    other_test.go:9: no Docker engine answers: skipping\n") + ev("skip", "TestDocker2", "") +
		ev("output", "TestCorpus", "    corpus_test.go:5: no shared/corpus\n") + ev("skip", "TestCorpus", "") +
		ev("skip", "TestSilent", "") +
		ev("output", "TestB", "    b_test.go:3: got 1, want 2\n") + ev("fail", "TestB", "") +
		"# a build error line\n" +
		`{"Action":"fail","Package":"` + pkg + `","Elapsed":1.5}` + "\n"
	var out strings.Builder
	s := summarise(strings.NewReader(in), &out)
	text := out.String()
	if s.passed != 1 || s.failed != 1 || s.skipped != 4 {
		t.Errorf("counted %d passed, %d failed, %d skipped; want 1, 1, 4", s.passed, s.failed, s.skipped)
	}
	for _, want := range []string{
		"skipped tests, by reason:\n  2 × no Docker engine answers: skipping\n      harness TestDocker\n      harness TestDocker2\n",
		"  1 × no shared/corpus\n      harness TestCorpus\n",
		"  1 × (no reason given)\n      harness TestSilent\n",
		"FAIL " + pkg + " TestB\n    b_test.go:3: got 1, want 2\n",
		"# a build error line\n",
		"failed tests:\n  " + pkg + " TestB\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if !strings.HasSuffix(text, "1 passed, 1 failed, 4 skipped\n") {
		t.Errorf("the last line is not the summary:\n%s", text)
	}
}

func TestSkipReason(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{name: "file and line dropped", lines: []string{"=== RUN   TestX\n", "    x_test.go:12: no Docker\n", "--- SKIP: TestX (0.00s)\n"}, want: "no Docker"},
		{name: "several lines joined", lines: []string{"    x_test.go:12: first\n", "        second\n"}, want: "first second"},
		{name: "nothing said", lines: []string{"=== RUN   TestX\n", "--- SKIP: TestX (0.00s)\n"}, want: "(no reason given)"},
		{name: "long reason cut", lines: []string{"    x_test.go:1: " + strings.Repeat("é", 300) + "\n"}, want: strings.Repeat("é", 199) + "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := skipReason(tc.lines); got != tc.want {
				t.Errorf("skipReason = %q, want %q", got, tc.want)
			}
		})
	}
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func TestTimedOutPackageNamesTheTestsStillRunning(t *testing.T) {
	const pkg = "github.com/bcbench/bcbench/cmd/bcbench"
	ev := func(action, test, output string) string {
		return `{"Action":"` + action + `","Package":"` + pkg + `","Test":"` + test + `","Output":` + quote(output) + `}` + "\n"
	}
	in := ev("run", "TestDone", "") + ev("pass", "TestDone", "") +
		ev("run", "TestHangs", "") + ev("output", "TestHangs", "=== RUN   TestHangs\n")
	for i := 0; i < 1000; i++ {
		in += ev("output", "TestHangs", "    poll\n")
	}
	in += ev("output", "TestHangs", "    hangs_test.go:9: waiting for the index\n") +
		ev("output", "", "panic: test timed out after 25m0s\n") +
		`{"Action":"fail","Package":"` + pkg + `","Elapsed":1500}` + "\n"
	var out strings.Builder
	s := summarise(strings.NewReader(in), &out)
	text := out.String()
	if s.passed != 1 || s.failed != 1 {
		t.Errorf("counted %d passed, %d failed; want 1, 1", s.passed, s.failed)
	}
	for _, want := range []string{
		"panic: test timed out after 25m0s\n",
		"FAIL " + pkg + " TestHangs (did not finish)\n",
		"hangs_test.go:9: waiting for the index\n", // the tail is kept
		"lines left out",
		"failed tests:\n  " + pkg + " TestHangs (did not finish)\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text[max(0, len(text)-2000):])
		}
	}
}

func TestSlowestTestsAreListed(t *testing.T) {
	const pkg = "github.com/bcbench/bcbench/cmd/bcbench"
	ev := func(test string, elapsed string) string {
		return `{"Action":"pass","Package":"` + pkg + `","Test":"` + test + `","Elapsed":` + elapsed + `}` + "\n"
	}
	in := ev("TestQuick", "1.2") + ev("TestChain", "312.5") + ev("TestChain/sub", "300") + ev("TestRun", "45")
	var out strings.Builder
	summarise(strings.NewReader(in), &out)
	text := out.String()
	want := "slowest tests (≥ 20 s):\n   312.5s cmd/bcbench TestChain\n    45.0s cmd/bcbench TestRun\n"
	if !strings.Contains(text, want) {
		t.Errorf("output lacks %q:\n%s", want, text)
	}
	for _, no := range []string{"TestQuick", "TestChain/sub"} {
		if strings.Contains(text, no) {
			t.Errorf("%s is listed, but is quick or a subtest:\n%s", no, text)
		}
	}
}
