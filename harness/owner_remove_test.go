package harness

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRemoveRunWaitsForARemovalInProgress: when the engine answers 409
// "removal … already in progress" (an auto-removed relay dying with its
// run), removeRun waits until the container is gone and counts it removed;
// a container that never goes is still reported.
func TestRemoveRunWaitsForARemovalInProgress(t *testing.T) {
	tests := []struct {
		name      string
		goneAfter time.Duration // how long the engine takes to finish; < 0: never
		wantErr   bool
	}{
		{"gone shortly after", 300 * time.Millisecond, false},
		{"gone at once", 0, false},
		{"never gone", -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var asked time.Time
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/containers/json"):
					w.Write([]byte(`[{"Id":"c0ffee00c0ffee00","Labels":{}}]`))
				case r.Method == http.MethodGet && r.URL.Path == "/networks":
					w.Write([]byte(`[]`))
				case r.Method == http.MethodDelete:
					mu.Lock()
					asked = time.Now()
					mu.Unlock()
					w.WriteHeader(http.StatusConflict)
					w.Write([]byte(`{"message":"removal of container c0ffee00c0ffee00 is already in progress"}`))
				case r.Method == http.MethodGet && r.URL.Path == "/containers/c0ffee00c0ffee00/json":
					mu.Lock()
					done := tt.goneAfter >= 0 && time.Since(asked) >= tt.goneAfter
					mu.Unlock()
					if done {
						w.WriteHeader(http.StatusNotFound)
						return
					}
					w.Write([]byte(`{}`))
				default:
					w.WriteHeader(http.StatusNotFound)
				}
			}))
			defer srv.Close()
			t.Setenv("DOCKER_HOST", "tcp://"+strings.TrimPrefix(srv.URL, "http://"))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			removed, err := removeRun(ctx, "r1")
			if (err != nil) != tt.wantErr {
				t.Fatalf("removeRun: %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && (len(removed) != 1 || removed[0].Kind != "container") {
				t.Errorf("removed %v, want the container counted as removed", removed)
			}
		})
	}
}
