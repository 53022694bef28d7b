package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sync"
)

// spool is a proxy's file of rendered HAR entries (JSON, one after the
// other), written when the bodies held in memory pass the proxy's budget
// and read back by offset. The file is unlinked at once: it disappears
// with the process, and is closed when the spool is no longer referenced.
type spool struct {
	mu  sync.Mutex
	f   *os.File
	end int64
	err error // the first failure; the spool is not used after it
}

func newSpool() *spool {
	s := &spool{}
	f, err := os.CreateTemp("", "bcbench-har-*.spool")
	if err != nil {
		s.err = fmt.Errorf("creating the HAR spool: %w", err)
		return s
	}
	_ = os.Remove(f.Name()) // unlinked: gone with the process
	s.f = f
	runtime.AddCleanup(s, func(f *os.File) { _ = f.Close() }, f)
	return s
}

// broken says whether the spool failed (false for no spool yet).
func (s *spool) broken() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err != nil
}

// write appends data and returns where it starts.
func (s *spool) write(data []byte) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	at := s.end
	if _, err := s.f.WriteAt(data, at); err != nil {
		s.err = fmt.Errorf("writing the HAR spool: %w", err)
		return 0, s.err
	}
	s.end += int64(len(data))
	return at, nil
}

// raw reads size bytes at offset at.
func (s *spool) raw(at int64, size int) ([]byte, error) {
	buf := make([]byte, size)
	if _, err := s.f.ReadAt(buf, at); err != nil {
		return nil, fmt.Errorf("reading the HAR spool: %w", err)
	}
	return buf, nil
}

// read reads back the entry at offset at.
func (s *spool) read(at int64, size int) (Entry, error) {
	var e Entry
	data, err := s.raw(at, size)
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return e, fmt.Errorf("reading the HAR spool: %w", err)
	}
	return e, nil
}
