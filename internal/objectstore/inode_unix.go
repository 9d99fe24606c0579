//go:build unix

package objectstore

import (
	"io/fs"
	"syscall"
)

// inodeOf returns the inode number of a file, which a rename keeps.
func inodeOf(info fs.FileInfo) uint64 {
	if stat, ok := info.Sys().(*syscall.Stat_t); ok {
		return stat.Ino
	}
	return 0
}
