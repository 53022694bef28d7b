package audit

import (
	"testing"
	"time"
)

// The log is searched by date only around the reads that have no
// AuditEvent yet, each widened by the tolerance; overlapping windows are
// one, far-apart reads are separate windows, not one span over the run.
func TestWindows(t *testing.T) {
	at := func(d time.Duration) read {
		r := readOf("Observation", "o1", 200)
		r.started, r.end = t0.Add(d), t0.Add(d+10*time.Millisecond)
		return r
	}
	logged := &event{id: "e1"}
	tests := []struct {
		name   string
		reads  []read
		events []*event
		want   []span
	}{
		{"every read logged", []read{at(0)}, []*event{logged}, nil},
		{"one read missing", []read{at(0), at(time.Hour)}, []*event{nil, logged},
			[]span{{t0.Add(-tolerance), t0.Add(10*time.Millisecond + tolerance + time.Second)}}},
		{"two close reads are one window", []read{at(3 * time.Second), at(0)}, []*event{nil, nil},
			[]span{{t0.Add(-tolerance), t0.Add(3*time.Second + 10*time.Millisecond + tolerance + time.Second)}}},
		{"reads an hour apart are two windows", []read{at(time.Hour), at(0)}, []*event{nil, nil},
			[]span{
				{t0.Add(-tolerance), t0.Add(10*time.Millisecond + tolerance + time.Second)},
				{t0.Add(time.Hour - tolerance), t0.Add(time.Hour + 10*time.Millisecond + tolerance + time.Second)},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := windows(judgement{reads: tt.reads, events: tt.events})
			if len(got) != len(tt.want) {
				t.Fatalf("windows %v, want %v", got, tt.want)
			}
			for i := range got {
				if !got[i].from.Equal(tt.want[i].from) || !got[i].to.Equal(tt.want[i].to) {
					t.Errorf("window %d is %v–%v, want %v–%v", i, got[i].from, got[i].to, tt.want[i].from, tt.want[i].to)
				}
			}
		})
	}
}
