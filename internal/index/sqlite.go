package index

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"
)

// SQLiteName is the SQLite recording index that newer firmware keeps in a
// datadir in place of index00.bin.
const SQLiteName = "record_db_index00"

// VersionSQLite is the Snapshot.Version of a snapshot read from SQLiteName.
// The binary index versions start at 2, so 0 cannot be mistaken for one.
const VersionSQLite = 0

// segmentTable is the table of SQLiteName that lists recording segments.
const segmentTable = "record_segment_idx_tb"

// segmentColumns are the columns of segmentTable that ReadSQLite needs.
var segmentColumns = []string{"file_no", "start_offset", "end_offset", "start_time_tv_sec", "end_time_tv_sec", "record_type"}

// Optional microsecond columns. The "tv_sec" names suggest a struct timeval,
// so firmware may store the microseconds beside them; when present, they
// fill PackedTime.Micros.
const (
	startMicrosColumn = "start_time_tv_usec"
	endMicrosColumn   = "end_time_tv_usec"
)

// maxSQLiteSize bounds the bytes withSQLiteCopy copies per file, so that a
// corrupt or hostile file cannot fill the temporary folder.
//
// NOTE: no real record_db_index00 has been measured. A row takes well under
// 100 bytes, so 1 GiB holds millions of segments, far beyond any card.
const maxSQLiteSize = 1 << 30

// sqliteCompanions are the files SQLite keeps beside a database while it is
// written: a rollback journal or a write-ahead log. They are copied with the
// database so that the copy opens in a consistent state: SQLite rolls back
// a hot journal and replays a log when it opens the copy.
var sqliteCompanions = []string{"-journal", "-wal"}

// afterSQLiteCopy runs between copying the camera's files and checking that
// they did not change. Tests set it to simulate a camera write during the
// copy.
var afterSQLiteCopy = func() {}

// ReadSQLite reads the SQLite recording index at path into a snapshot with
// the same meaning as Build's: live closed segments in the order the camera
// wrote them, and the open one.
//
// The camera writes the file while it is read, often over NFS or SMB, where
// SQLite's locks are unreliable and a lock taken here could stall the
// camera. So ReadSQLite never opens the camera's copy with SQLite. It reads
// the file, and its journal or write-ahead log when present, with os.Open
// into a private temporary folder. It then checks that size, modification
// time and SQLite's change counter did not move during the copy, and runs
// PRAGMA integrity_check on the copy. A copy that raced a write is retried
// and then reported as ErrTorn.
func ReadSQLite(path string) (*Snapshot, error) {
	var snapshot *Snapshot
	err := withSQLiteCopy(path, func(db *sql.DB, counter uint32) error {
		rows, err := querySegmentRows(db, path)
		if err != nil {
			return err
		}
		snapshot, err = buildFromRows(path, uint64(counter), rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	return snapshot, nil
}

// withSQLiteCopy copies the SQLite database at path into a private temporary
// folder, checks that the copy is consistent, and calls read on the opened
// copy with the change counter of its header. The copy is removed when read
// returns. A copy that raced a camera write, or a read that returns ErrTorn,
// is retried, and after readAttempts tries ErrTorn is returned.
func withSQLiteCopy(path string, read func(db *sql.DB, counter uint32) error) error {
	var err error
	for attempt := 0; attempt < readAttempts; attempt++ {
		err = withSQLiteCopyOnce(path, read)
		if !errors.Is(err, ErrTorn) {
			return err
		}
	}
	return err
}

func withSQLiteCopyOnce(path string, read func(db *sql.DB, counter uint32) error) error {
	dir, err := os.MkdirTemp("", "hikarchive-sqlite-*")
	if err != nil {
		return fmt.Errorf("create a temporary folder for the copy of %s: %w", path, err)
	}
	defer os.RemoveAll(dir)

	copyPath, counter, err := copySQLite(path, dir)
	if err != nil {
		return err
	}

	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: copyPath}).EscapedPath())
	if err != nil {
		return fmt.Errorf("open the copy of %s: %w", path, err)
	}
	defer db.Close()

	if err := checkIntegrity(db, path); err != nil {
		return err
	}
	return read(db, counter)
}

// fileState is the size and modification time of a file, compared before and
// after a copy. A camera write changes at least one of them unless the
// timestamp resolution hides it.
type fileState struct {
	exists  bool
	size    int64
	modTime time.Time
}

func statState(path string) (fileState, error) {
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return fileState{}, nil
	}
	if err != nil {
		return fileState{}, fmt.Errorf("stat %s: %w", path, err)
	}
	return fileState{exists: true, size: info.Size(), modTime: info.ModTime()}, nil
}

