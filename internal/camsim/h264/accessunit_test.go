package h264

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// NAL units for hand-built streams. A slice's second byte starts with
// first_mb_in_slice as ue(v): 0x80 codes 0 (a new picture), 0x40 codes 1.
var (
	sps        = []byte{0x67, 0x4D, 0x40, 0x0D}
	pps        = []byte{0x68, 0xEE, 0x3C, 0x80}
	sei        = []byte{0x06, 0x05, 0x01, 0x80}
	aud        = []byte{0x09, 0xF0}
	idr        = []byte{0x65, 0x88, 0x84, 0x21}
	slice      = []byte{0x41, 0x9A, 0x02, 0x03}
	slicePart2 = []byte{0x41, 0x40, 0x02, 0x03} // first_mb_in_slice 1: same picture
	endOfSeq   = []byte{0x0A}
)

func annexB(nals ...[]byte) []byte {
	var b []byte
	for _, n := range nals {
		b = append(b, 0x00, 0x00, 0x00, 0x01)
		b = append(b, n...)
	}
	return b
}

func TestSplitAccessUnitsHandBuilt(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		types [][]uint8
		idr   []bool
	}{
		{
			name:  "parameter sets before IDR",
			in:    annexB(sps, pps, idr, slice, slice),
			types: [][]uint8{{7, 8, 5}, {1}, {1}},
			idr:   []bool{true, false, false},
		},
		{
			name:  "delimiters and SEI",
			in:    annexB(aud, sps, pps, sei, idr, aud, slice, aud, sei, slice),
			types: [][]uint8{{9, 7, 8, 6, 5}, {9, 1}, {9, 6, 1}},
			idr:   []bool{true, false, false},
		},
		{
			name:  "two slices per picture",
			in:    annexB(sps, pps, idr, slicePart2, slice, slicePart2),
			types: [][]uint8{{7, 8, 5, 1}, {1, 1}},
			idr:   []bool{true, false},
		},
		{
			name:  "end of sequence stays with its picture",
			in:    annexB(idr, endOfSeq, sps, pps, idr),
			types: [][]uint8{{5, 10}, {7, 8, 5}},
			idr:   []bool{true, true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			units, err := SplitAccessUnits(tt.in)
			require.NoError(t, err)
			require.Len(t, units, len(tt.types))

			var joined []byte
			for i, u := range units {
				assert.Equal(t, tt.types[i], u.NALTypes, "NAL types of unit %d", i)
				assert.Equal(t, tt.idr[i], u.IDR, "IDR flag of unit %d", i)
				assert.True(t, bytes.HasPrefix(u.Data, []byte{0, 0, 0, 1}), "unit %d starts with its start code", i)
				joined = append(joined, u.Data...)
			}
			assert.Equal(t, tt.in, joined, "units must cover the stream without gaps")
		})
	}
}

func TestSplitAccessUnitsStartCodeForms(t *testing.T) {
	// Three-byte start codes, leading zero bytes and trailing zero bytes.
	in := []byte{0x00, 0x00}
	in = append(in, 0x00, 0x00, 0x01)
	in = append(in, idr...)
	in = append(in, 0x00, 0x00, 0x01)
	in = append(in, slice...)
	in = append(in, 0x00, 0x00, 0x00)

	units, err := SplitAccessUnits(in)
	require.NoError(t, err)
	require.Len(t, units, 2)
	assert.Equal(t, in[:2+3+len(idr)], units[0].Data, "leading zeros belong to the first unit")
	assert.Equal(t, append([]byte{0x00, 0x00, 0x01}, slice...), units[1].Data, "trailing zeros are dropped")
}

func TestSplitAccessUnitsRejectsBadStreams(t *testing.T) {
	forbidden := bytes.Clone(idr)
	forbidden[0] |= 0x80

	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"no start code", []byte{0x65, 0x88, 0x84}, "no start code"},
		{"bytes before start code", append([]byte{0x12}, annexB(idr)...), "before its first start code"},
		{"forbidden bit", annexB(forbidden), "forbidden_zero_bit"},
		{"parameter sets only", annexB(sps, pps), "contain no slice"},
		{"trailing parameter sets", annexB(idr, sps, pps), "contain no slice"},
		{"empty NAL unit", append(annexB(idr), 0x00, 0x00, 0x01), "empty NAL unit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SplitAccessUnits(tt.in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}

	units, err := SplitAccessUnits([]byte{0x00, 0x00})
	require.NoError(t, err, "zero bytes only are an empty stream")
	assert.Empty(t, units)
}

func TestSplitAccessUnitsSimulatorAsset(t *testing.T) {
	stream, err := os.ReadFile("../assets/testsrc2-320x180-25fps.h264")
	require.NoError(t, err)

	units, err := SplitAccessUnits(stream)
	require.NoError(t, err)

	// scripts/gen-sim-video.sh configures x264 for 50 frames, an IDR frame every
	// 25 frames with SPS and PPS repeated before it, and no SEI.
	require.Len(t, units, 50)
	for i, u := range units {
		if i%25 == 0 {
			assert.True(t, u.IDR, "frame %d is an IDR frame", i)
			assert.Equal(t, []uint8{NALSPS, NALPPS, NALIDR}, u.NALTypes, "frame %d", i)
			continue
		}
		assert.False(t, u.IDR, "frame %d is not an IDR frame", i)
		assert.Equal(t, []uint8{NALSlice}, u.NALTypes, "frame %d", i)
	}
}
