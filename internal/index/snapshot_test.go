package index

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBuildRingTable(t *testing.T) {
	s := mustBuild(t, ringTable())

	var got []string
	for _, seg := range s.Closed {
		got = append(got, seg.Key().String())
	}
	require.Equal(t, []string{
		"ch01-hiv00001-slot000-1748188800250000",
		"ch01-hiv00001-slot001-1748188860250000",
		"ch01-hiv00001-slot002-1748188920250000",
		"ch01-hiv00002-slot000-1748189400250000",
		"ch01-hiv00002-slot001-1748189460250000",
		"ch01-hiv00000-slot000-1748190000250000",
	}, got)

	require.NotNil(t, s.Open)
	require.Equal(t, uint32(0), s.Open.File)
	require.Equal(t, uint16(1), s.Open.Slot)
	require.Equal(t, uint32(800_256), s.Open.StartOffset)
	require.True(t, s.Open.Open)
}

func TestBuildFreshStorage(t *testing.T) {
	s := mustBuild(t, NewTable(2, 4))

	require.Empty(t, s.Closed)
	require.Nil(t, s.Open)
}

func TestBuildFirstCycle(t *testing.T) {
	// Before the ring wraps, files after the one being written are unused.
	table := ringTable()
	table.Header.NextFileRecNo = 0
	table.Files[1] = FileRecord{FileNo: 1, Channel: UnusedChannel}
	table.Files[2] = FileRecord{FileNo: 2, Channel: UnusedChannel}

	s := mustBuild(t, table)

	require.Len(t, s.Closed, 1)
	require.Equal(t, uint32(0), s.Closed[0].File)
	require.NotNil(t, s.Open)
}

func TestBuildSlotAfterCurrentNotOpen(t *testing.T) {
	// Between closing one segment and opening the next, the current slot
	// may still hold a stale closed segment: it is neither open nor live.
	table := ringTable()
	table.Slots[0][1] = closedSlot(baseTime-300_000, baseTime-299_950, 100, 200)

	s := mustBuild(t, table)

	require.Nil(t, s.Open)
	require.Len(t, s.Closed, 6)
}

func TestBuildJustClosedSlot(t *testing.T) {
	// After a close and before the next open, the current-file record still
	// names the slot it just closed.
	table := ringTable()
	table.Slots[0][1] = closedSlot(baseTime+1260, baseTime+1300, 800_256, 1_500_000)
	table.Header.Current[1].LastClosedTime = baseTime + 1300

	s := mustBuild(t, table)

	require.Nil(t, s.Open)
	require.Len(t, s.Closed, 7)
	require.Equal(t, uint16(1), s.Closed[6].Slot)
	require.Equal(t, uint32(1_500_000), s.Closed[6].EndOffset)
}

func TestBuildRejectsBadInput(t *testing.T) {
	valid := encodeTable(ringTable())
	slot := func(file, j int) int { return SlotOffset(3, file, j) }

	cases := []struct {
		name    string
		mutate  func(b []byte) []byte
		message string
	}{
		{"empty file", func(b []byte) []byte { return nil }, "offset 0 (header): file is 0 bytes"},
		{"truncated header", func(b []byte) []byte { return b[:700] }, "offset 700 (header)"},
		{"truncated segment table", func(b []byte) []byte { return b[:len(b)-80] }, "avFiles is 3 but the file's"},
		{"zero-filled", func(b []byte) []byte { return make([]byte, len(b)) }, "header is zero-filled"},
		{"unknown version", func(b []byte) []byte { le.PutUint32(b[8:], 7); return b }, "index version 7 is not supported"},
		{"huge avFiles", func(b []byte) []byte { le.PutUint32(b[12:], 0xFFFFFFFF); return b }, "avFiles is 4294967295"},
		{"nextFileRecNo out of range", func(b []byte) []byte { le.PutUint32(b[16:], 3); return b }, "nextFileRecNo 3"},
		{"lastFileRecNo out of range", func(b []byte) []byte { le.PutUint32(b[20:], 9); return b }, "lastFileRecNo 9"},
		{"segRecNums beyond slots", func(b []byte) []byte { le.PutUint16(b[fileRecordOffset(1)+6:], 300); return b }, "segRecNums 300"},
		{"reversed byte range", func(b []byte) []byte { le.PutUint32(b[slot(1, 1)+44:], 10); return b }, "byte range [1000000, 10)"},
		{"overlapping segments", func(b []byte) []byte { le.PutUint32(b[slot(1, 1)+40:], 5); return b }, "inside the previous segment"},
		{"live slot without end", func(b []byte) []byte { le.PutUint64(b[slot(2, 0)+16:], 0); return b }, "has start 1748189400 and end 0"},
		{"current slot beyond slots", func(b []byte) []byte { le.PutUint16(b[currentRecordOffset+currentRecordSize+2:], 400); return b }, "gives slot 400"},
		{"current record start mismatch", func(b []byte) []byte { le.PutUint32(b[currentRecordOffset+currentRecordSize+4:], 5); return b }, "started at 5"},
		{"current record end mismatch", func(b []byte) []byte { le.PutUint32(b[currentRecordOffset+currentRecordSize+8:], 5); return b }, "ended at 5"},
		{"no current record", func(b []byte) []byte { le.PutUint16(b[currentRecordOffset+currentRecordSize:], 0xFFFF); return b }, "no current-file record names lastFileRecNo 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.mutate(append([]byte(nil), valid...))

			s, err := Build("cam/index00.bin", data)

			require.Nil(t, s)
			require.ErrorIs(t, err, ErrFormat)
			require.ErrorContains(t, err, "cam/index00.bin: offset")
			require.ErrorContains(t, err, tc.message)
		})
	}
}

func TestPackedTimeIn(t *testing.T) {
	// A camera in New York showing 12:00 on 25 May writes 12:00 "UTC".
	p := PackTime(1748174400, 500_000) // 2025-05-25 12:00:00.5 as written
	newYork, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)

	real := p.In(newYork)

	require.Equal(t, "2025-05-25T16:00:00.5Z", real.Format("2006-01-02T15:04:05.999Z07:00"))
}
