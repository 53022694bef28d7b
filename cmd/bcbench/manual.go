package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/bcbench/bcbench/fixtures"
)

// manualTimeout is how long the bench waits for the operator per step.
const manualTimeout = 15 * time.Minute

// manualOperator prints each registration for an operator at a projectathon
// (in Dutch) and waits until the operator confirms it was entered.
func manualOperator(w io.Writer) func(ctx context.Context, r fixtures.Registration) error {
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return func(ctx context.Context, r fixtures.Registration) error {
		fmt.Fprintf(w, "\n— Registreer in het XIS (%s, %s) —\n", r.Time.Format("2006-01-02 15:04"), r.Author.Professional.Name)
		fmt.Fprintf(w, "Cliënt: %s %s, BSN %s\n%s\n", r.Client.Given, r.Client.Family, r.Client.BSN, r.Title)
		for _, f := range r.Facts {
			fmt.Fprintf(w, "  • %s: %s\n", f.Name, describe(f))
		}
		fmt.Fprint(w, "Druk op Enter als dit is vastgelegd (of typ 'overslaan'): ")
		timer := time.NewTimer(manualTimeout)
		defer timer.Stop()
		select {
		case line, ok := <-lines:
			if !ok {
				return fmt.Errorf("operator: invoer gesloten")
			}
			if strings.TrimSpace(line) == "overslaan" {
				return fmt.Errorf("operator: overgeslagen")
			}
			return nil
		case <-timer.C:
			return fmt.Errorf("operator: geen bevestiging binnen %s", manualTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func describe(f fixtures.RegisteredFact) string {
	v := f.Value
	switch {
	case v.Integer != nil:
		return fmt.Sprint(*v.Integer)
	case v.Quantity != nil:
		return v.Quantity.Value + " " + v.Quantity.Unit
	case v.Coding != nil:
		return v.Coding.Display + " (" + v.Coding.Code + ")"
	case v.Date != "":
		return v.Date
	case v.String != nil:
		return *v.String
	case v.Boolean != nil:
		return fmt.Sprint(*v.Boolean)
	case f.Medication != nil:
		m := f.Medication
		return fmt.Sprintf("%s, %s %s %d× per %s, vanaf %s", m.Product.Display, m.Dose.Value, m.Dose.Unit, m.Frequency, m.Period, m.Start)
	}
	var parts []string
	for _, c := range f.Components {
		parts = append(parts, c.Name+" "+describe(c))
	}
	return strings.Join(parts, ", ")
}
