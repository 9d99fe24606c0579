package index

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// No real record_db_index00 is available. These tests build databases with
// the known columns of record_segment_idx_tb, plus an id and a column this
// package does not read, as firmware has more columns than are known.

// row is one row of record_segment_idx_tb in a test database.
type row struct {
	file, startOffset, endOffset, start, end, recordType int64
}

func createRecordDB(t *testing.T, dir string, rows []row) string {
	t.Helper()
	path := filepath.Join(dir, SQLiteName)
	db, err := sql.Open("sqlite", path+"?_pragma=synchronous(OFF)")
	require.NoError(t, err)
	defer db.Close()

	tx, err := db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec(`CREATE TABLE record_segment_idx_tb (
		id INTEGER PRIMARY KEY,
		file_no INTEGER, start_offset INTEGER, end_offset INTEGER,
		start_time_tv_sec INTEGER, end_time_tv_sec INTEGER,
		record_type INTEGER, lock_flag INTEGER DEFAULT 0)`)
	require.NoError(t, err)
	for _, r := range rows {
		_, err := tx.Exec(`INSERT INTO record_segment_idx_tb
			(file_no, start_offset, end_offset, start_time_tv_sec, end_time_tv_sec, record_type)
			VALUES (?, ?, ?, ?, ?, ?)`, r.file, r.startOffset, r.endOffset, r.start, r.end, r.recordType)
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
	return path
}

// ringRows describes the same ring as ringTable: three files, file 1 the
// oldest, file 0 being written with one closed and one open segment. Each
// file carries a stale row from an earlier cycle and unused rows.
func ringRows() []row {
	const b = baseTime
	return []row{
		// Unused rows, as pre-allocated tables have.
		{0, 0, 0, 0, 0, 0},
		{2, 0, 0, 0, 0, 0},
		// File 1, the oldest: three live rows and a stale one.
		{1, 500_000, 900_000, b - 100_000, b - 99_950, 1},
		{1, 0, 900_000, b, b + 50, 1},
		{1, 1_000_000, 1_900_000, b + 60, b + 110, 1},
		{1, 2_000_000, 2_900_000, b + 120, b + 170, 1},
		// File 2: two live rows and a stale one.
		{2, 0, 900_000, b + 600, b + 650, 1},
		{2, 1_000_000, 1_900_000, b + 660, b + 710, 1},
		{2, 1_500_000, 1_600_000, b - 200_000, b - 199_000, 1},
		// File 0, being written: a closed row, the open row, a stale row.
		{0, 0, 800_000, b + 1200, b + 1250, 1},
		{0, 800_256, 0, b + 1260, 0, 1},
		{0, 100, 200, b - 200_000, b - 199_950, 1},
	}
}

func TestReadSQLiteRing(t *testing.T) {
	path := createRecordDB(t, t.TempDir(), ringRows())

	s, err := ReadSQLite(path)
	require.NoError(t, err)

	var got []string
	for _, seg := range s.Closed {
		got = append(got, seg.Key().String())
	}
	require.Equal(t, []string{
		"ch01-hiv00001-slot000-1748188800000000",
		"ch01-hiv00001-slot001-1748188860000000",
		"ch01-hiv00001-slot002-1748188920000000",
		"ch01-hiv00002-slot000-1748189400000000",
		"ch01-hiv00002-slot001-1748189460000000",
		"ch01-hiv00000-slot000-1748190000000000",
	}, got)
	require.Equal(t, path, s.File)
	require.Equal(t, VersionSQLite, int(s.Version))
	require.Equal(t, 3, s.Files)
	require.Equal(t, uint32(1), s.OldestFile)
	require.Equal(t, uint32(0), s.CurrentFile)

	require.NotNil(t, s.Open)
	require.True(t, s.Open.Open)
	require.Equal(t, uint32(0), s.Open.File)
	require.Equal(t, uint16(1), s.Open.Slot)
	require.Equal(t, uint32(800_256), s.Open.StartOffset)
	require.Equal(t, PackTime(baseTime+1260, 0), s.Open.Start)
}

func TestReadSQLiteMatchesBinary(t *testing.T) {
	// The same ring from both formats gives the same segments, apart from
	// the microseconds the known SQLite columns lack.
	binary := mustBuild(t, ringTable())
	s, err := ReadSQLite(createRecordDB(t, t.TempDir(), ringRows()))
	require.NoError(t, err)

	require.Len(t, s.Closed, len(binary.Closed))
	for i := range s.Closed {
		want := binary.Closed[i]
		got := s.Closed[i]
		require.Equal(t, want.File, got.File, "segment %d", i)
		require.Equal(t, want.Slot, got.Slot, "segment %d", i)
		require.Equal(t, want.Start.Seconds(), got.Start.Seconds(), "segment %d", i)
		require.Equal(t, want.End.Seconds(), got.End.Seconds(), "segment %d", i)
		require.Equal(t, want.StartOffset, got.StartOffset, "segment %d", i)
		require.Equal(t, want.EndOffset, got.EndOffset, "segment %d", i)
	}
	require.Equal(t, binary.Open.Key(), s.Open.Key())
	require.Equal(t, binary.OldestFile, s.OldestFile)
	require.Equal(t, binary.CurrentFile, s.CurrentFile)
}

func TestReadSQLiteDiffWorks(t *testing.T) {
	// A scanner diffs SQLite snapshots exactly like binary ones.
	dir := t.TempDir()
	first, err := ReadSQLite(createRecordDB(t, dir, ringRows()))
	require.NoError(t, err)

	rows := ringRows()
	rows[10] = row{0, 800_256, 1_500_000, baseTime + 1260, baseTime + 1300, 1}
	rows = append(rows, row{0, 1_500_100, 0, baseTime + 1310, 0, 1})
	second, err := ReadSQLite(createRecordDB(t, t.TempDir(), rows))
	require.NoError(t, err)

	change := Diff(first, second)

	require.Len(t, change.Closed, 1)
	require.Equal(t, uint16(1), change.Closed[0].Slot)
	require.Equal(t, uint32(1_500_000), change.Closed[0].EndOffset)
	require.Empty(t, change.Lost)
	require.Nil(t, change.Gap)
	require.Equal(t, uint16(2), second.Open.Slot)
}

func TestReadSQLiteFirstCycle(t *testing.T) {
	path := createRecordDB(t, t.TempDir(), []row{
		{0, 0, 900_000, baseTime, baseTime + 50, 1},
		{0, 1_000_000, 0, baseTime + 60, 0, 1},
	})

	s, err := ReadSQLite(path)

	require.NoError(t, err)
	require.Equal(t, uint32(0), s.OldestFile)
	require.Equal(t, uint32(0), s.CurrentFile)
	require.Len(t, s.Closed, 1)
	require.NotNil(t, s.Open)
}

func TestReadSQLiteEmpty(t *testing.T) {
	path := createRecordDB(t, t.TempDir(), []row{{0, 0, 0, 0, 0, 0}})

	s, err := ReadSQLite(path)

	require.NoError(t, err)
	require.Empty(t, s.Closed)
	require.Nil(t, s.Open)
}

func TestReadSQLiteMicroseconds(t *testing.T) {
	path := filepath.Join(t.TempDir(), SQLiteName)
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE record_segment_idx_tb (file_no, start_offset, end_offset,
		start_time_tv_sec, start_time_tv_usec, end_time_tv_sec, end_time_tv_usec, record_type)`)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO record_segment_idx_tb VALUES (0, 0, 900000, ?, 250000, ?, 750000, 1)`, baseTime, baseTime+50)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s, err := ReadSQLite(path)

	require.NoError(t, err)
	require.Equal(t, PackTime(baseTime, 250_000), s.Closed[0].Start)
	require.Equal(t, PackTime(baseTime+50, 750_000), s.Closed[0].End)
}

