//go:build !unix

package thumbnail

import "syscall"

func ownProcessGroup() *syscall.SysProcAttr { return nil }
