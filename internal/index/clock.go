package index

import (
	"time"
)

// Reading classifies how a camera wall-clock reading maps to real instants in
// a time zone.
type Reading int

const (
	// ReadingUnique is a reading that names exactly one instant.
	ReadingUnique Reading = iota
	// ReadingAmbiguous is a reading in the hour that repeats when daylight
	// saving time ends: two instants show it.
	ReadingAmbiguous
	// ReadingSkipped is a reading in the hour that does not exist because
	// daylight saving time starts. A camera whose clock follows the same
	// rules never writes one, so it hints at a camera set to other rules.
	ReadingSkipped
)

// String returns the lower-case name of r.
func (r Reading) String() string {
	switch r {
	case ReadingUnique:
		return "unique"
	case ReadingAmbiguous:
		return "ambiguous"
	case ReadingSkipped:
		return "skipped"
	default:
		return "unknown"
	}
}

// Resolve returns the real instants that show reading p on a clock in loc,
// earliest first, and how the reading maps. For a unique reading both
// instants are equal. For an ambiguous one they are the first and the
// second time the clock showed it. For a skipped one they are the reading
// taken with the offset after and before the change, so earliest lies before
// the gap and latest after it.
//
// Unlike In, which follows time.Date and so picks a side that depends on the
// zone, Resolve is the same for every zone, and callers can choose.
func (p PackedTime) Resolve(loc *time.Location) (earliest, latest time.Time, kind Reading) {
	wall := p.Wall()
	reading := wall.Unix()

	var valid []time.Time
	offsets := zoneOffsetsAround(reading, loc)
	for _, offset := range offsets {
		instant := time.Unix(reading-int64(offset), int64(wall.Nanosecond())).UTC()
		if _, actual := instant.In(loc).Zone(); actual == offset {
			valid = appendInstant(valid, instant)
		}
	}

	switch len(valid) {
	case 1:
		return valid[0], valid[0], ReadingUnique
	case 0:
		// The offsets differ, so taking the reading with each of them
		// gives the two ends of the gap's image.
		first := time.Unix(reading-int64(offsets[0]), int64(wall.Nanosecond())).UTC()
		last := time.Unix(reading-int64(offsets[len(offsets)-1]), int64(wall.Nanosecond())).UTC()
		if last.Before(first) {
			first, last = last, first
		}
		return first, last, ReadingSkipped
	default:
		return valid[0], valid[len(valid)-1], ReadingAmbiguous
	}
}

// zoneOffsetsAround returns the UTC offsets, in seconds, that loc uses within
// 27 hours of the instant whose Unix seconds equal reading, ordered by time.
// UTC offsets lie between -12 and +14 hours, so every instant that shows the
// reading lies within that window.
func zoneOffsetsAround(reading int64, loc *time.Location) []int {
	var offsets []int
	add := func(t time.Time) {
		_, offset := t.In(loc).Zone()
		for _, o := range offsets {
			if o == offset {
				return
			}
		}
		offsets = append(offsets, offset)
	}

	const window = 27 * time.Hour
	from := time.Unix(reading, 0).Add(-window)
	until := time.Unix(reading, 0).Add(window)
	add(from)
	for t := from; t.Before(until); {
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() || !end.Before(until) {
			break
		}
		add(end)
		t = end
	}
	return offsets
}

func appendInstant(instants []time.Time, t time.Time) []time.Time {
	for i, existing := range instants {
		if existing.Equal(t) {
			return instants
		}
		if t.Before(existing) {
			return append(instants[:i], append([]time.Time{t}, instants[i:]...)...)
		}
	}
	return append(instants, t)
}

// ClockSuspicion names why a camera's clock reading looks wrong. The empty
// value means nothing looks wrong. The values are short and stable, so the
// archiver can store them in object metadata.
type ClockSuspicion string

const (
	// ClockPlausible is a reading with nothing suspect about it.
	ClockPlausible ClockSuspicion = ""
	// ClockEpoch is a reading in 1970: the clock restarted from Unix time 0,
	// as it does after losing power without a time source.
	ClockEpoch ClockSuspicion = "reset-1970"
	// ClockFirmwareDefault is a reading in 2000, a default date of embedded
	// clocks after a reset and too old to be a real recording of this format.
	ClockFirmwareDefault ClockSuspicion = "reset-2000"
	// ClockPast is a reading before 2005 and not in 1970 or 2000.
	ClockPast ClockSuspicion = "before-2005"
	// ClockFuture is a reading later than now by more than any time zone
	// and FutureSlack explain.
	ClockFuture ClockSuspicion = "future"
)

// earliestPlausibleYear is the first year a reading may fall in without being
// flagged.
//
// NOTE: 2005 is a judgement, not a documented fact. The index format is
// known only from cameras sold long after it, so an earlier reading most
// likely comes from a reset clock.
const earliestPlausibleYear = 2005

// maxZoneOffset is the largest UTC offset of any time zone (UTC+14, Line
// Islands). A camera writes its local reading as if it were UTC, so a correct
// reading can be this far ahead of real UTC.
const maxZoneOffset = 14 * time.Hour

// FutureSlack is how far past now plus the largest time zone offset a reading
// may be before ClockSuspect calls it the future. It absorbs a camera clock
// that drifted or a host clock that is behind.
const FutureSlack = 24 * time.Hour

// ClockSuspect reports whether reading p of a camera's clock looks like a
// clock that was reset or set wrong, judged against the real time now (any
// location). It flags the years 1970 and 2000, other years before 2005, and
// readings more than 14 hours (the largest UTC offset) plus FutureSlack ahead
// of now. It returns ClockPlausible otherwise.
func ClockSuspect(p PackedTime, now time.Time) ClockSuspicion {
	wall := p.Wall()

	switch year := wall.Year(); {
	case year == 1970:
		return ClockEpoch
	case year == 2000:
		return ClockFirmwareDefault
	case year < earliestPlausibleYear:
		return ClockPast
	}

	if wall.After(now.UTC().Add(maxZoneOffset + FutureSlack)) {
		return ClockFuture
	}
	return ClockPlausible
}
