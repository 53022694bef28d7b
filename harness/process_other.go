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