// copySQLite copies the database at path and its companions into dir. It
// returns the copy's path and the change counter of its SQLite header.
func copySQLite(path, dir string) (string, uint32, error) {
	names := []string{path}
	for _, suffix := range sqliteCompanions {
		names = append(names, path+suffix)
	}

	before := make([]fileState, len(names))
	for i, name := range names {
		state, err := statState(name)
		if err != nil {
			return "", 0, err
		}
		before[i] = state
	}
	if !before[0].exists {
		return "", 0, fmt.Errorf("open SQLite index: %w", &os.PathError{Op: "stat", Path: path, Err: os.ErrNotExist})
	}

	for i, name := range names {
		if !before[i].exists {
			continue
		}
		if err := copyFile(name, filepath.Join(dir, SQLiteName+name[len(path):]), before[i].size); err != nil {
			return "", 0, err
		}
	}
	afterSQLiteCopy()

	for i, name := range names {
		after, err := statState(name)
		if err != nil {
			return "", 0, err
		}
		if after != before[i] {
			return "", 0, fmt.Errorf("%s changed during the copy (size %d -> %d, modified %s -> %s): %w",
				name, before[i].size, after.size, before[i].modTime.Format(time.RFC3339Nano), after.modTime.Format(time.RFC3339Nano), ErrTorn)
		}
	}

	copyPath := filepath.Join(dir, SQLiteName)
	counter, err := checkChangeCounter(path, copyPath)
	return copyPath, counter, err
}

// copyFile copies size bytes of src, opened read-only, into a new file dst.
func copyFile(src, dst string, size int64) error {
	if size > maxSQLiteSize {
		return formatError(src, 0, "file size", "file is %d bytes, more than the %d bytes an SQLite index is expected to take", size, maxSQLiteSize)
	}

	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer in.Close()

	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create the copy of %s: %w", src, err)
	}
	n, copyErr := io.Copy(out, io.LimitReader(in, size))
	closeErr := out.Close()

	switch {
	case copyErr != nil:
		return fmt.Errorf("copy %s: %w", src, copyErr)
	case closeErr != nil:
		return fmt.Errorf("write the copy of %s: %w", src, closeErr)
	case n != size:
		return fmt.Errorf("%s shrank from %d to %d bytes during the copy: %w", src, size, n, ErrTorn)
	}
	return nil
}

// sqliteHeaderSize is the length of the SQLite database header. Its
// big-endian uint32 at offset 24 is the file change counter, which SQLite
// increments on every transaction that a rollback journal commits.
const (
	sqliteHeaderSize   = 100
	sqliteMagic        = "SQLite format 3\x00"
	changeCounterStart = 24
)

// checkChangeCounter compares the change counter of the camera's file, read
// again now, with that of the copy. Over NFS and SMB, modification times can
// be coarse, so a counter that moved catches a write they miss.
func checkChangeCounter(path, copyPath string) (uint32, error) {
	copied, err := readSQLiteHeader(copyPath, path)
	if err != nil {
		return 0, err
	}
	if string(copied[:len(sqliteMagic)]) != sqliteMagic {
		return 0, formatError(path, 0, "SQLite header", "file does not start with %q: it is not an SQLite database", sqliteMagic[:len(sqliteMagic)-1])
	}

	current, err := readSQLiteHeader(path, path)
	if err != nil {
		return 0, err
	}

	before := beUint32(copied[changeCounterStart:])
	after := beUint32(current[changeCounterStart:])
	if before != after {
		return 0, fmt.Errorf("%s: SQLite change counter went from %d to %d during the copy: %w", path, before, after, ErrTorn)
	}
	return before, nil
}

// readSQLiteHeader reads the header of the file at path. A header that is
// too short is reported for the file name, so that a header read from the
// private copy names the camera's file.
func readSQLiteHeader(path, name string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()

	header := make([]byte, sqliteHeaderSize)
	if n, err := f.ReadAt(header, 0); n < sqliteHeaderSize {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, formatError(name, n, "SQLite header", "file is %d bytes, shorter than the %d-byte SQLite header", n, sqliteHeaderSize)
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return header, nil
}

func beUint32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// checkIntegrity runs PRAGMA integrity_check on the copy. A copy that passed
// the size and time checks can still be torn when the camera's write landed
// within the timestamp resolution, so a failure is reported as ErrTorn.
func checkIntegrity(db *sql.DB, path string) error {
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("%s: integrity check of the copy failed: %v: %w", path, err, ErrTorn)
	}
	defer rows.Close()

	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("%s: read integrity check result: %v: %w", path, err, ErrTorn)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: integrity check of the copy failed: %v: %w", path, err, ErrTorn)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: integrity check of the copy found %d problems, first: %s: %w", path, len(problems), problems[0], ErrTorn)
	}
	return nil
}

