//go:build !linux

package testserver

import "syscall"

// childProcAttr returns nil: only Linux has a parent-death signal, so
// elsewhere a server left running by a crashed test binary must be killed
// by hand.
func childProcAttr() *syscall.SysProcAttr { return nil }
