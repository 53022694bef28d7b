package validator

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// placeholder matches Touchstone/Nictiz variables such as ${DATE, T, D, -146},
// ${CURRENTDATE}, ${UUID} or ${X...}.
var placeholder = regexp.MustCompile(`\$\{([A-Za-z]+)([^}]*)\}`)

// FillPlaceholders replaces placeholders with concrete values: DATE and
// CURRENTDATE variables become dates relative to today (the unit D, M or Y
// and the signed offset are honoured; a format argument with a time gives a
// dateTime), UUID becomes a random UUID, and any other variable becomes a
// fixed token ("placeholder") so that the structure can still be checked.
func FillPlaceholders(data []byte) []byte {
	today := time.Now().UTC()
	return placeholder.ReplaceAllFunc(data, func(m []byte) []byte {
		sub := placeholder.FindSubmatch(m)
		name := strings.ToUpper(string(sub[1]))
		args := strings.Split(strings.TrimPrefix(string(sub[2]), ","), ",")
		for i := range args {
			args[i] = strings.TrimSpace(args[i])
		}
		switch {
		case strings.Contains(name, "DATE"):
			d := today
			if len(args) >= 3 {
				n, err := strconv.Atoi(strings.TrimPrefix(args[2], "+"))
				if err == nil {
					switch strings.ToUpper(args[1]) {
					case "D":
						d = d.AddDate(0, 0, n)
					case "M":
						d = d.AddDate(0, n, 0)
					case "Y":
						d = d.AddDate(n, 0, 0)
					}
				}
			}
			if len(args) >= 4 && strings.Contains(args[3], ":") {
				return []byte(d.Format("2006-01-02") + "T" + args[3] + timeZoneSuffix(args[3]))
			}
			return []byte(d.Format("2006-01-02"))
		case strings.Contains(name, "UUID"):
			var b [16]byte
			_, _ = rand.Read(b[:])
			b[6] = b[6]&0x0f | 0x40
			b[8] = b[8]&0x3f | 0x80
			return []byte(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]))
		}
		return []byte("placeholder")
	})
}

func timeZoneSuffix(t string) string {
	if strings.HasSuffix(t, "Z") || strings.ContainsAny(t, "+-") {
		return ""
	}
	if strings.Count(t, ":") == 1 {
		return ":00+01:00"
	}
	return "+01:00"
}
