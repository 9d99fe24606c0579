package index

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// advance returns a copy of table in which the camera closed the open
// segment of file 0 and opened the next one.
func advance(table *Table) *Table {
	next := *table
	next.Slots = append([][SlotsPerFile]Slot(nil), table.Slots...)
	next.Header.ModifyTimes++
	next.Slots[0][1] = closedSlot(baseTime+1260, baseTime+1300, 800_256, 1_500_000)
	// Cameras write an open slot's start without microseconds and add them
	// when the segment closes.
	next.Slots[0][1].Start = PackTime(table.Slots[0][1].Start.Seconds(), 640_000)
	next.Slots[0][2] = Slot{Type: 13, Start: PackTime(baseTime+1310, 0), StartOffset: 1_500_160}
	next.Header.Current[1].Slot = 2
	next.Header.Current[1].LastClosedTime = baseTime + 1300
	return &next
}

func keys(segments []Segment) []string {
	var out []string
	for _, s := range segments {
		out = append(out, s.Key().String())
	}
	return out
}

func TestDiffOpenSegmentCloses(t *testing.T) {
	prev := mustBuild(t, ringTable())
	cur := mustBuild(t, advance(ringTable()))

	change := Diff(prev, cur)

	require.Equal(t, []string{"ch01-hiv00000-slot001-1748190060640000"}, keys(change.Closed))
	require.Empty(t, change.Lost)
	require.Nil(t, change.Gap)
}

func TestDiffUnchanged(t *testing.T) {
	prev := mustBuild(t, ringTable())

	change := Diff(prev, prev)

	require.Empty(t, change.Closed)
	require.Empty(t, change.Lost)
	require.Nil(t, change.Gap)
}

func TestDiffFromEmptyCursor(t *testing.T) {
	cur := mustBuild(t, ringTable())

	change := DiffCursor(Cursor{}, cur)

	require.Len(t, change.Closed, 6)
	require.Equal(t, uint32(1), change.Closed[0].File, "oldest file first")
}

func TestDiffFileLeftAndFilesPassed(t *testing.T) {
	// The cursor saw only the first segment of file 1. Since then the camera
	// finished file 1, wrote file 2, and is in file 0.
	cur := mustBuild(t, ringTable())
	first := cur.Closed[0]
	cursor := Cursor{ModifyTimes: 90, Last: &first}

	change := DiffCursor(cursor, cur)

	require.Equal(t, keys(cur.Closed[1:]), keys(change.Closed))
	require.Nil(t, change.Gap)
}

func TestDiffRingPassedCursor(t *testing.T) {
	// The cursor's newest segment is no longer live: the camera went round
	// the whole ring, so everything live is new and the rest was lost.
	cur := mustBuild(t, ringTable())
	gone := Segment{Channel: 1, File: 1, Slot: 7, Start: PackTime(baseTime-50_000, 0), End: PackTime(baseTime-49_950, 0)}
	open := Segment{Channel: 1, File: 1, Slot: 8, Start: PackTime(baseTime-49_900, 0), Open: true}
	cursor := Cursor{ModifyTimes: 50, Last: &gone, Open: &open}

	change := DiffCursor(cursor, cur)

	require.Len(t, change.Closed, 6)
	require.NotNil(t, change.Gap)
	require.Equal(t, gone, change.Gap.After)
	require.Equal(t, cur.Closed[0], *change.Gap.Before)
	require.Equal(t, []Segment{open}, change.Lost)
}

func TestDiffStaleSnapshot(t *testing.T) {
	// index01.bin may lag behind index00.bin: an older snapshot that does
	// not hold the cursor's segment must not be taken for a wrapped ring.
	newer := mustBuild(t, advance(ringTable()))
	cursor := CursorOf(newer)
	older := ringTable()
	older.Header.ModifyTimes = newer.ModifyTimes - 1
	older.Slots[0][1] = Slot{}
	older.Header.Current[1].Slot = 1
	stale := mustBuild(t, older)
	stale.Closed = stale.Closed[:5]

	change := DiffCursor(cursor, stale)

	require.True(t, change.Stale)
	require.Empty(t, change.Closed)
	require.Nil(t, change.Gap)
}

func TestCursorOf(t *testing.T) {
	s := mustBuild(t, ringTable())

	c := CursorOf(s)

	require.Equal(t, uint64(100), c.ModifyTimes)
	require.Equal(t, s.Closed[5], *c.Last)
	require.Equal(t, *s.Open, *c.Open)
}
