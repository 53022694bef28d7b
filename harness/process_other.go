//go:build !unix

package harness

import (
	"os"
	"os/exec"
)

func ownGroup(*exec.Cmd) {}

// signalGroup cannot reach a group here: the leader is killed alone.
func signalGroup(pid int, _ bool) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

// pidExists reports whether a process with this pid exists.
func pidExists(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}

// killPID ends one process.
func killPID(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
