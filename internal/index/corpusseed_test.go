package index

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// readCorpusIndex returns the real index, or nil when the corpus folder is
// absent. Unlike loadCorpusIndex it does not skip, so fuzz targets can use it
// for a seed and still run without the corpus.
func readCorpusIndex() ([]byte, error) {
	f, err := os.Open(filepath.Join(corpusDir, "camera-a-v2-index00.bin.gz"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()

	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// corpusSeedFiles are the files of the real index kept in the fuzz seed: the
// oldest (43), the newest finished one (41) and the one being written (42).
// They carry stale slots, an open slot and the current-file record.
var corpusSeedFiles = []int{43, 41, 42}

// trimCorpus returns a valid index with only corpusSeedFiles of the real
// index, renumbered 0, 1, 2 in ring order, and no zero tail: about 62 KB in
// place of 16 MiB, the size of the synthetic seeds.
func trimCorpus(data []byte) ([]byte, error) {
	table, err := Decode("corpus", data)
	if err != nil {
		return nil, err
	}

	trimmed := &Table{Header: table.Header}
	renumber := make(map[uint32]uint32)
	for i, file := range corpusSeedFiles {
		renumber[uint32(file)] = uint32(i)
		record := table.Files[file]
		record.FileNo = uint32(i)
		trimmed.Files = append(trimmed.Files, record)
		trimmed.Slots = append(trimmed.Slots, table.Slots[file])
	}

	h := &trimmed.Header
	h.NextFileRecNo = renumber[h.NextFileRecNo]
	h.LastFileRecNo = renumber[h.LastFileRecNo]
	for i := range h.Current {
		if h.Current[i].Used {
			h.Current[i].FileNo = uint16(renumber[uint32(h.Current[i].FileNo)])
		}
	}
	return encodeTable(trimmed), nil
}

// addCorpusSeed adds the trimmed real index to f's seeds when the corpus is
// present.
func addCorpusSeed(f *testing.F) {
	data, err := readCorpusIndex()
	if err != nil {
		f.Fatalf("read corpus: %v", err)
	}
	if data == nil {
		return
	}

	seed, err := trimCorpus(data)
	if err != nil {
		f.Fatalf("trim corpus: %v", err)
	}
	f.Add(seed)
}

func TestTrimmedCorpusBuilds(t *testing.T) {
	seed, err := trimCorpus(loadCorpusIndex(t))
	require.NoError(t, err)
	require.Less(t, len(seed), 64<<10)

	s, err := Build("corpus-seed", seed)

	require.NoError(t, err)
	require.Equal(t, 3, s.Files)
	require.Equal(t, uint32(0), s.OldestFile)
	require.Equal(t, uint32(2), s.CurrentFile)
	require.NotNil(t, s.Open)
	require.Equal(t, uint32(2), s.Open.File)
	require.Equal(t, uint16(65), s.Open.Slot)
	require.Equal(t, uint32(0), s.Closed[0].File)
	require.Equal(t, uint32(2), s.Closed[len(s.Closed)-1].File)
}
