package testserver

import "syscall"

// childProcAttr makes Linux kill the child when the thread that started it
// exits, so a server outlives no test binary.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
