package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/bcbench/bcbench/harness"
	"github.com/bcbench/bcbench/profiles/terminology"
	"github.com/bcbench/bcbench/profiles/tx"
)

// txFlagHelp is the help text of --tx on run and validate.
const txFlagHelp = "FHIR terminology server (base URL) asked what the packages and the bench's membership table cannot decide (ValueSet/$validate-code, CodeSystem/$lookup); default: $" + tx.Env + "; none: undecided codes stay undecided"

// txBase is the terminology server to use: the flag, else the environment.
func txBase(flag string) string {
	if flag != "" {
		return flag
	}
	return os.Getenv(tx.Env)
}

// checkTx refuses a terminology server URL that is not an http(s) base,
// before anything starts.
func checkTx(base string) error {
	if base == "" {
		return nil
	}
	if _, err := tx.New(base, tx.Options{CacheDir: "off"}); err != nil {
		return fmt.Errorf("--tx: %w", err)
	}
	return nil
}

// txSession is a terminology server used in a run: the client, and the
// recording proxy its requests go through, so that every exchange is
// evidence (evidence/tx.har) beside the client's log of every answer,
// cached ones too (evidence/tx-answers.json).
type txSession struct {
	client *tx.Client
	proxy  *harness.Proxy
	done   bool
}

// startTx starts the session for a run; a nil session (no server) is valid.
func startTx(base string) (*txSession, error) {
	if base == "" {
		return nil, nil
	}
	token := os.Getenv(tx.TokenEnv)
	p, err := harness.NewProxy(base, harness.ProxyOptions{Role: "tx", BenchVersion: version, RequestTimeout: tx.DefaultTimeout, Secrets: []string{token}})
	if err != nil {
		return nil, fmt.Errorf("terminology server: %w", err)
	}
	// The proxy adds the server's path itself: the client sends to its root.
	via, err := url.Parse(p.URL())
	if err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("terminology server: %w", err)
	}
	via.Path = ""
	c, err := tx.New(base, tx.Options{Via: via.String(), Token: token})
	if err != nil {
		_ = p.Close()
		return nil, err
	}
	return &txSession{client: c, proxy: p}, nil
}

// remote is the client, or nil without a session.
func (s *txSession) remote() terminology.Remote {
	if s == nil {
		return nil
	}
	return s.client
}

// finish writes the evidence and stops the proxy, once; it returns a
// summary of what the server was asked and what went wrong writing it.
func (s *txSession) finish(evidenceDir string) (summary string, problem error) {
	if s == nil || s.done {
		return "", nil
	}
	s.done = true
	errs := []error{
		s.client.WriteAnswers(filepath.Join(evidenceDir, "tx-answers.json")),
		s.proxy.WriteHAR(filepath.Join(evidenceDir, "tx.har")),
		s.proxy.Close(),
	}
	return s.client.Summary(), errors.Join(errs...)
}
