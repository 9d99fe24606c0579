package remux

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/camsim"
	"github.com/hikarchive/hikarchive/internal/ps"
)

// Each awkward feature of real recordings gets its own test: the MP4 must
// still hold every frame with the right duration.

func remuxAwkward(t *testing.T, cfg camsim.StreamConfig) (Info, probeResult) {
	t.Helper()
	cfg.Frames = 60
	src, srcInfo := writeStream(t, cfg)
	path, info := remuxToFile(t, src)
	tag := "avc1"
	if cfg.Video == camsim.H265 {
		tag = "hvc1"
	}
	return info, checkClip(t, path, info, srcInfo, tag)
}

func TestRemuxLeadingHeader(t *testing.T) {
	remuxAwkward(t, camsim.StreamConfig{LeadingHeader: 4096})
}

func TestRemuxLateStreamMap(t *testing.T) {
	// The map first comes with the second key frame, after 25 frames whose
	// codec is unknown while pass 1 reads them.
	remuxAwkward(t, camsim.StreamConfig{Video: camsim.H265, LateStreamMap: 1})
}

func TestRemuxNoStreamMap(t *testing.T) {
	info, _ := remuxAwkward(t, camsim.StreamConfig{Video: camsim.H265, NoStreamMap: true})
	assert.Equal(t, "h265", info.VideoCodec, "codec found from the first frame")
}

func TestRemuxChangedStreamMap(t *testing.T) {
	info, r := remuxAwkward(t, camsim.StreamConfig{Audio: camsim.G711A, ChangeStreamMap: true})
	assert.Equal(t, "G.711 A-law", info.AudioCodec)
	assert.Len(t, r.Streams, 2)
}

func TestRemuxJunkBetweenPacks(t *testing.T) {
	remuxAwkward(t, camsim.StreamConfig{JunkEvery: 7, Audio: camsim.G711U})
}

func TestRemuxMissingDTS(t *testing.T) {
	remuxAwkward(t, camsim.StreamConfig{NoDTS: true})
}

func TestRemuxPESStuffing(t *testing.T) {
	remuxAwkward(t, camsim.StreamConfig{PESStuffing: 16, MaxPESPayload: 500})
}

func TestRemuxPrivateAndPadding(t *testing.T) {
	remuxAwkward(t, camsim.StreamConfig{Video: camsim.H265, PrivateData: true})
}

func TestRemuxPTSWrap(t *testing.T) {
	// The PTS passes 2^33 one second into the stream.
	info, _ := remuxAwkward(t, camsim.StreamConfig{StartPTS: ps.MaxTimestamp + 1 - 90000, Audio: camsim.G711A})
	assert.Equal(t, 60, info.Frames)
}

func TestRemuxTruncatedLastPacket(t *testing.T) {
	src, _ := writeStream(t, camsim.StreamConfig{Frames: 60})
	cut := src[:len(src)-300]

	path, info := remuxToFile(t, cut)
	assert.Equal(t, 59, info.Frames, "the cut-off frame is dropped")
	assert.Equal(t, 1, info.DroppedFrames)
	r := probe(t, path)
	assert.Equal(t, "59", streamOf(t, r, "video").NbReadFrames)
	assert.Empty(t, decodeErrors(t, path))
}

func TestRemuxStartsAtKeyFrame(t *testing.T) {
	// Cut the stream inside its first frame: the demuxer skips the rest of
	// frame 0, and frames 1 to 24 cannot be decoded without it and are
	// dropped up to the next key frame, frame 25.
	src, _ := writeStream(t, camsim.StreamConfig{Frames: 60})
	path, info := remuxToFile(t, src[1000:])
	assert.Equal(t, 35, info.Frames)
	assert.Equal(t, 24, info.DroppedFrames)
	assert.Empty(t, decodeErrors(t, path))
}

