package terminology

import (
	"encoding/json"
	"strconv"
)

// str returns m[k] when it is a string.
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// arr returns m[k] as a list. A single value counts as a list of one, so
// that trees decoded from XML without exact repeat knowledge still work.
func arr(m map[string]any, k string) []any {
	switch v := m[k].(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}

// intValue reads a JSON number (json.Number, float64 or numeric string).
func intValue(v any) int {
	switch x := v.(type) {
	case json.Number:
		n, _ := strconv.Atoi(x.String())
		return n
	case float64:
		return int(x)
	case int:
		return x
	case string:
		n, _ := strconv.Atoi(x)
		return n
	}
	return 0
}