func TestReadSQLiteLeavesCameraFileAlone(t *testing.T) {
	dir := t.TempDir()
	path := createRecordDB(t, dir, ringRows())
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	info, err := os.Stat(path)
	require.NoError(t, err)

	_, err = ReadSQLite(path)
	require.NoError(t, err)

	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, before, after, "the camera's file must not change")
	infoAfter, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, info.ModTime(), infoAfter.ModTime())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no journal, log or shared-memory file may appear beside the camera's file")
}

func TestReadSQLiteTornCopy(t *testing.T) {
	dir := t.TempDir()
	path := createRecordDB(t, dir, ringRows())
	writes := 0
	afterSQLiteCopy = func() {
		// The camera appends a row during every copy.
		writes++
		db, err := sql.Open("sqlite", path)
		require.NoError(t, err)
		defer db.Close()
		_, err = db.Exec(`INSERT INTO record_segment_idx_tb (file_no, record_type) VALUES (0, 0)`)
		require.NoError(t, err)
	}
	t.Cleanup(func() { afterSQLiteCopy = func() {} })

	_, err := ReadSQLite(path)

	require.ErrorIs(t, err, ErrTorn)
	require.ErrorContains(t, err, path)
	require.Equal(t, readAttempts, writes, "every attempt raced a write")
}

func TestReadSQLiteRetriesOnce(t *testing.T) {
	dir := t.TempDir()
	path := createRecordDB(t, dir, ringRows())
	writes := 0
	afterSQLiteCopy = func() {
		if writes > 0 {
			return
		}
		writes++
		db, err := sql.Open("sqlite", path)
		require.NoError(t, err)
		defer db.Close()
		_, err = db.Exec(`INSERT INTO record_segment_idx_tb (file_no, record_type) VALUES (0, 0)`)
		require.NoError(t, err)
	}
	t.Cleanup(func() { afterSQLiteCopy = func() {} })

	s, err := ReadSQLite(path)

	require.NoError(t, err)
	require.Len(t, s.Closed, 6)
}