func TestRemuxRejectsNonVideo(t *testing.T) {
	for name, src := range map[string][]byte{
		"empty":       nil,
		"not a PS":    bytes.Repeat([]byte{0x47, 0x1F, 0xFF, 0x10}, 5000),
		"header only": {0x00, 0x00, 0x01, 0xBA, 0x44, 0x00, 0x04, 0x00, 0x04, 0x01, 0x00, 0x00, 0x03, 0xF8},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Prepare(context.Background(), bytes.NewReader(src), int64(len(src)), Options{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "remux pass 1")
		})
	}
}

// TestRemuxReorderedFrames remuxes H.264 with B-frames, so PTS and DTS
// differ and the MP4 needs ctts. ffmpeg encodes the frames and ffprobe
// lists each with its PTS, DTS and bytes; ps.Muxer then writes them in the
// camera's layout, one PES sequence per frame.
func TestRemuxReorderedFrames(t *testing.T) {
	frames := encodeWithBFrames(t)
	m, err := ps.NewMuxer(ps.MuxerConfig{PackStuffing: 6})
	require.NoError(t, err)
	var data []byte
	for _, f := range frames {
		data, err = m.AppendFrame(data, f)
		require.NoError(t, err)
	}
	require.NotEqual(t, frames[1].PTS, frames[1].DTS, "the encoder reordered frames")

	path, info := remuxToFile(t, data)
	assert.Equal(t, 50, info.Frames)
	assert.InDelta(t, 2.0, info.Duration.Seconds(), 0.04)

	b := readFile(t, path)
	assert.True(t, bytes.Contains(b, []byte("ctts")), "composition offsets written")
	r := probe(t, path)
	v := streamOf(t, r, "video")
	assert.Equal(t, "50", v.NbReadFrames)
	assert.InDelta(t, 2.0, seconds(t, v.Duration), 0.04)
	assert.Empty(t, decodeErrors(t, path))

	first, last, n := ptsSpan(t, path)
	assert.Equal(t, 50, n)
	assert.InDelta(t, 0, first, 0.001, "presentation starts at 0")
	assert.InDelta(t, 1.96, last, 0.001, "last frame at 49/25 s")
}

// encodeWithBFrames encodes 2 s of testsrc2 with 2 B-frames into MPEG-TS,
// which keeps one frame per PES, and returns the frames ffprobe lists.
func encodeWithBFrames(t *testing.T) []ps.Frame {
	t.Helper()
	ffmpeg := requireTool(t, "ffmpeg")
	ffprobe := requireTool(t, "ffprobe")
	src := filepath.Join(t.TempDir(), "bframes.ts")
	out, err := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=2",
		"-c:v", "libx264", "-bf", "2", "-g", "25", "-f", "mpegts", src).CombinedOutput()
	require.NoError(t, err, "ffmpeg: %s", out)

	out, err = exec.Command(ffprobe, "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts,dts,flags,data",
		"-show_data", "-of", "json", src).Output()
	require.NoError(t, err)
	var listing struct {
		Packets []struct {
			PTS   uint64 `json:"pts"`
			DTS   uint64 `json:"dts"`
			Flags string `json:"flags"`
			Data  string `json:"data"`
		} `json:"packets"`
	}
	require.NoError(t, json.Unmarshal(out, &listing))

	var frames []ps.Frame
	for _, p := range listing.Packets {
		frames = append(frames, ps.Frame{Data: parseHexDump(t, p.Data), PTS: p.PTS, DTS: p.DTS, SCR: p.DTS, Key: strings.HasPrefix(p.Flags, "K")})
	}
	require.Len(t, frames, 50)
	return frames
}

// parseHexDump decodes ffprobe's -show_data dump: lines of an 8-digit
// offset, a colon, 16 bytes in groups of two and the ASCII form.
func parseHexDump(t *testing.T, dump string) []byte {
	t.Helper()
	var b []byte
	for _, line := range strings.Split(dump, "\n") {
		if len(line) < 10 {
			continue
		}
		digits := strings.ReplaceAll(line[10:min(len(line), 50)], " ", "")
		chunk, err := hex.DecodeString(digits)
		require.NoError(t, err, "dump line %q", line)
		b = append(b, chunk...)
	}
	return b
}
