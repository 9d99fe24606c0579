package index

import (
	"database/sql"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// No real event_db_index00 is available. These tests build databases whose
// picture table mirrors record_segment_idx_tb of record_db_index00, which is
// the layout ReadEventDB expects first, and variants of it.

// createEventDB creates an SQLite database at dir/event_db_index00 by running
// statements, each with its arguments.
func createEventDB(t *testing.T, dir string, statements ...[]any) string {
	t.Helper()
	path := filepath.Join(dir, EventDBName)
	db, err := sql.Open("sqlite", path+"?_pragma=synchronous(OFF)")
	require.NoError(t, err)
	defer db.Close()

	tx, err := db.Begin()
	require.NoError(t, err)
	for _, s := range statements {
		_, err := tx.Exec(s[0].(string), s[1:]...)
		require.NoError(t, err, s[0])
	}
	require.NoError(t, tx.Commit())
	return path
}

const pictureTableSQL = `CREATE TABLE pic_segment_idx_tb (
	id INTEGER PRIMARY KEY, channel INTEGER DEFAULT 1,
	file_no INTEGER, start_offset INTEGER, end_offset INTEGER,
	start_time_tv_sec INTEGER, start_time_tv_usec INTEGER DEFAULT 0,
	end_time_tv_sec INTEGER, end_time_tv_usec INTEGER DEFAULT 0,
	record_type INTEGER, lock_flag INTEGER DEFAULT 0)`

func pictureRow(file, start, end, seconds, usec, recordType int64) []any {
	return []any{`INSERT INTO pic_segment_idx_tb
		(file_no, start_offset, end_offset, start_time_tv_sec, start_time_tv_usec, end_time_tv_sec, record_type)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, file, start, end, seconds, usec, seconds, recordType}
}

func TestReadEventDBMirroredSchema(t *testing.T) {
	const b = baseTime
	path := createEventDB(t, t.TempDir(),
		[]any{pictureTableSQL},
		pictureRow(0, 0, 0, 0, 0, 0),                  // row 0: unused, all zero
		pictureRow(1, 4096, 90_000, b+60, 250_000, 1), // row 1
		pictureRow(0, 0, 80_000, b, 0, 1),             // row 2
		pictureRow(2, 100, 900, b+5, 0, 0),            // row 3: record_type 0, unused
		pictureRow(0, 80_000, 0, b+120, 0, 1),         // row 4: end_offset 0, still being written
		pictureRow(0, 80_000, 150_000, b+30, 0, 2),    // row 5
	)

	pictures, err := ReadEventDB(path)

	require.NoError(t, err)
	require.Equal(t, []Picture{
		{File: 0, Slot: 2, Time: PackTime(b, 0), StartOffset: 0, EndOffset: 80_000},
		{File: 0, Slot: 5, Time: PackTime(b+30, 0), StartOffset: 80_000, EndOffset: 150_000},
		{File: 1, Slot: 1, Time: PackTime(b+60, 250_000), StartOffset: 4096, EndOffset: 90_000},
	}, pictures)
}

func TestReadEventDBOtherNames(t *testing.T) {
	const b = baseTime
	path := createEventDB(t, t.TempDir(),
		[]any{`CREATE TABLE Picture_Info (Pic_File_Num INTEGER, Pic_Start_Offset INTEGER, Pic_End_Offset INTEGER, Capture_Time INTEGER, Type INTEGER)`},
		[]any{`INSERT INTO Picture_Info VALUES (3, 10, 2010, ?, 1)`, b},
		[]any{`INSERT INTO Picture_Info VALUES (3, 2010, 4010, ?, 0)`, b + 1},
	)

	pictures, err := ReadEventDB(path)

	require.NoError(t, err)
	require.Equal(t, []Picture{{File: 3, Slot: 0, Time: PackTime(b, 0), StartOffset: 10, EndOffset: 2010}}, pictures)
}

func TestReadEventDBEmptyTable(t *testing.T) {
	path := createEventDB(t, t.TempDir(), []any{pictureTableSQL})

	pictures, err := ReadEventDB(path)

	require.NoError(t, err)
	require.Empty(t, pictures)
}

func TestReadEventDBUnknownSchema(t *testing.T) {
	path := createEventDB(t, t.TempDir(),
		[]any{`CREATE TABLE event_log_tb (id INTEGER, channel INTEGER, event_time INTEGER, pic_path TEXT)`},
		[]any{`CREATE TABLE config (key TEXT, value TEXT)`},
	)

	_, err := ReadEventDB(path)

	require.ErrorIs(t, err, ErrUnsupported)
	msg := err.Error()
	assert.Contains(t, msg, path)
	assert.Contains(t, msg, "event_log_tb(id, channel, event_time, pic_path): no file number column")
	assert.Contains(t, msg, "config(key, value): no file number column")
	assert.Contains(t, msg, "please send a copy of the file")
}

func TestReadEventDBNoTables(t *testing.T) {
	path := createEventDB(t, t.TempDir(), []any{`PRAGMA user_version = 1`})

	_, err := ReadEventDB(path)

	require.ErrorIs(t, err, ErrUnsupported)
	require.ErrorContains(t, err, "tables found: none")
}

func TestReadEventDBAmbiguousColumns(t *testing.T) {
	path := createEventDB(t, t.TempDir(),
		[]any{`CREATE TABLE pic_tb (file_no INTEGER, start_offset INTEGER, end_offset INTEGER, capture_time INTEGER, upload_time INTEGER)`},
	)

	_, err := ReadEventDB(path)

	require.ErrorIs(t, err, ErrUnsupported)
	require.ErrorContains(t, err, "several columns could be the time (capture_time, upload_time)")
}

func TestReadEventDBPrefersPictureTable(t *testing.T) {
	const b = baseTime
	recordTable := `CREATE TABLE record_segment_idx_tb (file_no, start_offset, end_offset, start_time_tv_sec, end_time_tv_sec, record_type)`
	path := createEventDB(t, t.TempDir(),
		[]any{recordTable},
		[]any{`INSERT INTO record_segment_idx_tb VALUES (0, 0, 900000, ?, ?, 1)`, b, b + 60},
		[]any{pictureTableSQL},
		pictureRow(4, 100, 2100, b+10, 0, 1),
	)

	pictures, err := ReadEventDB(path)

	require.NoError(t, err)
	require.Len(t, pictures, 1)
	assert.Equal(t, uint32(4), pictures[0].File)
}

func TestReadEventDBSeveralTablesMatch(t *testing.T) {
	path := createEventDB(t, t.TempDir(),
		[]any{`CREATE TABLE a_tb (file_no, start_offset, end_offset, start_time_tv_sec)`},
		[]any{`CREATE TABLE b_tb (file_no, start_offset, end_offset, start_time_tv_sec)`},
	)

	_, err := ReadEventDB(path)

	require.ErrorIs(t, err, ErrUnsupported)
	require.ErrorContains(t, err, "2 tables have the columns of a picture index")
	require.ErrorContains(t, err, "a_tb(file_no, start_offset, end_offset, start_time_tv_sec): matches")
}

func TestReadEventDBRejectsBadRows(t *testing.T) {
	const b = baseTime
	for _, tc := range []struct {
		name string
		row  []any
		want string
	}{
		{"negative file", pictureRow(-1, 0, 100, b, 0, 1), "file_no -1, outside"},
		{"file too large", pictureRow(100_000, 0, 100, b, 0, 1), "file_no 100000, outside"},
		{"offset past uint32", pictureRow(0, 0, 1<<32, b, 0, 1), "end_offset 4294967296, outside"},
		{"time past uint32", pictureRow(0, 0, 100, 1<<32, 0, 1), "start_time_tv_sec 4294967296, outside"},
		{"micros too large", pictureRow(0, 0, 100, b, 1_000_000, 1), "start_time_tv_usec 1000000, outside"},
		{"reversed range", pictureRow(0, 500, 100, b, 0, 1), "empty or reversed"},
		{"picture too large", pictureRow(0, 0, 32<<20, b, 0, 1), "more than 16777216 bytes"},
		{"implausible time", pictureRow(0, 0, 100, 600_000_000, 0, 1), "has time 1989"},
		{"text offset", []any{`INSERT INTO pic_segment_idx_tb (file_no, start_offset, end_offset, start_time_tv_sec, record_type) VALUES (0, 'x', 100, ?, 1)`, b}, "row 0 of table pic_segment_idx_tb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := createEventDB(t, t.TempDir(), []any{pictureTableSQL}, tc.row)

			_, err := ReadEventDB(path)

			require.ErrorIs(t, err, ErrFormat)
			require.ErrorContains(t, err, path)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestReadEventDBGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	path := filepath.Join(t.TempDir(), EventDBName)
	require.NoError(t, os.WriteFile(path, garbage, 0o644))

	_, err := ReadEventDB(path)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "not an SQLite database")
}

func TestReadEventDBShortFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), EventDBName)
	require.NoError(t, os.WriteFile(path, []byte("SQLite format 3\x00"), 0o644))

	_, err := ReadEventDB(path)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, path+": offset 16 (SQLite header)")
}

func TestReadEventDBCorruptPage(t *testing.T) {
	// A copy torn below the resolution of size and time: the second page
	// is garbage.
	statements := [][]any{{pictureTableSQL}}
	for i := range int64(200) {
		statements = append(statements, pictureRow(0, i*1000, i*1000+900, baseTime+i, 0, 1))
	}
	path := createEventDB(t, t.TempDir(), statements...)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(data), 8192)
	for i := 4096; i < 8192; i++ {
		data[i] = 0xA5
	}
	require.NoError(t, os.WriteFile(path, data, 0o644))

	_, err = ReadEventDB(path)

	require.ErrorIs(t, err, ErrTorn)
	require.ErrorContains(t, err, path)
}

func TestReadEventDBTornCopy(t *testing.T) {
	path := createEventDB(t, t.TempDir(), []any{pictureTableSQL}, pictureRow(0, 0, 100, baseTime, 0, 1))
	writes := 0
	afterSQLiteCopy = func() {
		// The camera adds a row during every copy.
		writes++
		db, err := sql.Open("sqlite", path)
		require.NoError(t, err)
		defer db.Close()
		_, err = db.Exec(`INSERT INTO pic_segment_idx_tb (file_no, record_type) VALUES (0, 0)`)
		require.NoError(t, err)
	}
	t.Cleanup(func() { afterSQLiteCopy = func() {} })

	_, err := ReadEventDB(path)

	require.ErrorIs(t, err, ErrTorn)
	require.Equal(t, readAttempts, writes, "every attempt raced a write")
}

func TestReadEventDBLeavesCameraFileAlone(t *testing.T) {
	dir := t.TempDir()
	path := createEventDB(t, dir, []any{pictureTableSQL}, pictureRow(0, 0, 100, baseTime, 0, 1))
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	_, err = ReadEventDB(path)
	require.NoError(t, err)

	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, before, after, "the camera's file must not change")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no journal, log or shared-memory file may appear beside the camera's file")
}

func TestReadEventDBMissing(t *testing.T) {
	_, err := ReadEventDB(filepath.Join(t.TempDir(), EventDBName))

	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestMatchEventTableNames(t *testing.T) {
	for _, tc := range []struct {
		columns []string
		want    eventColumns
		reason  string
	}{
		{
			columns: []string{"file_no", "start_offset", "end_offset", "start_time_tv_sec", "start_time_tv_usec", "end_time_tv_sec", "record_type"},
			want:    eventColumns{Table: "t", File: "file_no", Start: "start_offset", End: "end_offset", Time: "start_time_tv_sec", Micros: "start_time_tv_usec", Type: "record_type"},
		},
		{
			columns: []string{"picture_number", "pic_start_offset", "pic_end_offset", "time_tv_sec"},
			reason:  "no file number column",
		},
		{
			columns: []string{"fileNo", "pic_start_offset", "pic_end_offset", "time_tv_sec", "time_tv_usec"},
			want:    eventColumns{Table: "t", File: "fileNo", Start: "pic_start_offset", End: "pic_end_offset", Time: "time_tv_sec", Micros: "time_tv_usec"},
		},
		{
			columns: []string{"file_index", "start_offset", "end_offset", "start_time", "end_time", "type"},
			want:    eventColumns{Table: "t", File: "file_index", Start: "start_offset", End: "end_offset", Time: "start_time", Type: "type"},
		},
		{
			columns: []string{"file_no", "start_offset", "length", "start_time_tv_sec"},
			reason:  "no end offset column",
		},
		{
			columns: []string{"file_no", "start_offset", "end_offset", "time_usec"},
			reason:  "no time column",
		},
		{
			columns: []string{"file_num", "file_idx", "start_offset", "end_offset", "start_time_tv_sec"},
			reason:  "several columns could be the file number (file_num, file_idx)",
		},
	} {
		got, reason := matchEventTable("t", tc.columns)
		assert.Equal(t, tc.want, got, "%v", tc.columns)
		if tc.reason == "" {
			assert.Empty(t, reason, "%v", tc.columns)
		} else {
			assert.Contains(t, reason, tc.reason, "%v", tc.columns)
		}
	}
}
