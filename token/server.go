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
	loop *loopback
}

// Start creates an issuer and serves its keys on 127.0.0.1 until Close.
func Start(ctx context.Context) (*Server, error) {
	s := &Server{}
	loop, err := serveLoopback(ctx, "the token issuer", func(url string) (http.Handler, error) {
		iss, err := NewIssuer(url)
		if err != nil {
			return nil, err
		}
		s.Issuer = iss
		return iss.Handler(), nil
	})
	if err != nil {
		return nil, err
	}
	s.loop = loop
	return s, nil
}

// Close stops serving; it is safe to call more than once.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	return s.loop.close()
}

// loopback is an HTTP server on a 127.0.0.1 port of its own.
type loopback struct {
	what string
	srv  *http.Server
	done chan struct{}
}

// serveLoopback listens on 127.0.0.1 and serves what handler builds for
// the URL it is reached at.
func serveLoopback(ctx context.Context, what string, handler func(url string) (http.Handler, error)) (*loopback, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", what, err)
	}
	h, err := handler("http://" + ln.Addr().String())
	if err != nil {
		ln.Close()
		return nil, err
	}
	l := &loopback{what: what, done: make(chan struct{}),
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}}
	go func() {
		defer close(l.done)
		_ = l.srv.Serve(ln)
	}()
	return l, nil
}

// close stops serving; it is safe to call more than once.
func (l *loopback) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := l.srv.Shutdown(ctx)
	<-l.done
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stopping %s: %w", l.what, err)
	}
	return nil
}
