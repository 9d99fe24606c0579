//go:build unix

package thumbnail

import "syscall"

// ownProcessGroup puts ffmpeg in a process group of its own, so that Ctrl-C
// in a terminal, or a service manager signalling the whole group, does not
// kill it in the middle of a thumbnail. The archiver stops it through its
// context instead, and treats that as a retry rather than a bad stream.
func ownProcessGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
