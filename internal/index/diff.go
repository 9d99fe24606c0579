package index

// Cursor is a scanner's position in one datadir: the newest closed segment it
// reported and the segment that was open then. It is small enough to store
// per camera and datadir in a key-value bucket.
type Cursor struct {
	ModifyTimes uint64   `json:"modify_times"`
	Last        *Segment `json:"last,omitempty"` // newest closed segment already reported
	Open        *Segment `json:"open,omitempty"` // open segment at that time
}

// CursorOf returns a cursor that marks every closed segment of s as
// reported.
func CursorOf(s *Snapshot) Cursor {
	c := Cursor{ModifyTimes: s.ModifyTimes}
	if n := len(s.Closed); n > 0 {
		last := s.Closed[n-1]
		c.Last = &last
	}
	if s.Open != nil {
		open := *s.Open
		c.Open = &open
	}
	return c
}

// Gap is a stretch of the ring that the camera overwrote before any snapshot
// showed it: the segment the cursor remembered is gone, so everything the
// camera recorded between it and the oldest live segment was lost unseen.
type Gap struct {
	After  Segment  // the last segment reported before the gap
	Before *Segment // the oldest live segment after it, nil if none
}

// Change is the difference between a cursor and a newer snapshot.
type Change struct {
	// Closed lists the segments that closed since the cursor, oldest first.
	Closed []Segment
	// Lost lists segments seen open that were overwritten before any
	// snapshot showed them closed.
	Lost []Segment
	// Gap is set when the ring moved past the cursor between two snapshots.
	Gap *Gap
	// Stale is set when the snapshot is older than the cursor (for example
	// the backup copy index01.bin lagging behind): nothing was reported.
	Stale bool
}

// Diff returns the segments that closed between prev and cur, and those
// that were lost in between.
func Diff(prev, cur *Snapshot) Change {
	return DiffCursor(CursorOf(prev), cur)
}

// DiffCursor returns what happened between cursor c and snapshot cur.
//
// The live segments of a snapshot are in the order the camera wrote them, and
// the camera only ever overwrites the oldest ones. So the segments after the
// cursor's newest reported segment are the new ones. If that segment is no
// longer live, the camera went round its whole ring since: every live
// segment is new, and whatever it recorded in between is lost.
func DiffCursor(c Cursor, cur *Snapshot) Change {
	var change Change

	position := -1
	if c.Last != nil {
		position = cur.position(c.Last.Key())
		if position < 0 && cur.ModifyTimes < c.ModifyTimes {
			// An older copy of the index, not a ring that moved on.
			// TODO: a storage reformatted by the camera also restarts the
			// counter; that case waits here until the cursor is reset.
			change.Stale = true
			return change
		}
		if position < 0 {
			change.Gap = &Gap{After: *c.Last}
			if len(cur.Closed) > 0 {
				oldest := cur.Closed[0]
				change.Gap.Before = &oldest
			} else if cur.Open != nil {
				open := *cur.Open
				change.Gap.Before = &open
			}
		}
	}

	change.Closed = append(change.Closed, cur.Closed[position+1:]...)

	if c.Open != nil && !cur.holds(*c.Open) {
		change.Lost = append(change.Lost, *c.Open)
	}
	return change
}

// holds reports whether the recording that open describes is still live in
// s, open or closed. Cameras write an open slot's start time without its
// microseconds and add them when the segment closes, so the match ignores
// them.
func (s *Snapshot) holds(open Segment) bool {
	same := func(seg Segment) bool {
		return seg.Channel == open.Channel && seg.File == open.File && seg.Slot == open.Slot &&
			seg.Start.Seconds() == open.Start.Seconds()
	}

	if s.Open != nil && same(*s.Open) {
		return true
	}
	for i := len(s.Closed) - 1; i >= 0; i-- {
		if same(s.Closed[i]) {
			return true
		}
	}
	return false
}
