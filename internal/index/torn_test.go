package index_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/camsim"
	"github.com/hikarchive/hikarchive/internal/index"
)

// indexWrite is one index write of the simulator: its bytes and the
// segments it describes.
type indexWrite struct {
	data    []byte
	records []camsim.Recorded
}

// checkAgainstRecord fails when an accepted snapshot lists other closed
// segments than the simulator had when it wrote the index with the
// snapshot's modifyTimes, or an open segment it did not have. A snapshot
// may show no open segment where the simulator had just opened one: that
// read only says the next segment is not open yet, which no diff turns
// into an event.
func checkAgainstRecord(t *testing.T, snapshot *index.Snapshot, records []camsim.Recorded, channels []uint16, context string) {
	t.Helper()

	for _, channel := range channels {
		wantClosed, wantOpen := liveRecords(recordsOfChannel(records, channel))
		view := snapshot.ChannelView(channel)
		if view == nil {
			require.Empty(t, wantClosed, "%s channel %d: the snapshot has no view but the simulator has segments", context, channel)
			continue
		}

		require.Equal(t, wantClosed, snapshotKeys(view), "%s channel %d: closed segments", context, channel)
		if view.Open != nil {
			require.NotNil(t, wantOpen, "%s channel %d: phantom open segment %s", context, channel, view.Open.Key())
			require.Equal(t, wantOpen.File, view.Open.File, "%s channel %d", context, channel)
			require.Equal(t, wantOpen.Slot, view.Open.Slot, "%s channel %d", context, channel)
			require.Equal(t, wantOpen.Start.Seconds(), view.Open.Start.Seconds(), "%s channel %d", context, channel)
		}
	}
}

// tear returns what a reader sees when a camera rewriting old into new in
// place has written the bytes before split, with the header written first
// or last.
func tear(old, new []byte, split int, headerFirst bool) []byte {
	torn := bytes.Clone(old)
	copy(torn[index.HeaderSize:split], new[index.HeaderSize:split])
	if headerFirst {
		copy(torn[:index.HeaderSize], new[:index.HeaderSize])
	}
	return torn
}

func TestTornIndexEverySplitPoint(t *testing.T) {
	// Every pair of consecutive index writes, torn at every 512-byte
	// boundary with the header written first or last: a torn read is
	// either rejected or agrees with the write whose header it shows.
	channels := []uint16{1, 2}
	var writes []indexWrite
	camera, err := camsim.New(camsim.Config{
		Dir: filepath.Join(t.TempDir(), "camera"), Files: 6, FileSize: 256 << 10, SegmentDuration: 2 * time.Second, Channels: len(channels),
		OnIndexWrite: func(_ uint64, data []byte, records []camsim.Recorded) {
			writes = append(writes, indexWrite{data: bytes.Clone(data), records: records})
		},
	})
	require.NoError(t, err)
	defer camera.Close()
	require.NoError(t, camera.Advance(150*time.Second))

	byModifyTimes := map[uint64][]camsim.Recorded{}
	for i, w := range writes {
		byModifyTimes[uint64(i+1)] = w.records
	}

	accepted, rejected, wrapped := 0, 0, false
	for i := 1; i < len(writes); i++ {
		old, new := writes[i-1].data, writes[i].data
		for split := index.HeaderSize; split <= len(new); split += 512 {
			for _, headerFirst := range []bool{true, false} {
				snapshot, err := index.Build("torn", tear(old, new, min(split, len(new)), headerFirst))
				if err != nil {
					require.ErrorIs(t, err, index.ErrFormat)
					rejected++
					continue
				}
				accepted++
				records, ok := byModifyTimes[snapshot.ModifyTimes]
				require.True(t, ok, "write %d: snapshot shows modifyTimes %d, which no write had", i, snapshot.ModifyTimes)
				checkAgainstRecord(t, snapshot, records, channels, fmt.Sprintf("write %d split %d header first %v", i, split, headerFirst))
				if snapshot.OldestFile != 0 {
					wrapped = true
				}
			}
		}
	}

	t.Logf("%d index writes, %d torn reads accepted, %d rejected", len(writes), accepted, rejected)
	require.True(t, wrapped, "the ring must have wrapped")
	require.Positive(t, rejected, "some tears must be detected")
	require.Positive(t, accepted)
}

func TestTornIndexConcurrentReader(t *testing.T) {
	for _, mode := range []camsim.IndexWriteMode{camsim.IndexInPlaceHeaderFirst, camsim.IndexInPlaceHeaderLast} {
		t.Run(string(mode), func(t *testing.T) {
			channels := []uint16{1, 2}
			var mu sync.Mutex
			byModifyTimes := map[uint64][]camsim.Recorded{}
			dir := filepath.Join(t.TempDir(), "camera")
			camera, err := camsim.New(camsim.Config{
				Dir: dir, Files: 6, FileSize: 256 << 10, SegmentDuration: 2 * time.Second, Channels: len(channels),
				IndexWrite: mode, IndexChunk: 4096, IndexChunkDelay: 50 * time.Microsecond,
				OnIndexWrite: func(modifyTimes uint64, _ []byte, records []camsim.Recorded) {
					mu.Lock()
					byModifyTimes[modifyTimes] = records
					mu.Unlock()
				},
			})
			require.NoError(t, err)
			defer camera.Close()

			done := make(chan error, 1)
			go func() {
				for i := 0; i < 25; i++ {
					if err := camera.Advance(time.Second); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()

			var reader index.Reader
			accepted, rejected := 0, 0
			for finished := false; !finished; {
				select {
				case err := <-done:
					require.NoError(t, err)
					finished = true
				default:
				}

				snapshot, err := reader.ReadDatadir(dir)
				if err != nil {
					rejected++
					continue
				}
				accepted++
				mu.Lock()
				records, ok := byModifyTimes[snapshot.ModifyTimes]
				mu.Unlock()
				require.True(t, ok, "snapshot shows modifyTimes %d, which no write had", snapshot.ModifyTimes)
				checkAgainstRecord(t, snapshot, records, channels, "concurrent read")
			}

			t.Logf("%s: %d reads accepted, %d rejected", mode, accepted, rejected)
			require.Positive(t, accepted)
		})
	}
}
