//go:build !unix

package objectstore

import "io/fs"

// inodeOf returns 0, which disables the inode check of sidecars, on
// systems without inode numbers in fs.FileInfo.
func inodeOf(fs.FileInfo) uint64 { return 0 }
