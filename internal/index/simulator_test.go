package index_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/camsim"
	"github.com/hikarchive/hikarchive/internal/index"
)

// liveRecords returns the closed segments the simulator wrote that its ring
// still holds, and its open segment, in recording order.
func liveRecords(records []camsim.Recorded) (closed []index.Key, open *index.Key) {
	for _, r := range records {
		key := index.Key{Channel: r.Channel, File: r.File, Slot: uint16(r.Slot), Start: r.Start}
		switch {
		case r.Overwritten:
		case r.Open:
			open = &key
		default:
			closed = append(closed, key)
		}
	}
	return closed, open
}

func snapshotKeys(s *index.Snapshot) []index.Key {
	var keys []index.Key
	for _, seg := range s.Closed {
		keys = append(keys, seg.Key())
	}
	return keys
}

func TestSnapshotMatchesSimulatorAcrossWraps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "camera")
	camera, err := camsim.New(camsim.Config{Dir: dir, Files: 5, FileSize: 384 << 10, SegmentDuration: 3 * time.Second})
	require.NoError(t, err)
	defer camera.Close()

	var reader index.Reader
	var previous *index.Snapshot
	reported := map[index.Key]bool{}
	// Steps of varying length: some close no segment, some several, and
	// some cross into the next file.
	steps := []time.Duration{1 * time.Second, 2500 * time.Millisecond, 7 * time.Second, 40 * time.Millisecond, 13 * time.Second}
	for i := 0; i < 300; i++ {
		require.NoError(t, camera.Advance(steps[i%len(steps)]))

		snapshot, err := reader.ReadDatadir(dir)
		require.NoError(t, err, "step %d", i)

		records := camera.Record()
		wantClosed, wantOpen := liveRecords(records)
		require.Equal(t, wantClosed, snapshotKeys(snapshot), "step %d: live closed segments", i)
		if wantOpen == nil {
			require.Nil(t, snapshot.Open, "step %d", i)
		} else {
			require.NotNil(t, snapshot.Open, "step %d", i)
			require.Equal(t, wantOpen.Start.Seconds(), snapshot.Open.Start.Seconds(), "step %d", i)
			require.Equal(t, wantOpen.File, snapshot.Open.File, "step %d", i)
			require.Equal(t, wantOpen.Slot, snapshot.Open.Slot, "step %d", i)
		}

		// Each diff reports exactly the segments that closed since the
		// previous read, oldest first, and nothing as lost: no step here
		// is long enough for the camera to go round its ring.
		if previous != nil {
			change := index.Diff(previous, snapshot)
			require.Empty(t, change.Lost, "step %d", i)
			require.Nil(t, change.Gap, "step %d", i)
			for _, seg := range change.Closed {
				require.False(t, reported[seg.Key()], "step %d: %s reported twice", i, seg.Key())
				reported[seg.Key()] = true
			}
		} else {
			for _, seg := range snapshot.Closed {
				reported[seg.Key()] = true
			}
		}
		previous = snapshot
	}

	wraps := 0
	for _, r := range camera.Record() {
		if !r.Open {
			require.True(t, reported[index.Key{Channel: r.Channel, File: r.File, Slot: uint16(r.Slot), Start: r.Start}], "segment in file %d slot %d never reported", r.File, r.Slot)
		}
		if r.Overwritten {
			wraps++
		}
	}
	require.Greater(t, wraps, 5*3, "the ring must have wrapped several times")
}
