package camsim

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/ps"
)

func TestH265ClipSplits(t *testing.T) {
	frames, err := loadH265Clip()
	require.NoError(t, err)

	// scripts/gen-sim-video-h265.sh makes 50 frames with a key frame every 25.
	assert.Len(t, frames, 50)
	var keys []int
	for i, f := range frames {
		if f.IDR {
			keys = append(keys, i)
		}
	}
	assert.Equal(t, []int{0, 25}, keys)
}

func TestWriteStreamDemuxes(t *testing.T) {
	for name, cfg := range map[string]StreamConfig{
		"h264 alaw": {Frames: 30, Audio: G711A},
		"h265 awkward": {Video: H265, Frames: 30, Audio: G711U, LeadingHeader: 3000, JunkEvery: 7,
			NoDTS: true, PESStuffing: 4, PrivateData: true, MaxPESPayload: 1000, ChangeStreamMap: true},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			info, err := WriteStream(&buf, cfg)
			require.NoError(t, err)
			assert.Equal(t, int64(buf.Len()), info.Bytes)

			d := ps.NewDemuxer(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			video, audio := 0, 0
			for {
				p, err := d.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				if p.IsVideo() && p.HasPTS {
					video++
				}
				if p.IsAudio() {
					audio += len(p.Payload)
				}
			}
			assert.Equal(t, cfg.Frames, video, "video frames")
			assert.Equal(t, int(info.AudioBytes), audio, "audio bytes")
			assert.Equal(t, int64(cfg.LeadingHeader), d.Stats().LeadingBytes)
		})
	}
}

func TestWriteStreamAAC(t *testing.T) {
	for name, cfg := range map[string]StreamConfig{
		"one frame per packet": {Frames: 50, Audio: AAC},
		"crc, three per packet, split packets": {Frames: 50, Audio: AAC, AACWithCRC: true, AACFramesPerPES: 3,
			MaxPESPayload: 100},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			info, err := WriteStream(&buf, cfg)
			require.NoError(t, err)

			d := ps.NewDemuxer(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			var audio []byte
			for {
				p, err := d.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				if p.IsAudio() {
					assert.Equal(t, uint8(ps.StreamTypeAAC), p.StreamType)
					audio = append(audio, p.Payload...)
				}
			}
			frames, err := splitADTS(audio)
			require.NoError(t, err)
			assert.Len(t, frames, info.AACFrames)
			// 2 s of video need 2*16000/1024 = 31.25 frames of audio.
			assert.GreaterOrEqual(t, info.AACFrames, 32)
			for _, f := range frames {
				assert.Equal(t, !cfg.AACWithCRC, f[1]&0x01 == 1, "protection_absent")
			}
		})
	}
}