func TestReadSQLiteCorruptPage(t *testing.T) {
	// A copy torn below the resolution of size and time: the second page
	// is garbage.
	path := createRecordDB(t, t.TempDir(), ringRows())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(data), 8192)
	for i := 4096; i < 8192; i++ {
		data[i] = 0xA5
	}
	require.NoError(t, os.WriteFile(path, data, 0o644))

	_, err = ReadSQLite(path)

	require.ErrorIs(t, err, ErrTorn)
	require.ErrorContains(t, err, path)
}

func TestReadSQLiteNotSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), SQLiteName)
	require.NoError(t, os.WriteFile(path, encodeTable(ringTable()), 0o644))

	_, err := ReadSQLite(path)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "not an SQLite database")
}

func TestReadSQLiteMissingTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), SQLiteName)
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE other (x)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	_, err = ReadSQLite(path)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "table record_segment_idx_tb not found")
}

func TestReadSQLiteMissingColumn(t *testing.T) {
	path := filepath.Join(t.TempDir(), SQLiteName)
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE record_segment_idx_tb (file_no, start_offset, end_offset, start_time_tv_sec, record_type)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	_, err = ReadSQLite(path)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "has no column end_time_tv_sec")
}

func TestReadSQLiteRejectsBadRows(t *testing.T) {
	cases := []struct {
		name    string
		rows    []row
		message string
	}{
		{"offset beyond 32 bits", []row{{0, 0, 1 << 33, baseTime, baseTime + 50, 1}}, "end_offset 8589934592, outside 0..4294967295"},
		{"negative offset", []row{{0, -5, 100, baseTime, baseTime + 50, 1}}, "start_offset -5"},
		{"file number too large", []row{{100_000, 0, 100, baseTime, baseTime + 50, 1}}, "file_no 100000"},
		{"reversed range", []row{{0, 900, 100, baseTime, baseTime + 50, 1}}, "byte range [900, 100)"},
		{"closed without end time", []row{{0, 0, 100, baseTime, 0, 1}}, "has start 1748188800 and end 0"},
		{"open row in finished file", []row{
			{1, 0, 0, baseTime, 0, 1},
			{0, 0, 100, baseTime + 60, baseTime + 100, 1},
		}, "row 0 of file 1 has end_offset 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := createRecordDB(t, t.TempDir(), tc.rows)

			s, err := ReadSQLite(path)

			require.Nil(t, s)
			require.ErrorIs(t, err, ErrFormat)
			require.ErrorContains(t, err, path)
			require.ErrorContains(t, err, tc.message)
		})
	}
}

func TestReadSQLiteMissing(t *testing.T) {
	_, err := ReadSQLite(filepath.Join(t.TempDir(), SQLiteName))

	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, SQLiteName)
}

func TestReadDatadirAnyPrefersSQLite(t *testing.T) {
	dir := t.TempDir()
	writeIndex(t, dir, PrimaryName, encodeTable(ringTable()))
	path := createRecordDB(t, dir, ringRows()[:6])

	var r Reader
	s, err := r.ReadDatadirAny(dir)

	require.NoError(t, err)
	require.Equal(t, path, s.File)
	require.Len(t, s.Closed, 3, "the three live rows of file 1, not the six binary slots")
}

func TestReadDatadirAnyBinary(t *testing.T) {
	dir := t.TempDir()
	path := writeIndex(t, dir, PrimaryName, encodeTable(ringTable()))

	var r Reader
	s, err := r.ReadDatadirAny(dir)

	require.NoError(t, err)
	require.Equal(t, path, s.File)
	require.Len(t, s.Closed, 6)
}

func TestReadDatadirAnyNoFallback(t *testing.T) {
	dir := t.TempDir()
	writeIndex(t, dir, PrimaryName, encodeTable(ringTable()))
	require.NoError(t, os.WriteFile(filepath.Join(dir, SQLiteName), []byte("garbage"), 0o644))

	var r Reader
	_, err := r.ReadDatadirAny(dir)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, SQLiteName)
}

func TestOpenStorageAnySQLiteOnly(t *testing.T) {
	root := t.TempDir()
	createRecordDB(t, root, ringRows())

	_, err := OpenStorage(root)
	require.Error(t, err, "OpenStorage looks for index00.bin only")
	storage, err := OpenStorageAny(root)

	require.NoError(t, err)
	require.Equal(t, []Datadir{{Name: FlatDatadir, Path: root}}, storage.Datadirs)
}

func TestOpenStorageAnyEmptyFolder(t *testing.T) {
	_, err := OpenStorageAny(t.TempDir())

	require.ErrorContains(t, err, "neither info.bin, index00.bin nor record_db_index00")
}
