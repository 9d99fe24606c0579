package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/camsim"
	"github.com/hikarchive/hikarchive/internal/index"
)

// storageDigest returns the SHA-256 of every file in dir, by name.
func storageDigest(t *testing.T, dir string) map[string]string {
	t.Helper()
	digests := map[string]string{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, entry := range entries {
		data, err := os.ReadFile(filepath.Join(dir, entry.Name()))
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		digests[entry.Name()] = hex.EncodeToString(sum[:])
	}
	return digests
}

func newExtractCamera(t *testing.T) (*camsim.Camera, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "camera")
	camera, err := camsim.New(camsim.Config{Dir: dir, Files: 6, FileSize: 512 << 10, SegmentDuration: 4 * time.Second, Channels: 2})
	require.NoError(t, err)
	t.Cleanup(func() { camera.Close() })
	require.NoError(t, camera.Advance(100*time.Second))
	return camera, dir
}

func TestExtractRangeWritesExactBytes(t *testing.T) {
	camera, dir := newExtractCamera(t)
	before := storageDigest(t, dir)
	out := t.TempDir()
	from := camsim.DefaultStart.Add(60 * time.Second)
	to := camsim.DefaultStart.Add(80 * time.Second)

	summary, err := extractRange(extractOptions{Root: dir, Out: out, Camera: "yard", Location: time.UTC, From: from, To: to})
	require.NoError(t, err)

	var want []camsim.Recorded
	for _, r := range camera.Record() {
		if r.Open || r.Overwritten || r.End.Wall().Before(from) || !r.Start.Wall().Before(to) {
			continue
		}
		want = append(want, r)
	}
	require.NotEmpty(t, want)
	require.Equal(t, len(want), summary.Written)
	require.Zero(t, summary.Overwritten)
	require.Len(t, summary.Files, len(want))

	byName := map[string]string{}
	for _, path := range summary.Files {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		byName[filepath.Base(path)] = hex.EncodeToString(sum[:])
		require.True(t, strings.HasPrefix(path, filepath.Join(out, "yard", "2025", "05", "01")+string(filepath.Separator)), "path %s", path)
	}
	for _, r := range want {
		name := fmt.Sprintf("%s_sd_ch%02d-hiv%05d-slot%03d.ps", r.Start.Wall().Format("20060102T150405.000000Z"), r.Channel, r.File, r.Slot)
		require.Equal(t, r.SHA256, byName[name], "channel %d file %d slot %d as %s", r.Channel, r.File, r.Slot, name)
	}

	require.Equal(t, before, storageDigest(t, dir), "the camera storage must not change")

	// A second run finds every file in place.
	again, err := extractRange(extractOptions{Root: dir, Out: out, Camera: "yard", Location: time.UTC, From: from, To: to})
	require.NoError(t, err)
	require.Zero(t, again.Written)
	require.Equal(t, len(want), again.Skipped)
}

func TestExtractSkipsSegmentOverwrittenDuringCopy(t *testing.T) {
	camera, dir := newExtractCamera(t)
	out := t.TempDir()
	overwrote := false

	summary, err := extractRange(extractOptions{
		Root: dir, Out: out, Camera: "yard", Location: time.UTC,
		afterCopy: func(index.Segment) {
			if overwrote {
				return
			}
			// The camera goes round its ring while the first segment,
			// the oldest, is being copied.
			overwrote = true
			require.NoError(t, camera.Advance(40*time.Second))
		},
	})
	require.NoError(t, err)

	require.GreaterOrEqual(t, summary.Overwritten, 1, "the first segment was recycled during its copy")
	for _, path := range summary.Files {
		require.FileExists(t, path)
	}
	leftovers, err := filepath.Glob(filepath.Join(out, "*", "*", "*", "*", ".*.tmp-*"))
	require.NoError(t, err)
	require.Empty(t, leftovers, "no temporary file may stay behind")
	require.Positive(t, summary.Written)
}

func TestExtractCommandArguments(t *testing.T) {
	_, dir := newExtractCamera(t)
	require.Equal(t, 2, extract([]string{dir}), "missing -out")
	require.Equal(t, 2, extract([]string{dir, "-out", t.TempDir(), "-from", "2025-05-01 08:01", "-to", "2025-05-01 08:00"}), "empty range")
	require.Equal(t, 2, extract([]string{dir, "-out", t.TempDir(), "-tz", "Mars/Olympus"}))
	require.Equal(t, 0, extract([]string{dir, "-out", t.TempDir(), "-from", "2025-05-01 08:00:30", "-to", "2025-05-01 08:00:50", "-quiet"}))
}
