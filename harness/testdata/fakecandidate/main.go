// Command fakecandidate is a tiny candidate for the harness's own tests: it
// answers the adapter's health endpoint and a CapabilityStatement, echoes
// requests, and can crash, hang or start children on request.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"
)

func main() {
	addr := flag.String("addr", "", "address to listen on (default 127.0.0.1:$PORT)")
	flag.Parse()
	if *addr == "" {
		*addr = "127.0.0.1:" + os.Getenv("PORT")
	}
	if os.Getenv("FAKE_EXIT_AT_START") != "" {
		fmt.Fprintln(os.Stderr, "fakecandidate: refusing to start: FAKE_EXIT_AT_START is set")
		os.Exit(4)
	}
	fmt.Printf("fakecandidate listening on %s\n", *addr)
	if os.Getenv("FAKE_PRINT_ENV") != "" {
		// What a careless candidate does: its whole environment in its log.
		for _, kv := range os.Environ() {
			fmt.Println("env:", kv)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bench/health", func(w http.ResponseWriter, r *http.Request) {
		if os.Getenv("FAKE_NEVER_HEALTHY") != "" {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		if want := os.Getenv("FAKE_TOKEN"); want != "" && r.Header.Get("Authorization") != "Bearer "+want {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /fhir/metadata", func(w http.ResponseWriter, r *http.Request) {
		if to := os.Getenv("FAKE_METADATA_REDIRECT"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		io.WriteString(w, `{"resourceType":"CapabilityStatement","status":"active","kind":"instance","fhirVersion":"4.0.1","software":{"name":"fakecandidate","version":"1.2.3"}}`)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Set-Cookie", "session=s3cr3t-cookie; Path=/")
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "auth": r.Header.Get("Authorization"), "body": string(body), "env": os.Getenv("FAKE_ECHO_ENV")})
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(os.Environ())
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("/fetch", func(w http.ResponseWriter, r *http.Request) {
		client := &http.Client{Timeout: 5 * time.Second}
		resp, err := client.Get(r.URL.Query().Get("url"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, io.LimitReader(resp.Body, 1<<20))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "text/plain")
		for i := 0; i < n; i++ {
			w.Write([]byte{'a' + byte(i%26)})
		}
	})
	mux.HandleFunc("/crash", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(os.Stderr, "fakecandidate: crashing on request")
		os.Exit(3)
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	})
	mux.HandleFunc("/spawn", func(w http.ResponseWriter, _ *http.Request) {
		self, _ := os.Executable()
		child := exec.Command(self, "--addr", "127.0.0.1:0")
		child.Env = append(os.Environ(), "FAKE_CHILD=1")
		if err := child.Start(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprint(w, child.Process.Pid)
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "fakecandidate:", err)
		os.Exit(1)
	}
}
