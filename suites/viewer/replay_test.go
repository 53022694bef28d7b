package viewer

import (
	"testing"
	"time"

	"github.com/bcbench/bcbench/token"
)

func TestAReplayReopenedAfterTheTokensValidityIsStale(t *testing.T) {
	launched := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		after time.Duration
		want  bool
	}{
		{name: "reopened at once", after: 3 * time.Second, want: false},
		{name: "reopened just within the validity", after: token.ContextTTL - time.Second, want: false},
		{name: "reopened when the token expires", after: token.ContextTTL, want: true},
		{name: "reopened within the verifier's leeway", after: token.ContextTTL + 30*time.Second, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := stale(launched, launched.Add(tc.after)); got != tc.want {
				t.Errorf("stale after %s = %v; want %v", tc.after, got, tc.want)
			}
		})
	}
}
