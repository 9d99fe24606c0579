package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/testserver"
)

// TestChromiumPlaysArchivedClip archives a few segments through the whole
// pipeline, downloads an MP4 clip from MinIO and plays it in headless
// Chromium, as a user opening the archive in a browser would.
func TestChromiumPlaysArchivedClip(t *testing.T) {
	chromium := testserver.Chromium(t)

	e := newEnv(t, 4, 1<<20)
	s := e.scanner()
	e.startArchiver(e.archiverOptions(e.store))
	e.record(s, 5, 3*time.Second)
	e.waitDrained()

	archived := e.archivedEvents()
	require.NotEmpty(t, archived)
	var clipKey string
	for _, event := range archived {
		if strings.HasSuffix(event.Objects.Clip, ".mp4") {
			clipKey = event.Objects.Clip
			break
		}
	}
	require.NotEmpty(t, clipKey, "no archived segment has an MP4 clip")
	clip := e.get(e.store, clipKey)
	require.Equal(t, "ftyp", string(clip[4:8]), "clip %s is not an MP4", clipKey)

	got := testserver.PlayInChromium(t, chromium, clip, 1)
	t.Logf("Chromium played %s to %.2f s at %dx%d", clipKey, got.Time, got.Width, got.Height)
	assert.Empty(t, got.Error, "clip %s", clipKey)
	assert.Greater(t, got.Time, 1.0, "playback of %s advanced past 1 s", clipKey)
	assert.Equal(t, 320, got.Width)
	assert.Equal(t, 180, got.Height)
}
