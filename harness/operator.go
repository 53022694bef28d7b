package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/bcbench/bcbench/fixtures"
)

// Registrar registers one scenario event in a candidate: the Adapter does it
// over HTTP, the Operator through a person (bcbench run --manual).
type Registrar interface {
	Register(ctx context.Context, registration any) (Receipt, error)
}

var (
	_ Registrar = (*Adapter)(nil)
	_ Registrar = (*Operator)(nil)
)

// Errors of a manual step.
var (
	// ErrSkipped: the operator said the step was not done.
	ErrSkipped = errors.New("de operator heeft deze stap overgeslagen (step skipped by the operator)")
	// ErrAborted: the operator stopped the manual run.
	ErrAborted = errors.New("de operator heeft de run gestopt (run stopped by the operator)")
	// ErrOperatorTimeout: no answer within the step's time.
	ErrOperatorTimeout = errors.New("geen bevestiging binnen de tijd (no confirmation in time)")
	// ErrNoOperator: the input ended (no terminal, or Ctrl-D).
	ErrNoOperator = errors.New("geen invoer meer van de operator (operator input ended)")
)

// DefaultStepTimeout is how long an operator gets per step.
const DefaultStepTimeout = 10 * time.Minute

// maxAnswer bounds one line of operator input.
const maxAnswer = 4096

// Operator guides a person at a projectathon through the registrations, in
// Dutch: it prints each step, then waits for a line of confirmation.
type Operator struct {
	out     io.Writer
	in      io.Reader
	timeout time.Duration
	now     func() time.Time

	once  sync.Once
	lines chan string
	err   error // set before lines is closed

	step, total int
}

// NewOperator returns an operator that prints to out and reads answers from
// in (normally os.Stdout and os.Stdin). timeout bounds each step (default
// DefaultStepTimeout). total, when known, numbers the steps "Stap 3 van 12".
func NewOperator(in io.Reader, out io.Writer, timeout time.Duration, total int) *Operator {
	if timeout <= 0 {
		timeout = DefaultStepTimeout
	}
	return &Operator{in: in, out: out, timeout: timeout, total: total, now: time.Now}
}

// Step is one thing an operator must do.
type Step struct {
	Title string
	// Lines say what to register, one item each.
	Lines []string
}

// StepFor describes a registration as a step, in Dutch. Registrations of
// another type are shown as JSON.
func StepFor(registration any) Step {
	switch r := registration.(type) {
	case fixtures.Registration:
		return registrationStep(r)
	case *fixtures.Registration:
		if r != nil {
			return registrationStep(*r)
		}
	}
	b, err := json.MarshalIndent(registration, "", "  ")
	if err != nil {
		b = []byte(fmt.Sprint(registration))
	}
	return Step{Title: "Registreer het volgende", Lines: strings.Split(string(b), "\n")}
}

// Register prints the step for a registration and waits for the operator's
// confirmation; the receipt's time is the moment of confirmation.
func (o *Operator) Register(ctx context.Context, registration any) (Receipt, error) {
	if err := o.Confirm(ctx, StepFor(registration)); err != nil {
		return Receipt{}, err
	}
	return Receipt{Registered: o.now()}, nil
}

// Confirm prints a step and waits until the operator answers: j/ja (done)
// returns nil, n/nee (skip) ErrSkipped, stop ErrAborted; no answer within
// the timeout gives ErrOperatorTimeout, ended input ErrNoOperator.
func (o *Operator) Confirm(ctx context.Context, s Step) error {
	o.once.Do(o.startReader)
	o.step++
	head := fmt.Sprintf("Stap %d", o.step)
	if o.total > 0 {
		head += fmt.Sprintf(" van %d", o.total)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n── %s: %s\n", head, s.Title)
	for _, l := range s.Lines {
		fmt.Fprintf(&b, "   %s\n", l)
	}
	fmt.Fprintf(&b, "Is dit geregistreerd? Typ j (ja), n (nee, overslaan) of stop, en Enter. U heeft %s.\n> ", roundDuration(o.timeout))
	if _, err := io.WriteString(o.out, b.String()); err != nil {
		return fmt.Errorf("printing manual step: %w", err)
	}
	timer := time.NewTimer(o.timeout)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			fmt.Fprintf(o.out, "\nGeen antwoord binnen %s: stap %d telt als niet uitgevoerd.\n", roundDuration(o.timeout), o.step)
			return ErrOperatorTimeout
		case line, ok := <-o.lines:
			if !ok {
				if o.err != nil {
					return fmt.Errorf("%w: %v", ErrNoOperator, o.err)
				}
				return ErrNoOperator
			}
			switch strings.ToLower(strings.TrimSpace(line)) {
			case "j", "ja", "y", "yes", "gedaan", "klaar":
				return nil
			case "n", "nee", "no", "overslaan", "skip":
				return ErrSkipped
			case "stop", "q", "quit", "afbreken":
				return ErrAborted
			default:
				fmt.Fprint(o.out, "Antwoord niet begrepen. Typ j, n of stop.\n> ")
			}
		}
	}
}

// startReader reads answers line by line in the background, so that a
// timed-out step does not lose the next answer.
func (o *Operator) startReader() {
	o.lines = make(chan string)
	go func() {
		defer close(o.lines)
		sc := bufio.NewScanner(o.in)
		sc.Buffer(make([]byte, 0, 256), maxAnswer)
		for sc.Scan() {
			o.lines <- sc.Text()
		}
		o.err = sc.Err()
	}()
}

