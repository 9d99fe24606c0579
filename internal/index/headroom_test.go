package index_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/camsim"
	"github.com/hikarchive/hikarchive/internal/index"
)

func TestHeadroomPredictsRecycle(t *testing.T) {
	// From several moments, advance the camera second by second until the
	// file of a live segment in the middle of the ring is recycled, and
	// compare that camera time with the estimate.
	const fileSize = 384 << 10
	for i, start := range []time.Duration{3 * time.Minute, 3*time.Minute + 7*time.Second, 3*time.Minute + 19*time.Second, 4 * time.Minute} {
		dir := filepath.Join(t.TempDir(), "camera")
		channels := 1 + i%2
		camera, err := camsim.New(camsim.Config{Dir: dir, Files: 6, FileSize: fileSize, SegmentDuration: 3 * time.Second, Channels: channels})
		require.NoError(t, err)
		require.NoError(t, camera.Advance(start))

		var reader index.Reader
		snapshot, err := reader.ReadDatadir(dir)
		require.NoError(t, err)
		target := snapshot.Closed[len(snapshot.Closed)/2]
		estimate, ok := snapshot.HeadroomFor(target, fileSize)
		require.True(t, ok)
		require.Positive(t, estimate.BytesPerSecond)

		var actual time.Duration
		for step := 0; step < 1000; step++ {
			snapshot, err = reader.ReadDatadir(dir)
			require.NoError(t, err)
			if _, live := snapshot.Find(target.Key()); !live {
				break
			}
			require.NoError(t, camera.Advance(time.Second))
			actual += time.Second
		}
		require.NoError(t, camera.Close())

		t.Logf("%d channels from %v: estimated %v, recycled after %v", channels, start, estimate.Time, actual)
		// The estimate ignores the info region at the end of each file
		// (small here), and the steps are one second.
		require.InDelta(t, estimate.Time.Seconds(), actual.Seconds(), 0.15*estimate.Time.Seconds()+2, "from %v", start)
	}
}

func TestHeadroomNeedsRate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "camera")
	camera, err := camsim.New(camsim.Config{Dir: dir, Files: 3, FileSize: 384 << 10, SegmentDuration: 3 * time.Second})
	require.NoError(t, err)
	defer camera.Close()
	require.NoError(t, camera.Advance(4*time.Second))

	var reader index.Reader
	snapshot, err := reader.ReadDatadir(dir)
	require.NoError(t, err)
	require.Len(t, snapshot.Closed, 1)

	_, ok := snapshot.HeadroomFor(snapshot.Closed[0], 384<<10)
	require.False(t, ok, "one closed segment gives no rate")
}
