package remux

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFLACFramesDecode writes FLAC frames as a native FLAC file (the "fLaC"
// marker and STREAMINFO, then the frames) and has ffmpeg decode it with
// CRC checks on, which catches a wrong CRC-8 or CRC-16.
func TestFLACFramesDecode(t *testing.T) {
	ffmpeg := requireTool(t, "ffmpeg")
	samples := make([]int16, 300)
	for i := range samples {
		samples[i] = int16(i*200 - 30000)
	}

	file := []byte("fLaC\x80\x00\x00\x22")
	file = append(file, flacStreamInfo(100, 200, 300)...)
	file = appendFLACFrame(file, 0, samples[:200])
	file = appendFLACFrame(file, 200, samples[200:])
	path := filepath.Join(t.TempDir(), "frames.flac")
	require.NoError(t, os.WriteFile(path, file, 0o644))

	out, err := exec.Command(ffmpeg, "-v", "error", "-err_detect", "crccheck+explode", "-i", path, "-f", "s16be", "-").Output()
	require.NoError(t, err, "ffmpeg decode")
	require.Len(t, out, 600)
	for i, s := range samples {
		assert.Equal(t, s, int16(uint16(out[2*i])<<8|uint16(out[2*i+1])), "sample %d", i)
	}
}

func TestG711Expansion(t *testing.T) {
	// Reference values of ITU-T G.711: A-law 0xd5 and u-law 0xff are the
	// smallest positive steps, 0x2a and 0x00 the largest negative values.
	assert.Equal(t, int16(8), alawTable[0xD5])
	assert.Equal(t, int16(-32256), alawTable[0x2A])
	assert.Equal(t, int16(0), ulawTable[0xFF])
	assert.Equal(t, int16(-32124), ulawTable[0x00])
}
