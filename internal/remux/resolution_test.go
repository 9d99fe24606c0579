package remux

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/testserver"

	"github.com/hikarchive/hikarchive/internal/camsim"
)

// encodeClip encodes one second (25 frames) of testsrc2 at size, for
// example "320x180", as H.264 Annex B with SPS and PPS before the IDR frame.
func encodeClip(t *testing.T, size string) []byte {
	t.Helper()
	ffmpeg := requireTool(t, "ffmpeg")
	out := filepath.Join(t.TempDir(), size+".h264")
	msg, err := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size="+size+":rate=25:duration=1",
		"-c:v", "libx264", "-profile:v", "main", "-pix_fmt", "yuv420p", "-g", "25", "-bf", "0",
		"-x264-params", "repeat-headers=1", "-f", "h264", out).CombinedOutput()
	require.NoError(t, err, "ffmpeg: %s", msg)
	return readFile(t, out)
}

// frameSizes returns the width and height of every decoded video frame of
// path, in presentation order.
func frameSizes(t *testing.T, path string) []string {
	t.Helper()
	ffprobe := requireTool(t, "ffprobe")
	out, err := exec.Command(ffprobe, "-v", "error", "-select_streams", "v", "-show_entries", "frame=width,height",
		"-of", "json", path).Output()
	require.NoError(t, err)
	var listing struct {
		Frames []struct {
			Width  int `json:"width"`
			Height int `json:"height"`
		} `json:"frames"`
	}
	require.NoError(t, json.Unmarshal(out, &listing))
	sizes := make([]string, len(listing.Frames))
	for i, f := range listing.Frames {
		sizes[i] = strconv.Itoa(f.Width) + "x" + strconv.Itoa(f.Height)
	}
	return sizes
}

// repeat returns n copies of s.
func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestRemuxResolutionChange(t *testing.T) {
	small, large := encodeClip(t, "320x180"), encodeClip(t, "640x360")

	tests := []struct {
		name    string
		clips   [][]byte
		entries int
		sizes   []string
	}{
		{"small to large", [][]byte{small, large}, 2, append(repeat("320x180", 25), repeat("640x360", 25)...)},
		{"large to small and back", [][]byte{large, small, large}, 2,
			append(append(repeat("640x360", 25), repeat("320x180", 25)...), repeat("640x360", 25)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clip := bytes.Join(tt.clips, nil)
			src, _ := writeStream(t, camsim.StreamConfig{Clip: clip, Frames: 25 * len(tt.clips), Audio: camsim.AAC})
			path, info := remuxToFile(t, src)

			assert.Equal(t, tt.entries, info.SampleEntries)
			assert.Equal(t, len(tt.sizes), info.Frames)
			assert.Zero(t, info.DroppedFrames)
			assert.Equal(t, tt.sizes[0], strconv.Itoa(info.Width)+"x"+strconv.Itoa(info.Height), "Info size of the first entry")
			assert.Empty(t, decodeErrors(t, path))
			assert.Equal(t, tt.sizes, frameSizes(t, path), "decoded frame sizes")

			r := probe(t, path)
			v := streamOf(t, r, "video")
			assert.Equal(t, strconv.Itoa(len(tt.sizes)), v.NbReadFrames)
			assert.InDelta(t, float64(len(tt.sizes))/25, seconds(t, v.Duration), 0.04)
		})
	}
}

func TestChromiumPlaysResolutionChange(t *testing.T) {
	chromium := testserver.Chromium(t)
	small, large := encodeClip(t, "320x180"), encodeClip(t, "640x360")
	src, _ := writeStream(t, camsim.StreamConfig{Clip: append(small, large...), Frames: 50, Audio: camsim.AAC})
	var clip bytes.Buffer
	info, err := Remux(context.Background(), bytes.NewReader(src), int64(len(src)), &clip, Options{})
	require.NoError(t, err)
	require.Equal(t, 2, info.SampleEntries)

	// The larger picture starts at 1 s, so at 1.5 s Chromium shows it.
	got := testserver.PlayInChromium(t, chromium, clip.Bytes(), 1.5)
	assert.Empty(t, got.Error)
	assert.Greater(t, got.Time, 1.5, "playback advanced past the change")
	assert.Equal(t, 640, got.Width)
	assert.Equal(t, 360, got.Height)
	assert.Positive(t, got.AudioBytes, "audio decoded")
}
