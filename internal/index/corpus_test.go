package index

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// corpusDir holds real camera files outside the repository; they are never
// copied into it.
const corpusDir = "../../../shared/corpus"

// loadCorpusIndex returns the real version-2 index, or skips the test when
// the corpus folder is absent.
func loadCorpusIndex(tb testing.TB) []byte {
	tb.Helper()
	path := filepath.Join(corpusDir, "camera-a-v2-index00.bin.gz")
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		tb.Skipf("real camera corpus not found at %s; these checks run where ../shared/corpus exists", path)
	}
	require.NoError(tb, err)
	defer f.Close()

	zr, err := gzip.NewReader(f)
	require.NoError(tb, err)
	data, err := io.ReadAll(zr)
	require.NoError(tb, err)
	return data
}

// The expected values below were established by hand from the file with a
// separate script. It read the header fields, the file table, and for every
// file the slots up to segRecNums, or up to the current-file record's slot
// for the file being written.
func TestCorpusHeader(t *testing.T) {
	data := loadCorpusIndex(t)
	require.Len(t, data, 16<<20)

	table, err := Decode("corpus", data)
	require.NoError(t, err)

	require.Equal(t, uint64(482619), table.Header.ModifyTimes)
	require.Equal(t, uint32(2), table.Header.Version)
	require.Equal(t, uint32(55), table.Header.AVFiles)
	require.Equal(t, uint32(43), table.Header.NextFileRecNo)
	require.Equal(t, uint32(42), table.Header.LastFileRecNo)
	require.Equal(t, uint32(28934), table.Header.Checksum)

	used := 0
	for i, c := range table.Header.Current {
		if !c.Used {
			continue
		}
		used++
		require.Equal(t, 1, i, "the used current-file record is record 1")
		require.Equal(t, uint16(42), c.FileNo)
		require.Equal(t, uint16(65), c.Slot)
		require.Equal(t, uint32(1748190748), c.StartTime)
		require.Equal(t, uint32(1748213876), c.LastClosedTime)
		require.Equal(t, uint32(1), c.Channel)
	}
	require.Equal(t, 1, used)
}

func TestCorpusRoundTrip(t *testing.T) {
	data := loadCorpusIndex(t)

	table, err := Decode("corpus", data)
	require.NoError(t, err)

	encoded := Encode(table, len(data))
	require.Equal(t, len(data), len(encoded))
	for i := range data {
		if data[i] != encoded[i] {
			t.Fatalf("encoded index differs from the original at byte %d: %#x, want %#x", i, encoded[i], data[i])
		}
	}
}

func TestCorpusSnapshot(t *testing.T) {
	data := loadCorpusIndex(t)

	snapshot, err := Build("corpus", data)
	require.NoError(t, err)

	require.Len(t, snapshot.Closed, 2131, "live closed segments")
	require.Equal(t, uint32(43), snapshot.OldestFile)
	require.Equal(t, uint32(42), snapshot.CurrentFile)

	first := snapshot.Closed[0]
	require.Equal(t, uint32(43), first.File)
	require.Equal(t, uint16(0), first.Slot)
	require.Equal(t, PackTime(1745627062, 787000), first.Start)
	require.Equal(t, uint32(4167072), first.EndOffset)

	last := snapshot.Closed[len(snapshot.Closed)-1]
	require.Equal(t, uint32(42), last.File)
	require.Equal(t, uint16(64), last.Slot)
	require.Equal(t, PackTime(1748213876, 819000), last.End)
	require.Equal(t, uint32(188343052), last.EndOffset)

	require.NotNil(t, snapshot.Open)
	require.Equal(t, uint32(42), snapshot.Open.File)
	require.Equal(t, uint16(65), snapshot.Open.Slot)
	require.Equal(t, PackTime(1748213903, 0), snapshot.Open.Start)
	require.Equal(t, uint32(188350464), snapshot.Open.StartOffset)
	require.Equal(t, uint16(1), snapshot.Open.Channel)
}

func TestCorpusRingOrder(t *testing.T) {
	data := loadCorpusIndex(t)
	snapshot, err := Build("corpus", data)
	require.NoError(t, err)

	// Files appear in ring order from the oldest (43) round to the one
	// being written (42), and times never go backwards along the ring.
	wantFile := uint32(43)
	for i, s := range snapshot.Closed {
		if s.File != wantFile {
			require.Equal(t, (wantFile+1)%55, s.File, "segment %d breaks ring order", i)
			wantFile = s.File
		}
		if i > 0 {
			previous := snapshot.Closed[i-1]
			require.False(t, s.Start.Wall().Before(previous.End.Wall()), "segment %s starts before %s ends", s.Key(), previous.Key())
		}
	}
	require.Equal(t, uint32(42), wantFile)
}

func TestCorpusNoStaleSlot(t *testing.T) {
	data := loadCorpusIndex(t)
	table, err := Decode("corpus", data)
	require.NoError(t, err)
	snapshot, err := Build("corpus", data)
	require.NoError(t, err)

	// Public parsers list every slot with an end time: 5492 here, most of
	// them overwritten long ago.
	withEnd := 0
	for i := range table.Slots {
		for j := range table.Slots[i] {
			if !table.Slots[i][j].End.IsZero() {
				withEnd++
			}
		}
	}
	require.Equal(t, 5492, withEnd)

	for _, s := range snapshot.Closed {
		record := table.Files[s.File]
		if s.File == 42 {
			require.Less(t, s.Slot, uint16(65), "slot %s is past the current-file record", s.Key())
			continue
		}
		require.LessOrEqual(t, s.Slot, record.SegRecNums, "slot %s is past segRecNums", s.Key())
		require.GreaterOrEqual(t, s.Start.Seconds(), record.StartTime, "slot %s starts before its file", s.Key())
		require.LessOrEqual(t, s.End.Seconds(), record.EndTime, "slot %s ends after its file", s.Key())
	}

	// Known stale slots: the one after the open slot of file 42, and the
	// first slot past segRecNums of files 41 and 43.
	for _, stale := range []Key{
		{Channel: 1, File: 42, Slot: 66, Start: PackTime(1706876475, 101000)},
		{Channel: 1, File: 41, Slot: 48, Start: PackTime(1724199990, 37000)},
		{Channel: 1, File: 43, Slot: 23, Start: table.Slots[43][23].Start},
	} {
		_, found := snapshot.Find(stale)
		require.False(t, found, "stale slot %s reported as live", stale)
	}
}