// segmentRow is one used row of segmentTable.
type segmentRow struct {
	FileNo      int64
	StartOffset int64
	EndOffset   int64 // 0 while the segment is being recorded
	Start       PackedTime
	End         PackedTime
	RecordType  int64
}

// querySegmentRows returns the used rows of segmentTable, after checking that
// the table has the columns ReadSQLite needs.
func querySegmentRows(db *sql.DB, path string) ([]segmentRow, error) {
	columns, err := tableColumns(db, segmentTable)
	if err != nil {
		return nil, fmt.Errorf("%s: list the columns of %s: %w", path, segmentTable, err)
	}
	if len(columns) == 0 {
		return nil, fmt.Errorf("%s: table %s not found: this firmware keeps its recording index in another table; please send a copy of the file so the layout can be added: %w", path, segmentTable, ErrFormat)
	}
	for _, name := range segmentColumns {
		if !slices.Contains(columns, name) {
			return nil, fmt.Errorf("%s: table %s has no column %s (columns: %v); please send a copy of the file so the layout can be added: %w", path, segmentTable, name, columns, ErrFormat)
		}
	}

	startMicros, endMicros := "0", "0"
	if slices.Contains(columns, startMicrosColumn) && slices.Contains(columns, endMicrosColumn) {
		startMicros, endMicros = startMicrosColumn, endMicrosColumn
	}

	query := fmt.Sprintf(`SELECT file_no, start_offset, end_offset, start_time_tv_sec, %s, end_time_tv_sec, %s, record_type
		FROM %s WHERE record_type != 0`, startMicros, endMicros, segmentTable)
	result, err := db.Query(query)
	if err != nil {
		return nil, fmt.Errorf("%s: query %s: %w", path, segmentTable, err)
	}
	defer result.Close()

	var rows []segmentRow
	for result.Next() {
		var fileNo, startOffset, endOffset, startSec, startUsec, endSec, endUsec, recordType sql.NullInt64
		if err := result.Scan(&fileNo, &startOffset, &endOffset, &startSec, &startUsec, &endSec, &endUsec, &recordType); err != nil {
			return nil, fmt.Errorf("%s: read a row of %s: %v: %w", path, segmentTable, err, ErrFormat)
		}

		row, err := decodeSegmentRow(path, fileNo.Int64, startOffset.Int64, endOffset.Int64, startSec.Int64, startUsec.Int64, endSec.Int64, endUsec.Int64)
		if err != nil {
			return nil, err
		}
		row.RecordType = recordType.Int64
		rows = append(rows, row)
	}
	if err := result.Err(); err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", path, segmentTable, err)
	}
	return rows, nil
}

func tableColumns(db *sql.DB, table string) ([]string, error) {
	rows, err := db.Query("SELECT name FROM pragma_table_info(?)", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	var columns []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		columns = append(columns, name)
	}
	return columns, rows.Err()
}

// decodeSegmentRow checks that the integers of one row fit the binary index's
// field widths, which Segment uses, and converts them.
func decodeSegmentRow(path string, fileNo, startOffset, endOffset, startSec, startUsec, endSec, endUsec int64) (segmentRow, error) {
	fits := func(name string, v, limit int64) error {
		if v < 0 || v > limit {
			return fmt.Errorf("%s: %s row of file %d has %s %d, outside 0..%d: %w", path, segmentTable, fileNo, name, v, limit, ErrFormat)
		}
		return nil
	}
	for _, field := range []struct {
		name  string
		value int64
		limit int64
	}{
		{"file_no", fileNo, maxSQLiteFiles - 1},
		{"start_offset", startOffset, 1<<32 - 1},
		{"end_offset", endOffset, 1<<32 - 1},
		{"start_time_tv_sec", startSec, 1<<32 - 1},
		{"end_time_tv_sec", endSec, 1<<32 - 1},
		{startMicrosColumn, startUsec, 999_999},
		{endMicrosColumn, endUsec, 999_999},
	} {
		if err := fits(field.name, field.value, field.limit); err != nil {
			return segmentRow{}, err
		}
	}

	return segmentRow{
		FileNo:      fileNo,
		StartOffset: startOffset,
		EndOffset:   endOffset,
		Start:       PackTime(uint32(startSec), uint32(startUsec)),
		End:         PackTime(uint32(endSec), uint32(endUsec)),
	}, nil
}