func roundDuration(d time.Duration) string {
	switch {
	case d >= time.Minute && d%time.Minute == 0:
		if d == time.Minute {
			return "1 minuut"
		}
		return fmt.Sprintf("%d minuten", int(d/time.Minute))
	case d >= time.Second:
		return fmt.Sprintf("%d seconden", int(d.Round(time.Second)/time.Second))
	default:
		return d.String()
	}
}

// eventNames names the kinds of event in Dutch, for the operator.
var eventNames = map[fixtures.EventKind]string{
	fixtures.Intake:        "intake",
	fixtures.Ultrasound:    "echo",
	fixtures.Lab:           "laboratoriumuitslag",
	fixtures.Vitals:        "controle",
	fixtures.Risk:          "risicoselectie",
	fixtures.Prescription:  "voorschrift",
	fixtures.Referral:      "verwijzing",
	fixtures.Labour:        "baring",
	fixtures.Birth:         "geboorte",
	fixtures.Newborn:       "pasgeborene",
	fixtures.MaternityCare: "kraamzorg",
	fixtures.JGZTransfer:   "overdracht aan de JGZ",
	fixtures.Consent:       "toestemming",
	fixtures.Deletion:      "verzoek tot vernietiging",
	fixtures.ClientAccess:  "inzage door de cliënte",
}

func registrationStep(r fixtures.Registration) Step {
	kind := eventNames[r.Kind]
	if kind == "" {
		kind = string(r.Kind)
	}
	title := r.Title
	if title == "" {
		title = kind
	} else if kind != "" && !strings.EqualFold(title, kind) {
		title += " (" + kind + ")"
	}
	var lines []string
	client := fmt.Sprintf("Cliënte: %s %s, BSN %s, geboren %s", r.Client.Given, r.Client.Family, r.Client.BSN, r.Client.BirthDate)
	lines = append(lines, client)
	if r.Subject != nil {
		lines = append(lines, fmt.Sprintf("Over het kind: %s %s, BSN %s, geboren %s", r.Subject.Given, r.Subject.Family, r.Subject.BSN, r.Subject.BirthDate))
	}
	who := r.Author.Name
	if r.Author.Professional.Name != "" {
		who = r.Author.Professional.Name + ", " + strings.TrimSpace(r.Author.Professional.Role+" bij "+r.Author.Name)
	}
	lines = append(lines, "Geregistreerd door: "+who)
	if !r.Time.IsZero() {
		lines = append(lines, "Tijdstip: "+r.Time.In(fixtures.Amsterdam).Format("2006-01-02 15:04"))
	}
	if r.Consent != nil {
		lines = append(lines, "Toestemming voor delen: "+jaNee(*r.Consent))
	}
	if len(r.Facts) > 0 {
		lines = append(lines, "Registreer:")
		for _, f := range r.Facts {
			lines = append(lines, factLines(f, "  • ")...)
		}
	}
	return Step{Title: title, Lines: lines}
}

func factLines(f fixtures.RegisteredFact, indent string) []string {
	name := f.Name
	if name == "" {
		name = f.Key
	}
	var out []string
	if f.Medication != nil {
		out = append(out, indent+name+": "+medicationText(*f.Medication))
	} else {
		line := indent + name
		if v := valueText(f.Value); v != "" {
			line += ": " + v
		}
		if f.Code.Code != "" {
			line += " [" + codingText(f.Code) + "]"
		}
		out = append(out, line)
	}
	for _, c := range f.Components {
		out = append(out, factLines(c, "    "+strings.TrimLeft(indent, " "))...)
	}
	return out
}

func valueText(v fixtures.RegisteredValue) string {
	switch {
	case v.Integer != nil:
		return fmt.Sprint(*v.Integer)
	case v.Quantity != nil:
		return strings.TrimSpace(v.Quantity.Value + " " + v.Quantity.Unit)
	case v.Coding != nil:
		return codingText(*v.Coding)
	case v.Date != "":
		return v.Date
	case v.String != nil:
		return *v.String
	case v.Boolean != nil:
		return jaNee(*v.Boolean)
	}
	return ""
}

func codingText(c fixtures.Coding) string {
	if c.Display != "" {
		return c.Display + " (" + c.Code + ")"
	}
	return c.Code
}

func medicationText(m fixtures.RegisteredMedication) string {
	parts := []string{m.Block, codingText(m.Product)}
	if m.Dose.Value != "" {
		dose := "dosis " + m.Dose.Value + " " + dutchUnit(m.Dose.Unit)
		if m.Frequency > 0 {
			dose += fmt.Sprintf(", %d× per %s", m.Frequency, dutchUnit(m.Period))
		}
		parts = append(parts, dose)
	}
	if m.Route != nil {
		parts = append(parts, "toediening "+codingText(*m.Route))
	}
	period := "vanaf " + m.Start
	if m.End != "" {
		period += " tot " + m.End
	}
	parts = append(parts, period)
	if m.StopType != nil {
		parts = append(parts, "stoptype "+codingText(*m.StopType))
	}
	if m.Reason != "" {
		parts = append(parts, "reden: "+m.Reason)
	}
	if m.Treatment != "" {
		parts = append(parts, "behandeling "+m.Treatment)
	}
	return strings.Join(parts, "; ")
}

// dutchUnit spells the UCUM units of doses and periods for a person.
func dutchUnit(u string) string {
	switch u {
	case "1":
		return "stuk"
	case "d":
		return "dag"
	case "wk":
		return "week"
	case "h":
		return "uur"
	case "min":
		return "minuut"
	case "mo":
		return "maand"
	}
	return u
}

func jaNee(b bool) string {
	if b {
		return "ja"
	}
	return "nee"
}
