package index

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// These tests feed Build and Reader input that no camera writes on purpose
// but that a torn copy, a failing card or a crafted file can contain.

func TestBuildEmptyByteRange(t *testing.T) {
	table := ringTable()
	table.Slots[1][1].EndOffset = table.Slots[1][1].StartOffset

	_, err := Build("cam/index00.bin", encodeTable(table))

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "byte range [1000000, 1000000)")
}

func TestBuildReversedRangeInCurrentFile(t *testing.T) {
	table := ringTable()
	table.Slots[0][0].StartOffset = 900_000

	_, err := Build("cam/index00.bin", encodeTable(table))

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "live slot 0 of file 0 has byte range [900000, 800000)")
}

func TestBuildJustClosedReversedRejected(t *testing.T) {
	// A current slot whose end matches the record but whose range is
	// reversed is not taken as just closed, and then the record's last
	// closed time contradicts the closed slots.
	table := ringTable()
	table.Slots[0][1] = closedSlot(baseTime+1260, baseTime+1300, 1_500_000, 900_000)
	table.Header.Current[1].LastClosedTime = baseTime + 1300

	s, err := Build("cam/index00.bin", encodeTable(table))

	require.Nil(t, s)
	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "ended at 1748190100 but slot 0 ends at 1748190050")
}

func TestBuildMaxAVFilesInPreallocatedFile(t *testing.T) {
	// avFiles at 2^32-1 with a large zero tail must still be rejected by
	// size, not allocated.
	data := Encode(ringTable(), 4<<20)
	le.PutUint32(data[12:], 0xFFFFFFFF)

	_, err := Build("cam/index00.bin", data)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "avFiles is 4294967295 but the file's 4194304 bytes hold at most 204 files")
}

func TestBuildAcceptsSlotClaimingFourGiB(t *testing.T) {
	// Build checks ranges only against each other, so this passes it.
	// CheckBounds is the check that rejects it.
	table := ringTable()
	table.Slots[2][1].EndOffset = 0xFFFFFFFF

	s, err := Build("cam/index00.bin", encodeTable(table))
	require.NoError(t, err)

	err = s.CheckBounds(HivFileSize)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "ch01-hiv00002-slot001")
	require.ErrorContains(t, err, "[1000000, 4294967295) of hiv00002.mp4")
}

func TestCheckBoundsOffsetPastEnd(t *testing.T) {
	// Both offsets lie past the end of a small hiv file.
	table := ringTable()
	table.Slots[1][2].StartOffset = 5_000_000
	table.Slots[1][2].EndOffset = 6_000_000
	s := mustBuild(t, table)

	err := s.CheckBounds(4_000_000)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "test-index: segment ch01-hiv00001-slot002")
	require.ErrorContains(t, err, "past the end of a 4000000-byte hiv file")
}

func TestCheckBoundsEndAtFileSize(t *testing.T) {
	// The end offset is exclusive, so a segment may end exactly at the
	// size. The furthest segment of ringTable ends at 2,900,000.
	s := mustBuild(t, ringTable())

	require.NoError(t, s.CheckBounds(2_900_000))
	require.ErrorIs(t, s.CheckBounds(2_899_999), ErrFormat)
}

func TestCheckBoundsOpenPastEnd(t *testing.T) {
	table := ringTable()
	table.Slots[0][1].StartOffset = 2_900_000
	s := mustBuild(t, table)

	err := s.CheckBounds(2_900_000)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "open segment ch01-hiv00000-slot001")
}

func TestCheckBoundsCorpus(t *testing.T) {
	s, err := Build("corpus", loadCorpusIndex(t))
	require.NoError(t, err)

	require.NoError(t, s.CheckBounds(HivFileSize))
}

func TestReaderAllocationMaxAVFiles(t *testing.T) {
	// A header that claims 2^32-1 files must not make the Reader allocate
	// beyond the bytes that are really there.
	data := Encode(NewTable(2, 1), HeaderSize)
	le.PutUint32(data[12:], 0xFFFFFFFF)
	path := writeIndex(t, t.TempDir(), PrimaryName, data)

	var r Reader
	_, err := r.ReadFile(path)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "avFiles is 4294967295")
	require.LessOrEqual(t, cap(r.buf), HeaderSize)
}

func TestReaderAllocationSparseFile(t *testing.T) {
	// A sparse 64 MiB file whose header claims more files than fit: the
	// Reader reads the header only.
	path := filepath.Join(t.TempDir(), PrimaryName)
	f, err := os.Create(path)
	require.NoError(t, err)
	header := Encode(NewTable(2, 1), HeaderSize)
	le.PutUint32(header[12:], 100_000)
	_, err = f.Write(header)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(64<<20))
	require.NoError(t, f.Close())

	var r Reader
	_, err = r.ReadFile(path)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "avFiles is 100000")
	require.LessOrEqual(t, cap(r.buf), HeaderSize)
}

func TestReaderAllocationWithinFileSize(t *testing.T) {
	// A valid index in a pre-allocated file: the Reader reads the regions,
	// not the zero tail.
	data := Encode(ringTable(), 4<<20)
	path := writeIndex(t, t.TempDir(), PrimaryName, data)

	var r Reader
	_, err := r.ReadFile(path)

	require.NoError(t, err)
	require.LessOrEqual(t, cap(r.buf), RegionSize(3))
}

func TestReaderAllocationFileShrinks(t *testing.T) {
	// A file that the header says holds 3 files but that ends one slot
	// early is rejected before any read past its end.
	data := encodeTable(ringTable())
	path := writeIndex(t, t.TempDir(), PrimaryName, data[:len(data)-SlotSize])

	var r Reader
	_, err := r.ReadFile(path)

	require.ErrorIs(t, err, ErrFormat)
	require.LessOrEqual(t, cap(r.buf), len(data))
}
