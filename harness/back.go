package harness

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// How a container candidate reaches a server the bench plays (a viewer in
// a container reads the XIS the bench plays for it, docs/viewer.md).
//
// The run's internal network has no route to the bench, so the bench dials
// in. The back relay is a container of the relay image (`bcbench candidate
// relay --back`) on the internal network under an alias, and on the access
// network with its control port published on 127.0.0.1, like the relay's.
// The bench keeps a few connections open to that control port, each opened
// with the back relay's key. For every connection a candidate opens to the
// alias, the back relay takes one waiting control connection, says so with
// one byte, and from then on carries the bytes both ways; the bench dials
// its own server on loopback for it and does the same. The back relay
// itself dials nothing: every byte it carries goes through a connection the
// bench opened, to the one loopback address the bench named.

// BackControlPort is the back relay's control port inside its container;
// candidates reach it on RelayPort under its alias.
const BackControlPort = 8081

// BackKeyEnv is the environment variable that gives the back relay its key.
const BackKeyEnv = "BCBENCH_RELAY_KEY"

const (
	// backReady is the byte that tells the bench a candidate's connection
	// is on the control connection.
	backReady byte = 1
	// backIdle is how many control connections the bench keeps waiting.
	backIdle = 8
	// backHello bounds how long a control connection may take to give the key.
	backHello = 5 * time.Second
)

// backWait bounds how long a candidate's connection waits for a control
// connection (a variable for the tests).
var backWait = 10 * time.Second

