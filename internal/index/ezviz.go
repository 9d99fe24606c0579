package index

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrUnsupported matches errors for a storage layout that is recognised but
// not read yet.
var ErrUnsupported = errors.New("storage layout not supported")

// ezvizSignature starts the index slots of some EZVIZ battery cameras
// (reported for firmware V5.4 and later): "INFO" stored byte-reversed.
var ezvizSignature = []byte("OFNI")

// ezvizSlotSize is the distance between two EZVIZ slots, in bytes.
const ezvizSlotSize = 80

// maxEZVIZScan bounds how much of a file DetectEZVIZFile reads: the slots
// are found by searching, and index files seen so far are 16 MiB.
const maxEZVIZScan = 64 << 20

// EZVIZSlots returns the byte offsets of the OFNI slots in data: the
// occurrences of the signature that lie a multiple of 80 bytes after the
// first one.
func EZVIZSlots(data []byte) []int {
	var offsets []int
	for from := 0; ; {
		i := bytes.Index(data[from:], ezvizSignature)
		if i < 0 {
			return offsets
		}
		at := from + i
		if len(offsets) == 0 || (at-offsets[0])%ezvizSlotSize == 0 {
			offsets = append(offsets, at)
		}
		from = at + 1
	}
}

// DetectEZVIZ returns an error matching ErrUnsupported when data, the
// content of the index file name, holds the EZVIZ layout: at least two OFNI
// slots 80 bytes apart, or one in a file whose header is not a known
// Hikvision index. It returns nil otherwise.
//
// That layout uses 256 MiB blocks and global offsets (offset / 256 MiB is
// the hiv file number). It is known from one public extractor only, too
// little to read it safely, so hikarchive rejects it rather than guess.
func DetectEZVIZ(name string, data []byte) error {
	slots := EZVIZSlots(data)
	if len(slots) == 0 {
		return nil
	}
	if len(slots) == 1 {
		if _, err := checkRegions(name, data); err == nil {
			return nil // one chance match in a valid Hikvision index
		}
	}
	return fmt.Errorf("%s: found %d EZVIZ index slots (signature OFNI, first at byte %d); this EZVIZ layout is not supported yet: please send a copy of the file so it can be added: %w",
		name, len(slots), slots[0], ErrUnsupported)
}

// DetectEZVIZFile reads up to 64 MiB of the file at path, opened read-only,
// and calls DetectEZVIZ on it. A missing file is not an error.
func DetectEZVIZFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()

	data, err := io.ReadAll(io.LimitReader(f, maxEZVIZScan))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return DetectEZVIZ(path, data)
}
