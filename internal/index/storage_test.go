package index

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func infoBytes(datadirs uint32) []byte {
	b := make([]byte, infoSize)
	copy(b, "DS-2CD2143G2-I20250101AAWRJ12345678")
	copy(b[48:], []byte{0x44, 0x19, 0xb6, 0x01, 0x02, 0x03})
	binary.LittleEndian.PutUint32(b[56:], 4096)
	binary.LittleEndian.PutUint32(b[60:], 1_000_000)
	binary.LittleEndian.PutUint32(b[64:], datadirs)
	return b
}

func TestParseInfo(t *testing.T) {
	info, err := ParseInfo("info.bin", infoBytes(2))

	require.NoError(t, err)
	require.Equal(t, "DS-2CD2143G2-I20250101AAWRJ12345678", info.Serial)
	require.Equal(t, "44:19:b6:01:02:03", info.MAC.String())
	require.Equal(t, uint32(4096), info.BlockSize)
	require.Equal(t, uint32(1_000_000), info.BlockCount)
	require.Equal(t, uint32(2), info.Datadirs)
}

func TestParseInfoInvalid(t *testing.T) {
	_, err := ParseInfo("share/info.bin", infoBytes(2)[:40])
	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "share/info.bin: offset 40")

	_, err = ParseInfo("share/info.bin", infoBytes(0xFFFFFFFF))
	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "lists 4294967295 datadirs")
}

func TestOpenStorageSDCard(t *testing.T) {
	root := t.TempDir()
	writeIndex(t, root, PrimaryName, encodeTable(ringTable()))

	storage, err := OpenStorage(root)

	require.NoError(t, err)
	require.Nil(t, storage.Info)
	require.Equal(t, []Datadir{{Name: FlatDatadir, Path: root}}, storage.Datadirs)
}

func TestOpenStorageShare(t *testing.T) {
	root := t.TempDir()
	writeIndex(t, root, InfoName, infoBytes(2))
	for _, name := range []string{"datadir0", "datadir1"} {
		require.NoError(t, os.Mkdir(filepath.Join(root, name), 0o755))
	}

	storage, err := OpenStorage(root)

	require.NoError(t, err)
	require.Equal(t, uint32(2), storage.Info.Datadirs)
	require.Len(t, storage.Datadirs, 2)
	d, ok := storage.Datadir("datadir1")
	require.True(t, ok)
	require.Equal(t, filepath.Join(root, "datadir1"), d.Path)
}

func TestOpenStorageMissingDatadir(t *testing.T) {
	root := t.TempDir()
	writeIndex(t, root, InfoName, infoBytes(2))
	require.NoError(t, os.Mkdir(filepath.Join(root, "datadir0"), 0o755))

	_, err := OpenStorage(root)

	require.ErrorContains(t, err, "datadir1 is missing")
}

func TestOpenStorageMissingFolder(t *testing.T) {
	_, err := OpenStorage(filepath.Join(t.TempDir(), "unmounted"))

	require.ErrorContains(t, err, "does not exist: mount the SD card or NAS share there")
}

func TestOpenStorageFile(t *testing.T) {
	path := writeIndex(t, t.TempDir(), PrimaryName, []byte("x"))

	_, err := OpenStorageAny(path)

	require.ErrorContains(t, err, "is a file, not a folder")
}

func TestOpenStorageEmptyFolder(t *testing.T) {
	root := t.TempDir()

	_, err := OpenStorage(root)

	require.ErrorContains(t, err, "check that the SD card or NAS share is mounted")
}
