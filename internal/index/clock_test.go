package index

import (
	"testing"
	"time"
	_ "time/tzdata" // the tests need Europe/Berlin and America/New_York on any machine

	"github.com/stretchr/testify/require"
)

func loadLocation(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err, "time zone database must contain %s", name)
	return loc
}

// reading returns the packed time a camera writes when its clock shows the
// given local date and time.
func reading(year int, month time.Month, day, hour, minute int) PackedTime {
	return PackWall(time.Date(year, month, day, hour, minute, 0, 0, time.UTC))
}

func utc(year int, month time.Month, day, hour, minute int) time.Time {
	return time.Date(year, month, day, hour, minute, 0, 0, time.UTC)
}

// The expectations for In pin Go's time.Date rule, which the scanner relies
// on through In. A reading in a gap or an overlap takes the offset in effect
// at the instant whose UTC fields equal the reading, when that offset is
// consistent. So the side chosen differs between zones east and west of UTC.

func TestInBerlinSpringGap(t *testing.T) {
	berlin := loadLocation(t, "Europe/Berlin")

	// 2025-03-30 02:30 does not exist in Berlin: clocks go 02:00 CET -> 03:00 CEST.
	got := reading(2025, time.March, 30, 2, 30).In(berlin)

	require.Equal(t, utc(2025, time.March, 30, 1, 30), got, "time.Date reads the missing 02:30 as 03:30 CEST")
}

func TestInBerlinAutumnOverlap(t *testing.T) {
	berlin := loadLocation(t, "Europe/Berlin")

	// 2025-10-26 02:30 happens twice in Berlin: first CEST, then CET.
	got := reading(2025, time.October, 26, 2, 30).In(berlin)

	require.Equal(t, utc(2025, time.October, 26, 1, 30), got, "time.Date picks the second 02:30 (CET) in Berlin")
}

func TestInNewYorkSpringGap(t *testing.T) {
	newYork := loadLocation(t, "America/New_York")

	// 2025-03-09 02:30 does not exist in New York: clocks go 02:00 EST -> 03:00 EDT.
	got := reading(2025, time.March, 9, 2, 30).In(newYork)

	require.Equal(t, utc(2025, time.March, 9, 6, 30), got, "time.Date reads the missing 02:30 as 01:30 EST")
}

func TestInNewYorkAutumnOverlap(t *testing.T) {
	newYork := loadLocation(t, "America/New_York")

	// 2025-11-02 01:30 happens twice in New York: first EDT, then EST.
	got := reading(2025, time.November, 2, 1, 30).In(newYork)

	require.Equal(t, utc(2025, time.November, 2, 5, 30), got, "time.Date picks the first 01:30 (EDT) in New York")
}

func TestResolveUnique(t *testing.T) {
	berlin := loadLocation(t, "Europe/Berlin")
	p := PackTime(uint32(utc(2025, time.May, 25, 12, 0).Unix()), 250_000)

	earliest, latest, kind := p.Resolve(berlin)

	require.Equal(t, ReadingUnique, kind)
	require.Equal(t, utc(2025, time.May, 25, 10, 0).Add(250*time.Millisecond), earliest)
	require.Equal(t, earliest, latest)
	require.Equal(t, p.In(berlin), earliest, "Resolve and In agree outside transitions")
}

func TestResolveBerlinAutumnOverlap(t *testing.T) {
	berlin := loadLocation(t, "Europe/Berlin")

	earliest, latest, kind := reading(2025, time.October, 26, 2, 30).Resolve(berlin)

	require.Equal(t, ReadingAmbiguous, kind)
	require.Equal(t, utc(2025, time.October, 26, 0, 30), earliest, "first 02:30, CEST")
	require.Equal(t, utc(2025, time.October, 26, 1, 30), latest, "second 02:30, CET")
}

func TestResolveNewYorkAutumnOverlap(t *testing.T) {
	newYork := loadLocation(t, "America/New_York")

	earliest, latest, kind := reading(2025, time.November, 2, 1, 30).Resolve(newYork)

	require.Equal(t, ReadingAmbiguous, kind)
	require.Equal(t, utc(2025, time.November, 2, 5, 30), earliest, "first 01:30, EDT")
	require.Equal(t, utc(2025, time.November, 2, 6, 30), latest, "second 01:30, EST")
}

