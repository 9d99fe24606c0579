package remux

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/testserver"

	"github.com/hikarchive/hikarchive/internal/camsim"
)

// TestChromiumPlaysClip serves remuxed clips from a loopback HTTP server,
// which supports range requests, and plays them in headless Chromium.
func TestChromiumPlaysClip(t *testing.T) {
	chromium := testserver.Chromium(t)

	for name, cfg := range map[string]camsim.StreamConfig{
		"h264":           {Frames: 75},
		"h264 with alaw": {Frames: 75, Audio: camsim.G711A},
		"h264 with aac":  {Frames: 75, Audio: camsim.AAC},
	} {
		t.Run(name, func(t *testing.T) {
			src, _ := writeStream(t, cfg)
			var clip bytes.Buffer
			_, err := Remux(context.Background(), bytes.NewReader(src), int64(len(src)), &clip, Options{})
			require.NoError(t, err)

			got := testserver.PlayInChromium(t, chromium, clip.Bytes(), 1)
			assert.Empty(t, got.Error)
			assert.Greater(t, got.Time, 1.0, "playback advanced past 1 s")
			assert.Equal(t, 320, got.Width)
			assert.Equal(t, 180, got.Height)
			if cfg.Audio != camsim.NoAudio {
				assert.Positive(t, got.AudioBytes, "audio decoded")
			}
		})
	}
}
