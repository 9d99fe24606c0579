package index

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReadCorpus measures one scan of one camera: reading the real
// 16 MiB index (55 files, 2131 live segments) from the page cache and
// building its snapshot.
func BenchmarkReadCorpus(b *testing.B) {
	data := loadCorpusIndex(b)
	path := filepath.Join(b.TempDir(), PrimaryName)
	if err := os.WriteFile(path, data, 0o444); err != nil {
		b.Fatal(err)
	}

	var r Reader
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadFile(path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildCorpus measures parsing alone, from bytes in memory.
func BenchmarkBuildCorpus(b *testing.B) {
	data := loadCorpusIndex(b)

	b.ReportAllocs()
	b.SetBytes(int64(RegionSize(55)))
	for b.Loop() {
		if _, err := Build("corpus", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDiffCorpus measures diffing two snapshots of the real index, with
// the cursor at the newest segment (the common case of a poll that finds
// nothing new) and at the oldest (a scanner catching up on the whole ring).
func BenchmarkDiffCorpus(b *testing.B) {
	data := loadCorpusIndex(b)
	s, err := Build("corpus", data)
	if err != nil {
		b.Fatal(err)
	}

	b.Run("newest", func(b *testing.B) {
		cursor := CursorOf(s)
		b.ReportAllocs()
		for b.Loop() {
			DiffCursor(cursor, s)
		}
	})
	b.Run("oldest", func(b *testing.B) {
		first := s.Closed[0]
		cursor := Cursor{ModifyTimes: s.ModifyTimes, Last: &first}
		b.ReportAllocs()
		for b.Loop() {
			DiffCursor(cursor, s)
		}
	})
}
