// Command bcbench is the conformance test bench and certification harness for
// Dutch birth-care data exchange (Babyconnect).
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// Exit codes shared by every command.
const (
	exitPass  = 0 // verdict pass, or the command did what was asked
	exitFail  = 1 // verdict fail or incomplete; a check failed
	exitSetup = 2 // the bench could not run: bad flags, bad input, unreachable candidate
)

// exitError carries an exit code up to main with a one-line reason.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that main exits with code.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// commands lists constructors of the sub-commands; each file of this package
// that adds a command registers it in an init function.
var commands []func() *cobra.Command

func register(c func() *cobra.Command) { commands = append(commands, c) }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "bcbench",
		Short:         "Conformance test bench for Dutch birth-care data exchange (Babyconnect)",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withCode(exitSetup, err) })
	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}

func main() {
	os.Exit(execute(os.Args[1:]))
}

// execute runs the CLI and returns the exit code; errors print as one line.
func execute(args []string) int {
	root := newRoot()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitPass
	}
	fmt.Fprintln(os.Stderr, "bcbench:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitSetup
}
