package testscript

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bounds of ${…} expansion: a variable that refers to itself, or a chain
// that grows without end, is an error, never a hang.
const (
	maxExpandDepth = 16
	maxExpandSize  = 4 << 20
)

// errExpand marks an expansion that ran into a bound.
var errExpand = errors.New("variable expansion")

// expander resolves ${…} in text: Touchstone's functions (${CURRENTDATE},
// ${CURRENTDATETIME}, ${DATE, T, D, -146}, ${UUID}) and the script's
// variables.
type expander struct {
	now time.Time
	// lookup returns the value of a script variable with its own ${…}
	// expanded at depth (it calls expandDepth with depth for that).
	lookup func(name string, depth int) (string, bool, error)
}

// expand replaces every ${…} in s.
func (x *expander) expand(s string) (string, error) {
	return x.expandDepth(s, 0)
}

func (x *expander) expandDepth(s string, depth int) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	if depth > maxExpandDepth {
		return "", fmt.Errorf("%w: more than %d levels deep (a variable that refers to itself?)", errExpand, maxExpandDepth)
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s) // an unclosed ${ is text
			break
		}
		b.WriteString(s[:i])
		inner := s[i+2 : i+j]
		v, err := x.call(inner, depth)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
		if b.Len() > maxExpandSize {
			return "", fmt.Errorf("%w: the result grows beyond %d bytes", errExpand, maxExpandSize)
		}
		s = s[i+j+1:]
	}
	return b.String(), nil
}

// call evaluates the inside of one ${…}.
func (x *expander) call(inner string, depth int) (string, error) {
	args := strings.Split(inner, ",")
	for i := range args {
		args[i] = strings.TrimSpace(args[i])
	}
	name := args[0]
	switch strings.ToUpper(name) {
	case "CURRENTDATE":
		return x.now.Format(dateLayout(args[1:], "2006-01-02")), nil
	case "CURRENTDATETIME":
		return x.now.Format(dateLayout(args[1:], time.RFC3339)), nil
	case "UUID":
		return newUUID(), nil
	case "DATE":
		return x.date(args[1:], depth)
	}
	if len(args) > 1 {
		return "", fmt.Errorf("unknown function ${%s}", inner)
	}
	v, ok, err := x.lookup(name, depth+1)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("variable %q is not defined and has no value", name)
	}
	return v, nil
}

// date implements ${DATE, BASE, UNIT, OFFSET[, TIME]}: the date BASE (a
// variable holding a date, usually T) moved by OFFSET units (Y, M, W, D),
// as a date, or a dateTime when TIME (HH:mm[:ss]) is given.
func (x *expander) date(args []string, depth int) (string, error) {
	if len(args) < 3 {
		return "", fmt.Errorf("${DATE, …} needs a base, a unit and an offset, got %d arguments", len(args))
	}
	base := x.now
	if v, ok, err := x.lookup(args[0], depth+1); err != nil {
		return "", err
	} else if ok {
		if len(v) >= 10 {
			if t, err := time.Parse("2006-01-02", v[:10]); err == nil {
				base = t
			} else {
				return "", fmt.Errorf("${DATE, %s, …}: %s holds %q, not a date", args[0], args[0], v)
			}
		}
	} else if !strings.EqualFold(args[0], "T") {
		return "", fmt.Errorf("${DATE, %s, …}: variable %s is not defined", args[0], args[0])
	}
	n, err := strconv.Atoi(strings.TrimPrefix(args[2], "+"))
	if err != nil {
		return "", fmt.Errorf("${DATE, …}: offset %q is not a whole number", args[2])
	}
	switch strings.ToUpper(args[1]) {
	case "Y":
		base = base.AddDate(n, 0, 0)
	case "M":
		base = base.AddDate(0, n, 0)
	case "W":
		base = base.AddDate(0, 0, 7*n)
	case "D":
		base = base.AddDate(0, 0, n)
	default:
		return "", fmt.Errorf("${DATE, …}: unit %q is not Y, M, W or D", args[1])
	}
	if len(args) >= 4 && args[3] != "" {
		clock := args[3]
		if strings.Count(clock, ":") == 1 {
			clock += ":00"
		}
		if _, err := time.Parse("15:04:05", clock); err != nil {
			return "", fmt.Errorf("${DATE, …}: time %q is not HH:mm[:ss]", args[3])
		}
		return base.Format("2006-01-02") + "T" + clock + base.Format("-07:00"), nil
	}
	return base.Format("2006-01-02"), nil
}

// dateLayout turns a Java-style pattern argument (yyyy-MM-dd, …) into a Go
// layout; without one it returns def.
func dateLayout(args []string, def string) string {
	if len(args) == 0 || args[0] == "" {
		return def
	}
	r := strings.NewReplacer("yyyy", "2006", "MM", "01", "dd", "02", "HH", "15", "mm", "04", "ss", "05", "SSS", "000", "XXX", "-07:00", "Z", "-0700")
	return r.Replace(args[0])
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
