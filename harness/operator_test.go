package harness

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bcbench/bcbench/fixtures"
)

func hypertensionRegistrations(t *testing.T) []fixtures.Registration {
	t.Helper()
	var s *fixtures.Scenario
	for _, g := range fixtures.Golden() {
		if strings.Contains(g.ID, "hypertensie") {
			s = g
		}
	}
	if s == nil {
		t.Skip("no golden hypertensie scenario in fixtures")
	}
	regs, err := s.Registrations(time.Date(2026, 1, 5, 0, 0, 0, 0, fixtures.Amsterdam))
	if err != nil {
		t.Fatal(err)
	}
	return regs
}

func TestOperatorDutchSteps(t *testing.T) {
	regs := hypertensionRegistrations(t)
	in := strings.NewReader("j\nwat?\nnee\nstop\n")
	var out bytes.Buffer
	op := NewOperator(in, &out, time.Minute, len(regs))
	ctx := context.Background()
	rec, err := op.Register(ctx, regs[0])
	if err != nil || rec.Registered.IsZero() {
		t.Fatalf("first step: %v %+v", err, rec)
	}
	if _, err := op.Register(ctx, regs[1]); !errors.Is(err, ErrSkipped) {
		t.Errorf("second step: %v, want ErrSkipped", err)
	}
	if _, err := op.Register(ctx, regs[2]); !errors.Is(err, ErrAborted) {
		t.Errorf("third step: %v, want ErrAborted", err)
	}
	if _, err := op.Register(ctx, regs[3]); !errors.Is(err, ErrNoOperator) {
		t.Errorf("after the input ended: %v, want ErrNoOperator", err)
	}
	text := out.String()
	c := regs[0].Client
	for _, want := range []string{
		"Stap 1 van " + strconv.Itoa(len(regs)), "Stap 2 van", "Cliënte: " + c.Given + " " + c.Family + ", BSN " + c.BSN,
		"Geregistreerd door: ", "Tijdstip: ", "Registreer:", "Is dit geregistreerd? Typ j (ja)", "U heeft 1 minuut",
		"Antwoord niet begrepen",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("operator output lacks %q", want)
		}
	}
	if !fixtures.ValidBSN(c.BSN) || !strings.HasPrefix(c.BSN, "9999") {
		t.Errorf("scenario BSN %s is not a test BSN", c.BSN)
	}
	// The prescription step names the MP9 building block and the product.
	var all strings.Builder
	for _, r := range regs {
		for _, l := range StepFor(r).Lines {
			all.WriteString(l + "\n")
		}
	}
	if !strings.Contains(all.String(), "MedicatieAfspraak") || !strings.Contains(strings.ToLower(all.String()), "labetalol") {
		t.Errorf("no MedicatieAfspraak for labetalol in the steps:\n%s", all.String())
	}
}

func TestOperatorTimeoutKeepsLaterAnswer(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	var out bytes.Buffer
	op := NewOperator(pr, &out, 100*time.Millisecond, 0)
	start := time.Now()
	if err := op.Confirm(context.Background(), Step{Title: "iets"}); !errors.Is(err, ErrOperatorTimeout) {
		t.Fatalf("want timeout, got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout took %s", d)
	}
	go io.WriteString(pw, "ja\n")
	if err := op.Confirm(context.Background(), Step{Title: "nog iets"}); err != nil {
		t.Errorf("answer after a timeout: %v", err)
	}
	if !strings.Contains(out.String(), "Geen antwoord binnen") {
		t.Errorf("output = %q", out.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := op.Confirm(ctx, Step{Title: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestOperatorOverlongLine(t *testing.T) {
	op := NewOperator(strings.NewReader(strings.Repeat("j", maxAnswer*2)+"\n"), io.Discard, time.Second, 0)
	if err := op.Confirm(context.Background(), Step{Title: "x"}); !errors.Is(err, ErrNoOperator) {
		t.Errorf("overlong answer: %v", err)
	}
}

func TestStepForOtherValues(t *testing.T) {
	s := StepFor(map[string]string{"event": "x"})
	if !strings.Contains(strings.Join(s.Lines, "\n"), `"event": "x"`) {
		t.Errorf("step = %+v", s)
	}
}
