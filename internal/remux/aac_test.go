package remux

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/camsim"
	"github.com/hikarchive/hikarchive/internal/ps"
)

// aacFrameSeconds is the duration of one AAC frame of the camsim clip:
// 1024 samples at 16 kHz.
const aacFrameSeconds = 1024.0 / 16000

func TestRemuxAAC(t *testing.T) {
	for name, cfg := range map[string]camsim.StreamConfig{
		"one frame per packet": {Frames: 60, Audio: camsim.AAC},
		"crc, three frames per packet, split packets": {Frames: 60, Audio: camsim.AAC, AACWithCRC: true,
			AACFramesPerPES: 3, MaxPESPayload: 100},
		"h265, pts wrap": {Video: camsim.H265, Frames: 60, Audio: camsim.AAC, StartPTS: ps.MaxTimestamp + 1 - 45000},
	} {
		t.Run(name, func(t *testing.T) {
			src, srcInfo := writeStream(t, cfg)
			path, info := remuxToFile(t, src)
			tag := "avc1"
			if cfg.Video == camsim.H265 {
				tag = "hvc1"
			}
			r := checkClip(t, path, info, srcInfo, tag)

			assert.Equal(t, "AAC", info.AudioCodec)
			assert.Equal(t, "aac", info.AudioFormat)
			assert.Empty(t, info.AudioSkip)
			a := streamOf(t, r, "audio")
			assert.Equal(t, "aac", a.CodecName)
			assert.Equal(t, "mp4a", a.CodecTag)
			assert.Equal(t, "16000", a.SampleRate)
			assert.Equal(t, 1, a.Channels)
			assert.Equal(t, strconv.Itoa(srcInfo.AACFrames), a.NbFrames, "frames in the sample table")
			assert.Equal(t, strconv.Itoa(srcInfo.AACFrames), a.NbReadFrames, "frames ffprobe decoded")
			want := float64(srcInfo.AACFrames) * aacFrameSeconds
			assert.InDelta(t, want, seconds(t, a.Duration), aacFrameSeconds, "audio duration")

			assert.Equal(t, expectedADTS(t, srcInfo.AACFrames), extractADTS(t, path), "AAC frames copied unchanged")
		})
	}
}

// expectedADTS returns the first n frames of the camsim AAC clip, looped.
func expectedADTS(t *testing.T, n int) []byte {
	t.Helper()
	clip, err := os.ReadFile("../camsim/assets/sine440-16khz-mono.aac")
	require.NoError(t, err)
	var frames [][]byte
	for pos := 0; pos+7 <= len(clip); {
		size := int(clip[pos+3]&0x03)<<11 | int(clip[pos+4])<<3 | int(clip[pos+5])>>5
		frames = append(frames, clip[pos:pos+size])
		pos += size
	}
	var out []byte
	for i := range n {
		out = append(out, frames[i%len(frames)]...)
	}
	return out
}

// extractADTS copies the audio of the MP4 at path into ADTS with ffmpeg,
// which writes headers without CRC as the clip's encoder did.
func extractADTS(t *testing.T, path string) []byte {
	t.Helper()
	ffmpeg := requireTool(t, "ffmpeg")
	out := filepath.Join(t.TempDir(), "audio.aac")
	msg, err := exec.Command(ffmpeg, "-v", "error", "-i", path, "-map", "0:a", "-c", "copy", "-f", "adts", out).CombinedOutput()
	require.NoError(t, err, "ffmpeg: %s", msg)
	return readFile(t, out)
}

func TestRemuxMalformedAACKeepsVideo(t *testing.T) {
	src, srcInfo := writeStream(t, camsim.StreamConfig{Frames: 60, Audio: camsim.AAC})

	// Break the sync word of the fifth ADTS frame.
	d := ps.NewDemuxer(bytes.NewReader(src), int64(len(src)))
	audio := 0
	for {
		p, err := d.Next()
		if errors.Is(err, io.EOF) {
			t.Fatal("the stream has fewer than 5 audio packets")
		}
		require.NoError(t, err)
		if p.IsAudio() {
			if audio++; audio == 5 {
				src[p.PayloadOffset] = 0x00
				break
			}
		}
	}

	path, info := remuxToFile(t, src)
	r := checkClip(t, path, info, srcInfo, "avc1")
	assert.Len(t, r.Streams, 1, "video only")
	assert.Equal(t, "AAC", info.AudioCodec)
	assert.Empty(t, info.AudioFormat)
	assert.Contains(t, info.AudioSkip, "no ADTS sync word")
}

func TestParseADTSHeader(t *testing.T) {
	// AAC LC, 16 kHz (index 8), mono, 100 bytes, no CRC, one raw data block.
	valid := []byte{0xFF, 0xF1, 0x60, 0x40, 0x0C, 0x9F, 0xFC}
	h, err := parseADTSHeader(valid)
	require.NoError(t, err)
	assert.Equal(t, adtsHeader{objectType: 2, frequencyIndex: 8, channelConfig: 1, headerSize: 7, frameSize: 100}, h)
	assert.Equal(t, 16000, h.sampleRate())

	withCRC := bytes.Clone(valid)
	withCRC[1] = 0xF0
	h, err = parseADTSHeader(withCRC)
	require.NoError(t, err)
	assert.Equal(t, 9, h.headerSize)

	for name, tc := range map[string]struct {
		byteIndex int
		value     byte
		message   string
	}{
		"sync word":           {0, 0xFE, "no ADTS sync word"},
		"layer":               {1, 0xF3, "layer is 1"},
		"reserved rate":       {2, 0x74, "sampling_frequency_index 13"},
		"channels in a PCE":   {3, 0x00, "channel_configuration 0"},
		"two raw data blocks": {6, 0xFD, "2 raw data blocks"},
		"frame too short":     {4, 0x00, "frame_length 4"},
	} {
		t.Run(name, func(t *testing.T) {
			b := bytes.Clone(valid)
			b[tc.byteIndex] = tc.value
			_, err := parseADTSHeader(b)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.message)
		})
	}
}

func TestRemuxAACDropsEarlyAudio(t *testing.T) {
	// Cutting the stream inside frame 0 drops video frames up to the key
	// frame at 1 s; the audio before it has no picture and is dropped too.
	src, _ := writeStream(t, camsim.StreamConfig{Frames: 60, Audio: camsim.AAC})
	plan, err := Prepare(context.Background(), bytes.NewReader(src[1000:]), int64(len(src)-1000), Options{})
	require.NoError(t, err)
	var mp4 bytes.Buffer
	_, err = plan.WriteTo(context.Background(), &mp4)
	require.NoError(t, err)
	for _, f := range plan.aac.frames {
		assert.GreaterOrEqual(t, f.pts, plan.video[0].pts, "audio frame before the first picture")
	}
	assert.InDelta(t, 1.4/aacFrameSeconds, len(plan.aac.frames), 2, "about 1.4 s of audio kept")
}
