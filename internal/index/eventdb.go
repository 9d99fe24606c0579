package index

import (
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
)

// EventDBName is the SQLite picture index that newer firmware keeps in a
// datadir in place of index00p.bin.
const EventDBName = "event_db_index00"

// Bounds on what ReadEventDB reads, so that a corrupt or hostile database
// cannot make it loop or allocate without limit.
//
// NOTE: both are estimates, since no real event_db_index00 has been seen. A
// card that keeps 10 GiB of 100 KB pictures lists about 100,000 of them.
const (
	maxEventTables = 1000
	maxEventRows   = 1_000_000
)

// maxListedTables bounds the tables that an ErrUnsupported error lists.
const maxListedTables = 20

// eventColumns names the columns of the table that ReadEventDB reads. Micros
// and Type are empty when the table has no such column.
type eventColumns struct {
	Table, File, Start, End, Time, Micros, Type string
}

// ReadEventDB reads the SQLite picture index at path and returns its
// pictures, ordered by time.
//
// Like ReadSQLite, it never opens the camera's file with SQLite: it reads a
// private copy, checks that the copy is consistent and retries a copy that
// raced a camera write, returning ErrTorn after readAttempts tries.
//
// The schema is not known, so ReadEventDB looks for the one table whose
// column names give a file number, a start and an end byte offset and a
// capture time; matchEventTable states the rules. A table whose rows are
// not plausible pictures is reported as ErrFormat. When no table matches,
// or several do, the error matches ErrUnsupported and lists the tables and
// columns found.
//
// Rows are skipped when their record_type or type column is 0, when file
// number, offsets and time are all 0, and when end offset is 0, which marks
// a row still being written in record_db_index00. Picture.Slot is the
// position of the row in the table, counting skipped rows.
func ReadEventDB(path string) ([]Picture, error) {
	var pictures []Picture
	err := withSQLiteCopy(path, func(db *sql.DB, _ uint32) error {
		columns, err := findEventTable(db, path)
		if err != nil {
			return err
		}
		pictures, err = queryEventRows(db, path, columns)
		return err
	})
	if err != nil {
		return nil, err
	}
	return pictures, nil
}

// findEventTable lists the tables of db and returns the columns of the one
// table that matchEventTable accepts.
func findEventTable(db *sql.DB, path string) (eventColumns, error) {
	tables, err := listTables(db)
	if err != nil {
		return eventColumns{}, fmt.Errorf("%s: list tables: %v: %w", path, err, ErrFormat)
	}

	var matches []eventColumns
	var found []string
	for _, table := range tables {
		columns, err := tableColumns(db, table)
		if err != nil {
			return eventColumns{}, fmt.Errorf("%s: list the columns of table %s: %v: %w", path, table, err, ErrFormat)
		}

		match, reason := matchEventTable(table, columns)
		if reason != "" {
			found = append(found, fmt.Sprintf("%s(%s): %s", table, strings.Join(columns, ", "), reason))
			continue
		}
		matches = append(matches, match)
		found = append(found, fmt.Sprintf("%s(%s): matches", table, strings.Join(columns, ", ")))
	}

	matches = preferPictureTables(matches)
	if len(matches) == 1 {
		return matches[0], nil
	}

	problem := "no table has the columns of a picture index (a file number such as file_no, start_offset, end_offset and a time such as start_time_tv_sec)"
	if len(matches) > 1 {
		problem = fmt.Sprintf("%d tables have the columns of a picture index and none can be preferred", len(matches))
	}
	return eventColumns{}, fmt.Errorf("%s: %s; tables found: %s; please send a copy of the file so its layout can be added: %w",
		path, problem, listFound(found), ErrUnsupported)
}

