package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Serve returns a target that serves h in-process on a loopback listener:
// the bench's own reference implementation of a role (manifest
// `builtin: true`). Its identity is the running bench binary and its sha256.
// The harness never imports reference/: the run command passes the handler.
func Serve(role string, h http.Handler) Target {
	return &servedTarget{role: role, h: h}
}

type servedTarget struct {
	role string
	h    http.Handler

	mu      sync.Mutex
	srv     *http.Server
	base    string
	done    chan struct{}
	stopped bool
}

func (s *servedTarget) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	if s.stopped {
		return fmt.Errorf("starting builtin %s: already stopped", s.role)
	}
	if s.h == nil {
		return fmt.Errorf("starting builtin %s: no handler", s.role)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("starting builtin %s: %w", s.role, err)
	}
	s.srv = &http.Server{Handler: s.h, ReadHeaderTimeout: 10 * time.Second}
	s.base = "http://" + ln.Addr().String()
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return nil
}

func (s *servedTarget) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if s.srv == nil {
		return nil
	}
	srv := s.srv
	s.srv = nil
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		err = srv.Close()
	}
	<-s.done
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stopping builtin %s: %w", s.role, err)
	}
	return nil
}

func (s *servedTarget) Identity() Identity {
	path, sum := selfIdentity()
	return Identity{Role: s.role, Kind: "builtin", Binary: path, SHA256: sum}
}

func (s *servedTarget) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

func (s *servedTarget) Alive(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return fmt.Errorf("builtin %s is not running", s.role)
	}
	return nil
}
