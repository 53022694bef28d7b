package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bcbench/bcbench/fixtures"
	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/reports"
	"github.com/bcbench/bcbench/suites"
	"github.com/bcbench/bcbench/suites/spec"
)

// Bounds of the log lines a report shows of a candidate that stopped.
const (
	stoppedLines    = 30      // the last lines
	stoppedLineMax  = 4 << 10 // bytes of one line; longer ones keep their end
	stoppedLogBytes = 256 << 10
)

// stoppedRoles lists the roles of the candidate that no longer answer, with
// the event that was in flight: the first registration that got no answer,
// or the specs when every registration was answered. When the watch saw a
// role die (and the bench stopped the others), it is that role alone.
func stoppedRoles(ctx context.Context, cand *running, env *spec.Env, scenarios []*fixtures.Scenario, death *harness.Death) []reports.Stopped {
	if death != nil {
		return []reports.Stopped{{Role: death.Role, During: inFlight(env, scenarios),
			Reason: plainText(death.Err.Error()), LastLines: []string{}}}
	}
	var out []reports.Stopped
	for _, r := range cand.Roles {
		alive := r.Alive(ctx)
		if alive == nil {
			continue
		}
		out = append(out, reports.Stopped{
			Role:      r.Name,
			During:    inFlight(env, scenarios),
			Reason:    plainText(alive.Error()),
			LastLines: []string{},
		})
	}
	return out
}

// inFlight names the first registration the candidate did not answer.
func inFlight(env *spec.Env, scenarios []*fixtures.Scenario) string {
	for _, s := range scenarios {
		rep, ok := env.ReplayOf(s.ID)
		if !ok {
			continue
		}
		for _, ev := range rep.Events {
			var ue *harness.UnreachableError
			if errors.As(ev.Err, &ue) || errors.Is(ev.Err, harness.ErrNoAnswer) || errors.Is(ev.Err, spec.ErrNotSent) {
				g := ev.Registration
				return fmt.Sprintf("bij het registreren van %s › %s (event %s, %s)",
					plainText(s.ID), plainText(g.Title), plainText(g.Event), g.Time.In(fixtures.Amsterdam).Format("2006-01-02 15:04"))
			}
		}
	}
	return "na het registreren, terwijl de controles liepen"
}

// withLogTails adds the last lines of each stopped role's log, once the
// candidate is stopped and its logs are written as evidence.
func withLogTails(out string, stopped []reports.Stopped) []reports.Stopped {
	for i := range stopped {
		rel := reports.EvidenceDir + "/" + stopped[i].Role + ".log"
		lines, err := lastLines(filepath.Join(out, filepath.FromSlash(rel)))
		if err != nil {
			continue
		}
		stopped[i].Log, stopped[i].LastLines = rel, lines
	}
	return stopped
}

// lastLines reads the last lines of a log, each whole up to a bound (a
// longer line keeps its end, where the cause usually is), made safe for a
// terminal and a page.
func lastLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("reading %s: not a regular file", path)
	}
	if st.Size() > stoppedLogBytes {
		if _, err := f.Seek(-stoppedLogBytes, io.SeekEnd); err != nil {
			return nil, err
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, stoppedLogBytes))
	if err != nil {
		return nil, err
	}
	raw := bytes.Split(bytes.TrimRight(data, "\r\n"), []byte("\n"))
	if st.Size() > stoppedLogBytes && len(raw) > 1 {
		raw = raw[1:] // the first line was cut by the seek
	}
	if len(raw) > stoppedLines {
		raw = raw[len(raw)-stoppedLines:]
	}
	lines := make([]string, 0, len(raw))
	for _, l := range raw {
		s := strings.TrimRight(plainText(string(bytes.TrimRight(l, "\r"))), " ")
		if len(s) > stoppedLineMax {
			cut := len(s) - stoppedLineMax
			for cut < len(s) && !utf8.RuneStart(s[cut]) {
				cut++
			}
			s = "…" + s[cut:]
		}
		lines = append(lines, s)
	}
	return lines, nil
}

// aliveTimeout bounds asking the candidate whether it still runs.
const aliveTimeout = 10 * time.Second

// watchInterval is how often the bench asks whether every role still runs.
const watchInterval = 500 * time.Millisecond

// judgedBefore keeps what was judged before a role of the run died: a spec
// that ended afterwards judged a chain the bench had to stop (the other
// roles are stopped as soon as one dies), so its pass or fail becomes
// error, never the candidate's fail. Skips and not-tested stay.
func judgedBefore(outcomes []suites.Outcome, death *harness.Death, others []string) []suites.Outcome {
	if death == nil {
		return outcomes
	}
	why := fmt.Sprintf("niet beoordeeld: rol %s stopte tijdens de run om %s (%s)",
		death.Role, death.At.In(fixtures.Amsterdam).Format("15:04:05"), plainText(death.Err.Error()))
	if len(others) > 0 {
		why += "; de testbank stopte daarop de andere rollen (" + strings.Join(others, ", ") + ")"
	}
	out := make([]suites.Outcome, len(outcomes))
	for i, o := range outcomes {
		switch {
		case o.Ended.Before(death.At):
		case o.Status == "pass" || o.Status == "fail":
			was, failure := o.Status, o.Failure
			o.Status = "error"
			o.Failure = why + "; de controle eindigde daarna (als " + was + ")"
			if was == "fail" && failure != "" {
				o.Failure += ":\n" + failure
			}
		case o.Status == "error":
			// mostly the stopped roles' refused connections: say why
			o.Failure = why + ":\n" + o.Failure
		}
		out[i] = o
	}
	return out
}