// listTables returns the names of the tables of db, apart from SQLite's own,
// ordered by name.
func listTables(db *sql.DB) ([]string, error) {
	rows, err := db.Query(`SELECT name FROM sqlite_master
		WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
		ORDER BY name LIMIT ?`, maxEventTables+1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(tables) > maxEventTables {
		return nil, fmt.Errorf("more than %d tables", maxEventTables)
	}
	return tables, nil
}

func listFound(found []string) string {
	if len(found) == 0 {
		return "none"
	}
	if len(found) > maxListedTables {
		return fmt.Sprintf("%s; and %d more", strings.Join(found[:maxListedTables], "; "), len(found)-maxListedTables)
	}
	return strings.Join(found, "; ")
}

// matchEventTable returns the columns of table that ReadEventDB reads, or
// why the table does not fit. Names are compared in lower case and split
// into words at underscores. Each column is found by the first rule that
// matches any column; a rule that matches several columns rejects the
// table as ambiguous.
//
//   - file number: file_no; else a name with the word "file" and one of
//     "no", "num", "number", "idx", "index"; else a word "fileno" or "filenum".
//   - start offset: start_offset; else a name with the words "start" and
//     "offset".
//   - end offset: end_offset; else a name with the words "end" and "offset".
//   - time: start_time_tv_sec; else, among the names with the word "time" and
//     none of "usec", "msec", "nsec", those that also have "start" and "sec",
//     then "sec", then "start", then all of them.
//   - microseconds, optional: the time column's name with its final "sec"
//     replaced by "usec", such as start_time_tv_usec.
//   - unused-row marker, optional: record_type, else type.
func matchEventTable(table string, columns []string) (eventColumns, string) {
	words := make(map[string][]string, len(columns))
	for _, column := range columns {
		words[column] = strings.Split(strings.ToLower(column), "_")
	}
	has := func(column string, want ...string) bool {
		for _, w := range want {
			if !slices.Contains(words[column], w) {
				return false
			}
		}
		return true
	}
	named := func(name string) func(string) bool {
		return func(column string) bool { return strings.EqualFold(column, name) }
	}

	match := eventColumns{Table: table}
	var reason string
	match.File, reason = pickColumn(columns, "file number", named("file_no"),
		func(c string) bool {
			return has(c, "file") && slices.ContainsFunc([]string{"no", "num", "number", "idx", "index"}, func(w string) bool { return has(c, w) })
		},
		func(c string) bool { return has(c, "fileno") || has(c, "filenum") })
	if reason != "" {
		return eventColumns{}, reason
	}

	match.Start, reason = pickColumn(columns, "start offset", named("start_offset"), func(c string) bool { return has(c, "start", "offset") })
	if reason != "" {
		return eventColumns{}, reason
	}
	match.End, reason = pickColumn(columns, "end offset", named("end_offset"), func(c string) bool { return has(c, "end", "offset") })
	if reason != "" {
		return eventColumns{}, reason
	}

	isTime := func(c string) bool {
		return has(c, "time") && !has(c, "usec") && !has(c, "msec") && !has(c, "nsec")
	}
	match.Time, reason = pickColumn(columns, "time", named("start_time_tv_sec"),
		func(c string) bool { return isTime(c) && has(c, "start", "sec") },
		func(c string) bool { return isTime(c) && has(c, "sec") },
		func(c string) bool { return isTime(c) && has(c, "start") },
		isTime)
	if reason != "" {
		return eventColumns{}, reason
	}

	if base, ok := strings.CutSuffix(strings.ToLower(match.Time), "sec"); ok {
		if i := slices.IndexFunc(columns, named(base+"usec")); i >= 0 {
			match.Micros = columns[i]
		}
	}
	for _, name := range []string{"record_type", "type"} {
		if i := slices.IndexFunc(columns, named(name)); i >= 0 {
			match.Type = columns[i]
			break
		}
	}
	return match, ""
}

// pickColumn returns the columns matched by the first rule that matches
// any, or why none or several did. what names the column in the reason.
func pickColumn(columns []string, what string, rules ...func(string) bool) (string, string) {
	for _, rule := range rules {
		var matched []string
		for _, column := range columns {
			if rule(column) {
				matched = append(matched, column)
			}
		}
		switch len(matched) {
		case 0:
			continue
		case 1:
			return matched[0], ""
		default:
			return "", fmt.Sprintf("several columns could be the %s (%s)", what, strings.Join(matched, ", "))
		}
	}
	return "", "no " + what + " column"
}

// preferPictureTables keeps, of several matching tables, those whose name
// has one of the words "pic", "picture", "event", "snap", "img" or "jpeg",
// since a database could also hold a recording table with the same columns.
func preferPictureTables(matches []eventColumns) []eventColumns {
	if len(matches) < 2 {
		return matches
	}

	var preferred []eventColumns
	for _, m := range matches {
		for _, word := range strings.Split(strings.ToLower(m.Table), "_") {
			if slices.Contains([]string{"pic", "picture", "event", "snap", "img", "jpeg"}, word) {
				preferred = append(preferred, m)
				break
			}
		}
	}
	if len(preferred) == 0 {
		return matches
	}
	return preferred
}

// quoteIdentifier quotes a table or column name read from the database for
// use in a query.
func quoteIdentifier(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// queryEventRows reads the pictures of the table that columns describes.
func queryEventRows(db *sql.DB, path string, columns eventColumns) ([]Picture, error) {
	micros, kind := "0", "1"
	if columns.Micros != "" {
		micros = quoteIdentifier(columns.Micros)
	}
	if columns.Type != "" {
		kind = quoteIdentifier(columns.Type)
	}
	query := fmt.Sprintf("SELECT %s, %s, %s, %s, %s, %s FROM %s LIMIT %d",
		quoteIdentifier(columns.File), quoteIdentifier(columns.Start), quoteIdentifier(columns.End),
		quoteIdentifier(columns.Time), micros, kind, quoteIdentifier(columns.Table), maxEventRows+1)

	result, err := db.Query(query)
	if err != nil {
		return nil, fmt.Errorf("%s: query table %s: %v: %w", path, columns.Table, err, ErrFormat)
	}
	defer result.Close()

	var pictures []Picture
	position := 0
	for ; result.Next(); position++ {
		if position == maxEventRows {
			return nil, fmt.Errorf("%s: table %s has more than %d rows, more than a picture index is expected to hold; please send a copy of the file: %w", path, columns.Table, maxEventRows, ErrFormat)
		}

		var file, start, end, seconds, usec, kind sql.NullInt64
		if err := result.Scan(&file, &start, &end, &seconds, &usec, &kind); err != nil {
			return nil, fmt.Errorf("%s: row %d of table %s: %v: %w", path, position, columns.Table, err, ErrFormat)
		}
		if (columns.Type != "" && kind.Int64 == 0) || end.Int64 == 0 {
			continue
		}

		picture, err := decodeEventRow(path, columns, position, file.Int64, start.Int64, end.Int64, seconds.Int64, usec.Int64)
		if err != nil {
			return nil, err
		}
		pictures = append(pictures, picture)
	}
	if err := result.Err(); err != nil {
		return nil, fmt.Errorf("%s: read table %s: %v: %w", path, columns.Table, err, ErrFormat)
	}

	slices.SortStableFunc(pictures, func(a, b Picture) int {
		return a.Time.Wall().Compare(b.Time.Wall())
	})
	return pictures, nil
}

// decodeEventRow checks that the integers of one row fit the fields of
// Picture and describe a plausible picture, and converts them. Rows with an
// end offset of 0, which includes all-zero rows, never get here.
func decodeEventRow(path string, columns eventColumns, position int, file, start, end, seconds, usec int64) (Picture, error) {
	for _, field := range []struct {
		column string
		value  int64
		limit  int64
	}{
		{columns.File, file, maxSQLiteFiles - 1},
		{columns.Start, start, math.MaxUint32},
		{columns.End, end, math.MaxUint32},
		{columns.Time, seconds, math.MaxUint32},
		{columns.Micros, usec, 999_999},
	} {
		if field.value < 0 || field.value > field.limit {
			return Picture{}, fmt.Errorf("%s: row %d of table %s has %s %d, outside 0..%d: %w",
				path, position, columns.Table, field.column, field.value, field.limit, ErrFormat)
		}
	}

	picture := Picture{
		File:        uint32(file),
		Slot:        position,
		Time:        PackTime(uint32(seconds), uint32(usec)),
		StartOffset: uint32(start),
		EndOffset:   uint32(end),
	}
	if reason := checkPictureSlot(picture); reason != "" {
		return Picture{}, fmt.Errorf("%s: row %d of table %s (file %d) %s: %w", path, position, columns.Table, file, reason, ErrFormat)
	}
	return picture, nil
}
