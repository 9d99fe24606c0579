package index

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func writeIndex(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, data, 0o444))
	return path
}

func TestReadFilePreallocated(t *testing.T) {
	// Cameras pre-allocate the index: zeros follow the segment table.
	dir := t.TempDir()
	path := writeIndex(t, dir, PrimaryName, Encode(ringTable(), 1<<20))

	var r Reader
	s, err := r.ReadFile(path)

	require.NoError(t, err)
	require.Len(t, s.Closed, 6)
	require.Equal(t, path, s.File)
}

func TestReadFileTruncated(t *testing.T) {
	dir := t.TempDir()
	data := encodeTable(ringTable())
	path := writeIndex(t, dir, PrimaryName, data[:len(data)/2])

	var r Reader
	_, err := r.ReadFile(path)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, "avFiles is 3")
}

func TestReadFileMissing(t *testing.T) {
	var r Reader
	_, err := r.ReadFile(filepath.Join(t.TempDir(), PrimaryName))

	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, PrimaryName)
}

func TestReadDatadirFallsBackToCopy(t *testing.T) {
	dir := t.TempDir()
	writeIndex(t, dir, PrimaryName, make([]byte, 4096))
	backup := writeIndex(t, dir, BackupName, encodeTable(ringTable()))

	var r Reader
	s, err := r.ReadDatadir(dir)

	require.NoError(t, err)
	require.Equal(t, backup, s.File)
	require.Len(t, s.Closed, 6)
}

func TestReadDatadirBothInvalid(t *testing.T) {
	dir := t.TempDir()
	writeIndex(t, dir, PrimaryName, make([]byte, 4096))

	var r Reader
	_, err := r.ReadDatadir(dir)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "header is zero-filled")
	require.ErrorContains(t, err, BackupName)
}

func TestReaderReusesBuffer(t *testing.T) {
	dir := t.TempDir()
	path := writeIndex(t, dir, PrimaryName, encodeTable(ringTable()))

	var r Reader
	first, err := r.ReadFile(path)
	require.NoError(t, err)
	second, err := r.ReadFile(path)
	require.NoError(t, err)

	// Snapshots must not alias the reused buffer.
	require.Equal(t, first, second)
}
