//go:build unix

package harness

import (
	"errors"
	"os/exec"
	"syscall"
)

// ownGroup puts the program in a process group of its own, so that Stop
// reaches the children it starts; on Linux it also dies with the bench.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(cmd.SysProcAttr)
}

// signalGroup sends SIGTERM (or SIGKILL) to the process group led by pid.
func signalGroup(pid int, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-pid, sig)
}

// pidExists reports whether a process with this pid exists, also one of
// another user.
func pidExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// killPID sends SIGKILL to one process.
func killPID(pid int) { _ = syscall.Kill(pid, syscall.SIGKILL) }