// RelayBack is the back relay container's whole job: it admits on control
// the connections that give key, and carries every connection accepted on
// inner over one of them, until ctx ends.
func RelayBack(ctx context.Context, inner, control net.Listener, key string) error {
	if len(key) < 16 {
		return errors.New("relay back: a key of at least 16 characters is required")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	idle := make(chan net.Conn, maxRelayConns)
	admitted := make(chan error, 1)
	go func() {
		admitted <- serveConns(ctx, control, func(c net.Conn) { admit(c, key, idle) })
	}()
	err := serveConns(ctx, inner, func(c net.Conn) { carryBack(ctx, c, idle) })
	cancel()
	err = errors.Join(err, <-admitted)
	for {
		select {
		case c := <-idle:
			c.Close()
		default:
			return err
		}
	}
}

// admit keeps a control connection that gives the key as waiting.
func admit(c net.Conn, key string, idle chan<- net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(backHello))
	buf := make([]byte, len(key)+1)
	if _, err := io.ReadFull(c, buf); err != nil || subtle.ConstantTimeCompare(buf[:len(key)], []byte(key)) != 1 || buf[len(key)] != '\n' {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	select {
	case idle <- c:
	default:
		c.Close()
	}
}

// carryBack carries a candidate's connection over a waiting control
// connection; without one within backWait it is closed.
func carryBack(ctx context.Context, c net.Conn, idle <-chan net.Conn) {
	t := time.NewTimer(backWait)
	defer t.Stop()
	for {
		select {
		case b := <-idle:
			if _, err := b.Write([]byte{backReady}); err != nil {
				b.Close()
				continue
			}
			splice(ctx, c, b)
			return
		case <-t.C:
			c.Close()
			return
		case <-ctx.Done():
			c.Close()
			return
		}
	}
}

// dialBack is the bench's side of a back relay: it keeps backIdle
// connections waiting at control and carries each connection that comes
// over one of them to the loopback address to, until stop.
func dialBack(ctx context.Context, control, key, to string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxRelayConns)
	for range backIdle {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pause := 100 * time.Millisecond
			for ctx.Err() == nil {
				if waitBack(ctx, control, key, to, &wg, slots) {
					pause = 100 * time.Millisecond
					continue
				}
				select {
				case <-ctx.Done():
				case <-time.After(pause):
				}
				pause = min(2*pause, 2*time.Second)
			}
		}()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// waitBack opens one control connection and waits on it for a candidate's
// connection, which it then carries to to in its own goroutine; false when
// none came (the back relay was not up yet, or went away).
func waitBack(ctx context.Context, control, key, to string, wg *sync.WaitGroup, slots chan struct{}) bool {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", control)
	if err != nil {
		return false
	}
	unwatch := context.AfterFunc(ctx, func() { c.Close() })
	var b [1]byte
	_, err = io.WriteString(c, key+"\n")
	if err == nil {
		_, err = io.ReadFull(c, b[:])
	}
	unwatch()
	if err != nil || b[0] != backReady || ctx.Err() != nil {
		c.Close()
		return false
	}
	select {
	case slots <- struct{}{}:
	default:
		c.Close() // too many at once
		return true
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() { <-slots }()
		up, err := d.DialContext(ctx, "tcp", to)
		if err != nil {
			c.Close()
			return
		}
		splice(ctx, c, up)
	}()
	return true
}

// aliasName is what an alias on the run's network may look like: one
// lower-case DNS label.
var aliasName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// Expose makes the bench's own server at to (a host:port on loopback)
// reachable for the role, a container on the run's internal network, at
// alias:RelayPort, through a back relay (above) and nothing else; the
// run's other containers reach it there too. stop ends it; Stop of the
// candidate ends it in any case.
func (r *Role) Expose(ctx context.Context, alias, to string) (stop func(), err error) {
	if r.Spec == nil || r.Spec.Kind() != "image" || r.cand == nil {
		return nil, fmt.Errorf("exposing a server of the bench: role %s runs in no container of the run", r.Name)
	}
	return r.cand.expose(ctx, alias, to)
}

func (c *Candidate) expose(ctx context.Context, alias, to string) (stop func(), err error) {
	if c.network == nil || c.relay == "" {
		return nil, errors.New("exposing a server of the bench: the run has no container role")
	}
	if !aliasName.MatchString(alias) || slices.ContainsFunc(c.Roles, func(r *Role) bool { return r.Name == alias }) {
		return nil, fmt.Errorf("exposing a server of the bench: alias %q is no DNS label or is a role's name", alias)
	}
	host, _, err := net.SplitHostPort(to)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("exposing a server of the bench: %q is no address on loopback", to)
	}
	var k [16]byte
	if _, err := rand.Read(k[:]); err != nil {
		return nil, fmt.Errorf("exposing a server of the bench: %w", err)
	}
	key := hex.EncodeToString(k[:])
	labels := selfOwner().labels(c.RunID)
	labels["bcbench.role"] = alias
	var logger tclog.Logger = tclog.NewNoopLogger()
	if c.opts.Logf != nil {
		logger = tcLogger(c.opts.Logf)
	}
	disableRyuk()
	dc, control, err := startRelay(ctx, relayRequest{
		image: c.relay, access: c.network.access, internal: c.network.internal, aliases: []string{alias},
		args:   []string{"--listen", ":" + strconv.Itoa(RelayPort), "--back", ":" + strconv.Itoa(BackControlPort)},
		env:    map[string]string{BackKeyEnv: key},
		labels: labels, port: BackControlPort,
	}, logger)
	if err != nil {
		if dc != nil {
			_ = dc.Terminate(context.WithoutCancel(ctx), testcontainers.StopTimeout(0))
		}
		return nil, fmt.Errorf("starting the back relay %s: %w", alias, err)
	}
	c.logf("%s: the run's containers reach the bench's server at %s", alias, net.JoinHostPort(alias, strconv.Itoa(RelayPort)))
	end := dialBack(context.WithoutCancel(ctx), control, key, to)
	var once sync.Once
	stop = func() {
		once.Do(func() {
			end()
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
			defer cancel()
			_ = dc.Terminate(tctx, testcontainers.StopTimeout(0))
		})
	}
	c.exposedMu.Lock()
	c.exposed = append(c.exposed, stop)
	c.exposedMu.Unlock()
	return stop, nil
}
