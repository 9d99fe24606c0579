package index

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Names of the two copies of the binary index in a datadir.
const (
	PrimaryName = "index00.bin"
	BackupName  = "index01.bin"
)

// ErrTorn reports an index that changed while it was read.
var ErrTorn = errors.New("index changed while it was read")

// readAttempts bounds how often a read that raced a camera write is retried.
const readAttempts = 3

// Reader reads index files, reusing one buffer across reads so that a scanner
// polling many cameras does not allocate the segment table every time. A
// Reader is not safe for concurrent use.
type Reader struct {
	buf []byte
}

// ReadFile reads and parses the binary index at path, opened read-only. A read
// whose header write counter (modifyTimes) changed between the start and the
// end is retried, and reported as ErrTorn if it keeps racing the camera.
func (r *Reader) ReadFile(path string) (*Snapshot, error) {
	var lastErr error
	for attempt := 0; attempt < readAttempts; attempt++ {
		snapshot, err := r.readOnce(path)
		if !errors.Is(err, ErrTorn) {
			return snapshot, err
		}
		lastErr = err
	}
	return nil, lastErr
}

func (r *Reader) readOnce(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open index: %w", err)
	}
	defer f.Close()

	data, err := r.readRegions(path, f)
	if err != nil {
		return nil, err
	}

	snapshot, buildErr := Build(path, data)

	// The camera bumps modifyTimes on every write, so an unchanged counter
	// after the read means the bytes above come from one write, as far as
	// the counter can tell.
	var counter [8]byte
	if _, err := f.ReadAt(counter[:], 0); err != nil {
		return nil, fmt.Errorf("read index %s again: %w", path, err)
	}
	if after := le.Uint64(counter[:]); after != le.Uint64(data) {
		return nil, fmt.Errorf("%s: modifyTimes went from %d to %d during the read: %w", path, le.Uint64(data), after, ErrTorn)
	}
	return snapshot, buildErr
}

// readRegions reads header, file table and segment table into r.buf. The
// size comes from avFiles, checked against the file's real size so that a
// hostile count cannot make it allocate more than the file holds.
func (r *Reader) readRegions(path string, f *os.File) ([]byte, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat index: %w", err)
	}

	header := r.grow(HeaderSize)
	if n, err := f.ReadAt(header, 0); n < HeaderSize {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, formatError(path, n, "header", "file is %d bytes, shorter than the %d-byte header", info.Size(), HeaderSize)
		}
		return nil, fmt.Errorf("read index header %s: %w", path, err)
	}

	avFiles := int64(le.Uint32(header[12:]))
	need := int64(HeaderSize) + avFiles*(FileRecordSize+SlotsPerFile*SlotSize)
	if avFiles == 0 || need > info.Size() {
		// Build reports the bad count with its offset and the real size.
		return header, nil
	}

	data := r.grow(int(need))
	if n, err := f.ReadAt(data, 0); int64(n) < need {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, formatError(path, n, "segment table", "file ended at byte %d, before the %d bytes its %d files need", n, need, avFiles)
		}
		return nil, fmt.Errorf("read index %s: %w", path, err)
	}
	return data, nil
}

func (r *Reader) grow(n int) []byte {
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	return r.buf[:n]
}

// ReadDatadir reads the index of one datadir: index00.bin, or its copy
// index01.bin when index00.bin is missing, invalid or torn. The error of
// index00.bin is returned when neither copy can be used.
func (r *Reader) ReadDatadir(dir string) (*Snapshot, error) {
	primary, err := r.ReadFile(filepath.Join(dir, PrimaryName))
	if err == nil {
		return primary, nil
	}

	backup, backupErr := r.ReadFile(filepath.Join(dir, BackupName))
	if backupErr == nil {
		return backup, nil
	}
	return nil, fmt.Errorf("%w (the copy %s failed too: %v)", err, BackupName, backupErr)
}