func TestResolveBerlinSpringGap(t *testing.T) {
	berlin := loadLocation(t, "Europe/Berlin")

	earliest, latest, kind := reading(2025, time.March, 30, 2, 30).Resolve(berlin)

	require.Equal(t, ReadingSkipped, kind)
	require.Equal(t, utc(2025, time.March, 30, 0, 30), earliest, "02:30 read with CEST, before the gap")
	require.Equal(t, utc(2025, time.March, 30, 1, 30), latest, "02:30 read with CET, after the gap")
}

func TestResolveNewYorkSpringGap(t *testing.T) {
	newYork := loadLocation(t, "America/New_York")

	earliest, latest, kind := reading(2025, time.March, 9, 2, 30).Resolve(newYork)

	require.Equal(t, ReadingSkipped, kind)
	require.Equal(t, utc(2025, time.March, 9, 6, 30), earliest, "02:30 read with EDT, before the gap")
	require.Equal(t, utc(2025, time.March, 9, 7, 30), latest, "02:30 read with EST, after the gap")
}

func TestResolveUTC(t *testing.T) {
	p := reading(2025, time.October, 26, 2, 30)

	earliest, latest, kind := p.Resolve(time.UTC)

	require.Equal(t, ReadingUnique, kind)
	require.Equal(t, utc(2025, time.October, 26, 2, 30), earliest)
	require.Equal(t, earliest, latest)
}

func TestResolveEdgesOfOverlap(t *testing.T) {
	berlin := loadLocation(t, "Europe/Berlin")

	_, _, before := reading(2025, time.October, 26, 1, 59).Resolve(berlin)
	_, _, start := reading(2025, time.October, 26, 2, 0).Resolve(berlin)
	_, _, after := reading(2025, time.October, 26, 3, 0).Resolve(berlin)

	require.Equal(t, ReadingUnique, before, "01:59 happens once")
	require.Equal(t, ReadingAmbiguous, start, "02:00 happens twice")
	require.Equal(t, ReadingUnique, after, "03:00 happens once")
}

var clockNow = utc(2025, time.May, 25, 12, 0)

func TestClockSuspectEpoch(t *testing.T) {
	require.Equal(t, ClockEpoch, ClockSuspect(PackTime(3600, 0), clockNow))
}

func TestClockSuspectZeroTime(t *testing.T) {
	require.Equal(t, ClockEpoch, ClockSuspect(0, clockNow), "an unwritten time reads as 1970")
}

func TestClockSuspectFirmwareDefault(t *testing.T) {
	require.Equal(t, ClockFirmwareDefault, ClockSuspect(reading(2000, time.January, 1, 0, 5), clockNow))
}

func TestClockSuspectOtherPast(t *testing.T) {
	require.Equal(t, ClockPast, ClockSuspect(reading(1999, time.December, 31, 23, 0), clockNow))
}

func TestClockSuspectFuture(t *testing.T) {
	require.Equal(t, ClockFuture, ClockSuspect(reading(2037, time.January, 1, 0, 0), clockNow))
}

func TestClockSuspectEastOfUTC(t *testing.T) {
	// A camera at UTC+14 shows a reading 14 hours ahead of real UTC.
	require.Equal(t, ClockPlausible, ClockSuspect(PackWall(clockNow.Add(14*time.Hour)), clockNow))
}

func TestClockSuspectJustPastSlack(t *testing.T) {
	p := PackWall(clockNow.Add(maxZoneOffset + FutureSlack + time.Minute))

	require.Equal(t, ClockFuture, ClockSuspect(p, clockNow))
}

func TestClockSuspectPlausible(t *testing.T) {
	require.Equal(t, ClockPlausible, ClockSuspect(reading(2025, time.May, 25, 9, 0), clockNow))
	require.Equal(t, ClockPlausible, ClockSuspect(reading(2005, time.January, 1, 0, 0), clockNow), "2005 is the first plausible year")
}

func TestClockSuspectCorpus(t *testing.T) {
	data := loadCorpusIndex(t)
	s, err := Build("corpus", data)
	require.NoError(t, err)
	now := utc(2025, time.June, 1, 0, 0)

	for _, seg := range s.Closed {
		require.Equal(t, ClockPlausible, ClockSuspect(seg.Start, now), "segment %s", seg.Key())
	}
}
