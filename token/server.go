package token

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is an issuer served on a loopback port: its URL is the issuer.
type Server struct {
	*Issuer
	srv  *http.Server
	done chan struct{}
}

// Start creates an issuer and serves its keys on 127.0.0.1 until Close.
func Start(ctx context.Context) (*Server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the token issuer: %w", err)
	}
	iss, err := NewIssuer("http://" + ln.Addr().String())
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{Issuer: iss, done: make(chan struct{}),
		srv: &http.Server{Handler: iss.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops serving; it is safe to call more than once.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stopping the token issuer: %w", err)
	}
	return nil
}
