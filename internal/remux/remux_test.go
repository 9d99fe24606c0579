package remux

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/camsim"
)

// requireTool skips the test when a command-line tool is missing, unless
// HIKARCHIVE_REQUIRE_SERVERS=1 makes that a failure.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("HIKARCHIVE_REQUIRE_SERVERS") == "1" {
			t.Fatalf("%s not found and HIKARCHIVE_REQUIRE_SERVERS=1: install it (apt-get install -y ffmpeg)", name)
		}
		t.Skipf("%s not found; install ffmpeg to run this test", name)
	}
	return path
}

// writeStream writes a simulated program stream and returns it.
func writeStream(t *testing.T, cfg camsim.StreamConfig) ([]byte, camsim.StreamInfo) {
	t.Helper()
	var buf bytes.Buffer
	info, err := camsim.WriteStream(&buf, cfg)
	require.NoError(t, err)
	return buf.Bytes(), info
}

// remuxToFile remuxes src into a file in a temporary folder, checks that
// the planned size matches the bytes written, and returns the file's path.
func remuxToFile(t *testing.T, src []byte) (string, Info) {
	t.Helper()
	plan, err := Prepare(context.Background(), bytes.NewReader(src), int64(len(src)), Options{})
	require.NoError(t, err)

	path := filepath.Join(t.TempDir(), "clip.mp4")
	f, err := os.Create(path)
	require.NoError(t, err)
	n, err := plan.WriteTo(context.Background(), f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	assert.Equal(t, plan.Size(), n, "bytes written")
	assert.Equal(t, plan.Size(), plan.Info().Size, "Info.Size")
	return path, plan.Info()
}

// probeStream is the part of ffprobe's stream output the tests check.
type probeStream struct {
	CodecType    string `json:"codec_type"`
	CodecName    string `json:"codec_name"`
	CodecTag     string `json:"codec_tag_string"`
	Profile      string `json:"profile"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	SampleRate   string `json:"sample_rate"`
	Channels     int    `json:"channels"`
	NbFrames     string `json:"nb_frames"`
	NbReadFrames string `json:"nb_read_frames"`
	Duration     string `json:"duration"`
}

type probeResult struct {
	Streams []probeStream `json:"streams"`
	Format  struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// probe runs ffprobe on path, decoding every frame to count them.
func probe(t *testing.T, path string) probeResult {
	t.Helper()
	ffprobe := requireTool(t, "ffprobe")
	out, err := exec.Command(ffprobe, "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", path).Output()
	require.NoError(t, err, "ffprobe %s", path)
	var r probeResult
	require.NoError(t, json.Unmarshal(out, &r))
	return r
}

// decodeErrors decodes the whole file with ffmpeg and returns what it
// printed at level error, which is empty for a clean file.
func decodeErrors(t *testing.T, path string) string {
	t.Helper()
	ffmpeg := requireTool(t, "ffmpeg")
	out, err := exec.Command(ffmpeg, "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	require.NoError(t, err, "ffmpeg decode: %s", out)
	return string(out)
}

func streamOf(t *testing.T, r probeResult, kind string) probeStream {
	t.Helper()
	for _, s := range r.Streams {
		if s.CodecType == kind {
			return s
		}
	}
	t.Fatalf("no %s stream in ffprobe output %+v", kind, r.Streams)
	return probeStream{}
}

func seconds(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err, "duration %q", s)
	return v
}

// checkClip checks the MP4 at path against the source stream: codec tag,
// size, frame count and duration within one frame (40 ms).
func checkClip(t *testing.T, path string, info Info, src camsim.StreamInfo, tag string) probeResult {
	t.Helper()
	r := probe(t, path)
	v := streamOf(t, r, "video")
	assert.Equal(t, tag, v.CodecTag)
	assert.Equal(t, src.Width, v.Width)
	assert.Equal(t, src.Height, v.Height)
	assert.Equal(t, strconv.Itoa(src.Frames), v.NbFrames, "frames in the sample table")
	assert.Equal(t, strconv.Itoa(src.Frames), v.NbReadFrames, "frames ffprobe decoded")
	assert.Empty(t, decodeErrors(t, path))

	want := float64(src.Frames) / 25
	assert.InDelta(t, want, seconds(t, v.Duration), 0.04, "video stream duration")
	assert.InDelta(t, want, info.Duration.Seconds(), 0.04, "Info.Duration")
	assert.Equal(t, src.Frames, info.Frames)
	assert.Equal(t, src.Width, info.Width)
	assert.Equal(t, src.Height, info.Height)
	assert.InDelta(t, 25, info.FrameRate, 0.01)
	assert.Zero(t, info.DroppedFrames)
	return r
}

func TestRemuxCodecs(t *testing.T) {
	tests := []struct {
		name    string
		cfg     camsim.StreamConfig
		tag     string
		codec   string
		profile string
		audio   string
	}{
		{"h264", camsim.StreamConfig{Video: camsim.H264, Frames: 60}, "avc1", "h264", "Main", ""},
		{"h265", camsim.StreamConfig{Video: camsim.H265, Frames: 60}, "hvc1", "h265", "Main", ""},
		{"h264 alaw", camsim.StreamConfig{Video: camsim.H264, Audio: camsim.G711A, Frames: 60}, "avc1", "h264", "Main", "G.711 A-law"},
		{"h265 ulaw", camsim.StreamConfig{Video: camsim.H265, Audio: camsim.G711U, Frames: 60}, "hvc1", "h265", "Main", "G.711 u-law"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, srcInfo := writeStream(t, tt.cfg)
			path, info := remuxToFile(t, src)
			r := checkClip(t, path, info, srcInfo, tt.tag)

			assert.Equal(t, tt.codec, info.VideoCodec)
			assert.Equal(t, tt.profile, info.Profile)
			assert.Equal(t, tt.audio, info.AudioCodec)
			if tt.audio == "" {
				assert.Len(t, r.Streams, 1)
				return
			}
			a := streamOf(t, r, "audio")
			assert.Equal(t, "flac", a.CodecName)
			assert.Equal(t, "8000", a.SampleRate)
			assert.Equal(t, "flac", info.AudioFormat)
			assert.InDelta(t, float64(srcInfo.AudioBytes)/8000, seconds(t, a.Duration), 0.001, "audio duration")
			assert.InDelta(t, seconds(t, streamOf(t, r, "video").Duration), seconds(t, a.Duration), 0.04, "audio and video lengths")
		})
	}
}

func TestRemuxFaststart(t *testing.T) {
	src, _ := writeStream(t, camsim.StreamConfig{Frames: 30})
	path, _ := remuxToFile(t, src)
	b, err := os.ReadFile(path)
	require.NoError(t, err)

	moov := bytes.Index(b, []byte("moov"))
	mdat := bytes.Index(b, []byte("mdat"))
	require.Positive(t, moov)
	require.Positive(t, mdat)
	assert.Less(t, moov, mdat, "moov before mdat")
	assert.True(t, bytes.Contains(b[:mdat], []byte("stss")), "sync sample table present")
}

// ptsSpan returns first and last PTS of the video frames of path in
// seconds, from ffprobe's packet list.
func ptsSpan(t *testing.T, path string) (first, last float64, n int) {
	t.Helper()
	ffprobe := requireTool(t, "ffprobe")
	out, err := exec.Command(ffprobe, "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time", "-of", "csv=p=0", path).Output()
	require.NoError(t, err)
	first, last = math.Inf(1), math.Inf(-1)
	for _, line := range strings.Fields(string(out)) {
		v := seconds(t, strings.TrimSuffix(line, ","))
		first, last = min(first, v), max(last, v)
		n++
	}
	return first, last, n
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
