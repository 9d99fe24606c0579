package index

import (
	"testing"
)

// Camera wall-clock seconds used by the synthetic tables: 2025-05-25 16:00.
const baseTime = 1748188800

// ringTable returns a three-file index whose ring has wrapped: file 1 is the
// oldest, file 2 is finished, and file 0 is being written with one closed
// segment and an open one. Every file also carries a stale slot after its
// live ones, like a real card that has gone round its ring.
func ringTable() *Table {
	t := NewTable(2, 3)
	t.Header.ModifyTimes = 100
	t.Header.NextFileRecNo = 1
	t.Header.LastFileRecNo = 0

	finish := func(file int, start uint32, segments int) {
		for j := 0; j < segments; j++ {
			s := start + uint32(j)*60
			t.Slots[file][j] = closedSlot(s, s+50, uint32(j)*1_000_000, uint32(j)*1_000_000+900_000)
		}
		// A stale slot from an earlier cycle: older times, overlapping bytes.
		t.Slots[file][segments] = closedSlot(start-100_000, start-99_950, 500_000, 900_000)
		t.Files[file] = FileRecord{
			FileNo: uint32(file), Channel: 1, SegRecNums: uint16(segments - 1),
			StartTime: start, EndTime: start + uint32(segments-1)*60 + 50,
		}
	}
	finish(1, baseTime, 3)
	finish(2, baseTime+600, 2)

	// File 0 is being written: its file-table record is stale.
	t.Files[0] = FileRecord{FileNo: 0, Channel: 1, SegRecNums: 5, StartTime: baseTime - 200_000, EndTime: baseTime - 190_000}
	t.Slots[0][0] = closedSlot(baseTime+1200, baseTime+1250, 0, 800_000)
	t.Slots[0][1] = Slot{Type: 13, Start: PackTime(baseTime+1260, 0), StartOffset: 800_256}
	t.Slots[0][2] = closedSlot(baseTime-200_000, baseTime-199_950, 100, 200)
	t.Header.Current[1] = CurrentFile{
		Used: true, FileNo: 0, Slot: 1,
		StartTime: baseTime + 1200, LastClosedTime: baseTime + 1250, Channel: 1,
	}
	return t
}

func closedSlot(start, end, startOffset, endOffset uint32) Slot {
	return Slot{
		Type:        13,
		Start:       PackTime(start, 250_000),
		End:         PackTime(end, 750_000),
		KeyFrame:    PackTime(start, 250_000),
		StartOffset: startOffset,
		EndOffset:   endOffset,
	}
}

func encodeTable(t *Table) []byte {
	return Encode(t, t.Size())
}

func mustBuild(tb testing.TB, t *Table) *Snapshot {
	tb.Helper()
	s, err := Build("test-index", encodeTable(t))
	if err != nil {
		tb.Fatalf("build: %v", err)
	}
	return s
}
