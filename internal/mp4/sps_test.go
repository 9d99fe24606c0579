package mp4

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sps320x180 is the SPS libx264 (ffmpeg 5.1) wrote for 320x180 in High
// profile: 20 macroblocks wide and 12 high, cropped by 12 lines.
var sps320x180 = []byte{0x67, 0x64, 0x00, 0x0C, 0xAC, 0xD9, 0x41, 0x41, 0x9F, 0x9F, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xF1, 0x42, 0x99, 0x60}

func TestParseH264SPS(t *testing.T) {
	s, err := ParseH264SPS(sps320x180)
	require.NoError(t, err)
	assert.Equal(t, uint8(100), s.Profile)
	assert.Equal(t, 320, s.Width)
	assert.Equal(t, 180, s.Height)
}

func TestParseSPSRejectsShortInput(t *testing.T) {
	_, err := ParseH264SPS(sps320x180[:6])
	assert.Error(t, err)
	_, err = ParseH265SPS([]byte{0x42, 0x01, 0x01})
	assert.Error(t, err)
}

// FuzzParseSPS checks that the SPS parsers and config builders never panic
// and never report a picture without pixels.
func FuzzParseSPS(f *testing.F) {
	f.Add(sps320x180)
	f.Add([]byte{0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x3C, 0xA0, 0x0A, 0x08, 0x05, 0xA2})
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := ParseH264SPS(b); err == nil && (s.Width <= 0 || s.Height <= 0) {
			t.Fatalf("H.264 SPS gives %dx%d", s.Width, s.Height)
		}
		if s, err := ParseH265SPS(b); err == nil && (s.Width <= 0 || s.Height <= 0) {
			t.Fatalf("H.265 SPS gives %dx%d", s.Width, s.Height)
		}
		HEVCConfig([][]byte{b}, [][]byte{b}, [][]byte{b})
		AVCConfig([][]byte{b}, [][]byte{b})
	})
}
