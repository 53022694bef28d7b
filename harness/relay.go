package harness

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// How the bench reaches a container candidate (docs/design.md, "Isolation").
//
// A candidate container sits alone with the run's other candidate
// containers on an internal Docker network whose bridge has no address on
// the host (com.docker.network.bridge.inhibit_ipv4): no route out, not to
// the host, not to other networks. The bench reaches it through a relay:
// a container of the bench's own static binary (FROM scratch, `bcbench
// candidate relay`), attached to that internal network and to a second,
// ordinary network of the run on which its one port is published on
// 127.0.0.1. The relay forwards every connection to the candidate's port
// and nowhere else; the bench's recording proxy sits in front of it.

// RelayPort is the port the relay listens on inside its container.
const RelayPort = 8080

// maxRelayConns bounds the connections one relay carries at a time.
const maxRelayConns = 256

// Relay forwards every TCP connection accepted on ln to the address to,
// until ctx ends. It is the relay container's whole job.
func Relay(ctx context.Context, ln net.Listener, to string) error {
	return serveConns(ctx, ln, func(c net.Conn) { relayConn(ctx, c, to) })
}

// serveConns hands every connection accepted on ln to handle, at most
// maxRelayConns at a time (more are closed at once), until ctx ends or ln
// fails; it returns when every handle has.
func serveConns(ctx context.Context, ln net.Listener, handle func(net.Conn)) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	slots := make(chan struct{}, maxRelayConns)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("relay: %w", err)
		}
		select {
		case slots <- struct{}{}:
		default:
			c.Close() // too many at once
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			handle(c)
		}()
	}
}

func relayConn(ctx context.Context, c net.Conn, to string) {
	defer c.Close()
	d := net.Dialer{Timeout: 5 * time.Second}
	up, err := d.DialContext(ctx, "tcp", to)
	if err != nil {
		return
	}
	splice(ctx, c, up)
}

// splice carries the bytes of two connections both ways until both ends
// are done or ctx ends, and closes both.
func splice(ctx context.Context, c, up net.Conn) {
	defer c.Close()
	defer up.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	select {
	case <-done:
		<-done
	case <-ctx.Done():
	}
}

// staticLinux checks that bin can run in a FROM-scratch Linux container:
// a Linux ELF executable without a dynamic loader.
func staticLinux(bin string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("%s is not a Linux executable (%v)", bin, err)
	}
	defer f.Close()
	if f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return fmt.Errorf("%s is not a Linux executable", bin)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is linked dynamically (build it with CGO_ENABLED=0, as make build does)", bin)
		}
	}
	return nil
}

var relayMu sync.Mutex

// relayImage returns the relay image built from the static bench binary
// bin, building it when the engine does not have it yet. The tag names the
// binary's sha256, so a new bench builds a new relay and an old one is
// reused.
func relayImage(ctx context.Context, bin string) (string, error) {
	relayMu.Lock()
	defer relayMu.Unlock()
	if err := staticLinux(bin); err != nil {
		return "", fmt.Errorf("the relay that reaches container candidates needs a static Linux bcbench binary: %w; or set BCBENCH_RELAY_BIN to one", err)
	}
	sum, err := fileSHA256(bin)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", bin, err)
	}
	tag := "bcbench/relay:" + sum[:16]
	if imagePresent(ctx, tag) == nil {
		return tag, nil
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", bin, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dockerfile := "FROM scratch\nCOPY bcbench /bcbench\nUSER 65534:65534\nENTRYPOINT [\"/bcbench\", \"candidate\", \"relay\"]\n"
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"bcbench", 0o755, data}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}); err != nil {
			return "", err
		}
		if _, err := tw.Write(f.data); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	labels, _ := json.Marshal(map[string]string{"org.opencontainers.image.title": "bcbench relay", "bcbench.relay": "1"})
	q := url.Values{"t": {tag}, "rm": {"1"}, "forcerm": {"1"}, "labels": {string(labels)}}
	status, body, err := dockerDo(ctx, dockerHost(), http.MethodPost, "/build?"+q.Encode(), &dockerBody{r: &buf, ctype: "application/x-tar"})
	if err != nil {
		return "", fmt.Errorf("building the relay image: %w", err)
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("building the relay image: engine answered %d: %s", status, snippet(body))
	}
	// The answer is a stream of JSON messages; a failed build says so in one.
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		var msg struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &msg) == nil && msg.Error != "" {
			return "", fmt.Errorf("building the relay image: %s", strings.TrimSpace(msg.Error))
		}
	}
	if err := imagePresent(ctx, tag); err != nil {
		return "", fmt.Errorf("building the relay image: %w", err)
	}
	return tag, nil
}
