package index

import (
	"cmp"
	"fmt"
	"slices"
)

// maxSQLiteFiles bounds file_no: the camera names hiv files with five
// digits, hiv00000.mp4 to hiv99999.mp4.
const maxSQLiteFiles = 100_000

// sqliteChannel is the channel given to segments read from SQLiteName.
//
// NOTE: the known columns of record_segment_idx_tb name no channel. Channel 1
// is what the one-channel binary sample uses.
const sqliteChannel = 1

// buildFromRows applies the ring rules of the binary index to the used rows
// of record_segment_idx_tb and returns the snapshot. counter becomes
// ModifyTimes.
//
// Rows are not known to be cleared when the camera recycles a file, so, as
// with binary slots, a file's rows can mix cycles. The live rows of a file
// are its newest row and the rows before it, by start time, whose bytes end
// at or before the start of the next one. An older row whose bytes overlap
// stops that run: it describes video the current cycle overwrote. The file
// with the newest row is being written, and the oldest file is the first one
// after it in ring order that has rows.
//
// NOTE: this order relies on start times. A camera clock set backwards
// within one file makes older rows look newer.
func buildFromRows(path string, counter uint64, rows []segmentRow) (*Snapshot, error) {
	s := &Snapshot{File: path, ModifyTimes: counter, Version: VersionSQLite}
	if len(rows) == 0 {
		return s, nil
	}

	byFile := make(map[int64][]segmentRow)
	for _, row := range rows {
		byFile[row.FileNo] = append(byFile[row.FileNo], row)
		s.Files = max(s.Files, int(row.FileNo)+1)
	}

	runs := make(map[int64][]segmentRow, len(byFile))
	current := int64(-1)
	for file, fileRows := range byFile {
		runs[file] = liveRun(fileRows)
		newest := runs[file][len(runs[file])-1]
		if current < 0 || newer(newest, lastRow(runs[current])) {
			current = file
		}
	}
	s.CurrentFile = uint32(current)
	s.OldestFile = s.CurrentFile
	for k := 1; k < s.Files; k++ {
		file := (current + int64(k)) % int64(s.Files)
		if len(runs[file]) > 0 {
			s.OldestFile = uint32(file)
			break
		}
	}

	for k := 0; k < s.Files; k++ {
		file := (int64(s.OldestFile) + int64(k)) % int64(s.Files)
		if err := s.addRun(path, file, runs[file], file == current); err != nil {
			return nil, err
		}
		if file == current {
			break
		}
	}
	return s, nil
}

// newer reports whether row a was written after row b.
func newer(a, b segmentRow) bool {
	if a.Start != b.Start {
		return a.Start.Wall().After(b.Start.Wall())
	}
	return a.StartOffset > b.StartOffset
}

func lastRow(rows []segmentRow) segmentRow {
	return rows[len(rows)-1]
}

// liveRun returns the rows of one file that belong to its newest cycle,
// oldest first.
func liveRun(rows []segmentRow) []segmentRow {
	slices.SortFunc(rows, func(a, b segmentRow) int {
		if c := cmp.Compare(a.Start.Seconds(), b.Start.Seconds()); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Start.Micros(), b.Start.Micros()); c != 0 {
			return c
		}
		return cmp.Compare(a.StartOffset, b.StartOffset)
	})

	first := len(rows) - 1
	for first > 0 {
		previous := rows[first-1]
		if previous.EndOffset == 0 || previous.EndOffset > rows[first].StartOffset {
			break
		}
		first--
	}
	return rows[first:]
}

// addRun appends the live rows of file to s, all closed except the newest row
// of the file being written, which may be open.
func (s *Snapshot) addRun(path string, file int64, run []segmentRow, current bool) error {
	if len(run) > 1<<16 {
		return fmt.Errorf("%s: file %d has %d live rows, more than a uint16 slot number can count: %w", path, file, len(run), ErrFormat)
	}

	for j, row := range run {
		seg := Segment{
			Channel:     sqliteChannel,
			File:        uint32(file),
			Slot:        uint16(j),
			Type:        uint8(row.RecordType),
			Start:       row.Start,
			End:         row.End,
			StartOffset: uint32(row.StartOffset),
			EndOffset:   uint32(row.EndOffset),
		}

		if row.EndOffset == 0 {
			if !current || j != len(run)-1 {
				return fmt.Errorf("%s: row %d of file %d has end_offset 0 (still recording) but is not the newest row of the file being written (file %d): %w", path, j, file, s.CurrentFile, ErrFormat)
			}
			seg.End = 0
			seg.Open = true
			s.Open = &seg
			continue
		}

		if row.Start.IsZero() || row.End.IsZero() {
			return fmt.Errorf("%s: closed row %d of file %d has start %d and end %d; a closed segment has both: %w", path, j, file, row.Start.Seconds(), row.End.Seconds(), ErrFormat)
		}
		if row.EndOffset <= row.StartOffset {
			return fmt.Errorf("%s: closed row %d of file %d has byte range [%d, %d), which is empty or reversed: %w", path, j, file, row.StartOffset, row.EndOffset, ErrFormat)
		}
		s.Closed = append(s.Closed, seg)
	}
	return nil
}
