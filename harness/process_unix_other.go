//go:build unix && !linux

package harness

import "syscall"

func setDeathSignal(*syscall.SysProcAttr) {}
