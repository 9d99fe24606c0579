package index_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/camsim"
	"github.com/hikarchive/hikarchive/internal/index"
)

// recordsOfChannel returns the simulator's segments of one channel.
func recordsOfChannel(records []camsim.Recorded, channel uint16) []camsim.Recorded {
	var out []camsim.Recorded
	for _, r := range records {
		if r.Channel == channel {
			out = append(out, r)
		}
	}
	return out
}

func TestChannelViewsMatchSimulator(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nvr")
	channels := []uint16{2, 3, 4}
	camera, err := camsim.New(camsim.Config{Dir: dir, Files: 15, FileSize: 384 << 10, SegmentDuration: 3 * time.Second, Channel: 2, Channels: len(channels)})
	require.NoError(t, err)
	defer camera.Close()

	var reader index.Reader
	previous := map[uint16]*index.Snapshot{}
	reported := map[index.Key]bool{}
	steps := []time.Duration{1 * time.Second, 2500 * time.Millisecond, 7 * time.Second, 40 * time.Millisecond, 13 * time.Second}
	for i := 0; i < 200; i++ {
		require.NoError(t, camera.Advance(steps[i%len(steps)]))

		snapshot, err := reader.ReadDatadir(dir)
		require.NoError(t, err, "step %d", i)
		require.Len(t, snapshot.Channels, len(channels), "step %d: one view per channel", i)

		records := camera.Record()
		wantAll, _ := liveRecords(records)
		require.ElementsMatch(t, wantAll, snapshotKeys(snapshot), "step %d: the whole snapshot lists every channel's closed segments", i)

		for _, channel := range channels {
			view := snapshot.ChannelView(channel)
			require.NotNil(t, view, "step %d channel %d", i, channel)
			require.Equal(t, channel, view.Channel)

			wantClosed, wantOpen := liveRecords(recordsOfChannel(records, channel))
			require.Equal(t, wantClosed, snapshotKeys(view), "step %d channel %d: live closed segments in write order", i, channel)
			if wantOpen == nil {
				require.Nil(t, view.Open, "step %d channel %d", i, channel)
			} else {
				require.NotNil(t, view.Open, "step %d channel %d", i, channel)
				require.Equal(t, wantOpen.File, view.Open.File, "step %d channel %d", i, channel)
				require.Equal(t, wantOpen.Slot, view.Open.Slot, "step %d channel %d", i, channel)
				require.Equal(t, channel, view.Open.Channel)
			}

			// Diffs per channel report each closed segment once and
			// nothing as lost.
			if prev := previous[channel]; prev != nil {
				change := index.Diff(prev, view)
				require.Empty(t, change.Lost, "step %d channel %d", i, channel)
				require.Nil(t, change.Gap, "step %d channel %d", i, channel)
				for _, seg := range change.Closed {
					require.Equal(t, channel, seg.Channel)
					require.False(t, reported[seg.Key()], "step %d: %s reported twice", i, seg.Key())
					reported[seg.Key()] = true
				}
			} else {
				for _, seg := range view.Closed {
					reported[seg.Key()] = true
				}
			}
			previous[channel] = view
		}
	}

	overwritten := 0
	for _, r := range camera.Record() {
		if !r.Open {
			require.True(t, reported[index.Key{Channel: r.Channel, File: r.File, Slot: uint16(r.Slot), Start: r.Start}], "channel %d file %d slot %d never reported", r.Channel, r.File, r.Slot)
		}
		if r.Overwritten {
			overwritten++
		}
	}
	require.Greater(t, overwritten, 15*3, "the ring must have wrapped several times")
}

func TestChannelViewsFindOpenOfEveryChannel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nvr")
	camera, err := camsim.New(camsim.Config{Dir: dir, Files: 5, FileSize: 384 << 10, SegmentDuration: 3 * time.Second, Channels: 2})
	require.NoError(t, err)
	defer camera.Close()
	require.NoError(t, camera.Advance(40*time.Second+20*time.Millisecond))

	var reader index.Reader
	snapshot, err := reader.ReadDatadir(dir)
	require.NoError(t, err)

	require.Nil(t, snapshot.Open, "a multi-channel snapshot keeps open segments in its views")
	for _, view := range snapshot.Channels {
		require.NotNil(t, view.Open, "channel %d", view.Channel)
		found, ok := snapshot.Find(view.Open.Key())
		require.True(t, ok, "channel %d open segment", view.Channel)
		require.Equal(t, *view.Open, found)
	}
}
