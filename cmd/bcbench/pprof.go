package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
)

// pprofEnv names a loopback address (e.g. 127.0.0.1:6060) on which bcbench
// serves Go's runtime profiles (/debug/pprof/) while it runs: how the
// bench's own memory and time are measured under load (docs/timeliness.md).
const pprofEnv = "BCBENCH_PPROF"

func init() {
	addr := os.Getenv(pprofEnv)
	if addr == "" {
		return
	}
	if err := servePprof(addr); err != nil {
		fmt.Fprintf(os.Stderr, "bcbench: %s: %v\n", pprofEnv, err)
	}
}

// servePprof serves the runtime profiles on a loopback address only.
func servePprof(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("reading address %q: %w", addr, err)
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not a loopback address", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	go http.Serve(l, mux) //nolint:errcheck,gosec // a debugging aid that lives as long as the process
	return nil
}
