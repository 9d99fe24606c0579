package ps

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Expected bytes below were worked out by hand from the MPEG-2 pack header
// syntax of ISO/IEC 13818-1. Bytes 4..9 are '01', SCR[32..30], marker,
// SCR[29..15], marker, SCR[14..0], marker, SCR extension (9 bits), marker.
func TestAppendPackHeaderBytes(t *testing.T) {
	tests := []struct {
		name string
		h    PackHeader
		want []byte
	}{
		{
			// All fields zero but the mux rate: only prefix and markers set.
			// 01 000 1 00 | 00000000 | 00000 1 00 | 00000000 | 00000 1 00 | 0000000 1
			// mux rate 1: 000000 00 | 00000000 | 000001 11; 11111 000.
			name: "zero SCR",
			h:    PackHeader{MuxRate: 1},
			want: []byte{0x00, 0x00, 0x01, 0xBA, 0x44, 0x00, 0x04, 0x00, 0x04, 0x01, 0x00, 0x00, 0x07, 0xF8},
		},
		{
			// SCR 0x123456789 = 1 0010 0011 0100 0101 0110 0111 1000 1001:
			// SCR[32..30] = 100, SCR[29..28] = 10 -> 01 100 1 10 = 0x66
			// SCR[27..20] = 0011 0100 = 0x34
			// SCR[19..15] = 01010, SCR[14..13] = 11 -> 01010 1 11 = 0x57
			// SCR[12..5] = 0 0111 100 = 0x3c
			// SCR[4..0] = 01001, ext[8..7] = 00 -> 01001 1 00 = 0x4c
			// ext[6..0] = 0, marker -> 0x01. Mux rate 0 as Hikvision writes
			// it: 00 00 03. Stuffing 6: 11111 110 = 0xfe, then six 0xff.
			name: "Hikvision form",
			h:    PackHeader{SCR: 0x123456789, StuffingLength: 6},
			want: []byte{
				0x00, 0x00, 0x01, 0xBA, 0x66, 0x34, 0x57, 0x3C, 0x4C, 0x01, 0x00, 0x00, 0x03, 0xFE,
				0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
			},
		},
		{
			// Every field at its maximum. SCR extension 299 = 1 0010 1011:
			// ext[8..7] = 10 -> 11111 1 10 = 0xfe; ext[6..0] = 0101011,
			// marker -> 0101 0111 = 0x57. Mux rate 2^22-1 -> ff ff ff.
			name: "maximum values",
			h:    PackHeader{SCR: MaxTimestamp, SCRExtension: MaxSCRExtension, MuxRate: MaxMuxRate, StuffingLength: 7},
			want: []byte{
				0x00, 0x00, 0x01, 0xBA, 0x7F, 0xFF, 0xFF, 0xFF, 0xFE, 0x57, 0xFF, 0xFF, 0xFF, 0xFF,
				0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendPackHeader(nil, tt.h)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Len(t, got, tt.h.Len())

			parsed, n, err := ParsePackHeader(got)
			require.NoError(t, err)
			assert.Equal(t, tt.h, parsed)
			assert.Equal(t, len(got), n)
		})
	}
}

func TestAppendPackHeaderRejectsOutOfRange(t *testing.T) {
	tests := []struct {
		name string
		h    PackHeader
		want string
	}{
		{"SCR over 33 bits", PackHeader{SCR: MaxTimestamp + 1}, "SCR"},
		{"SCR extension 300", PackHeader{SCRExtension: 300}, "SCR extension"},
		{"mux rate over 22 bits", PackHeader{MuxRate: MaxMuxRate + 1}, "mux rate"},
		{"stuffing 8", PackHeader{StuffingLength: 8}, "stuffing"},
		{"negative stuffing", PackHeader{StuffingLength: -1}, "stuffing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte{0xAA}
			got, err := AppendPackHeader(dst, tt.h)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, []byte{0xAA}, got)
		})
	}
}

// hikvisionStart is a pack header copied from a published Hikvision stream
// dump, with mux rate 0 and a frame counter in its six stuffing bytes,
// followed by a system header for one video stream.
var hikvisionStart = []byte{
	0x00, 0x00, 0x01, 0xBA, 0x44, 0x73, 0x26, 0xB8, 0x34, 0x01, 0x00, 0x00, 0x03, 0xFE,
	0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x01, 0xBB, 0x00, 0x09, 0x81, 0x87, 0x21, 0x04, 0xE1, 0x7F, 0xE0, 0xE0, 0x80,
}

func TestCheckPackHeaderAcceptsSegmentStarts(t *testing.T) {
	own, err := AppendPackHeader(nil, PackHeader{SCR: 90000, StuffingLength: 6})
	require.NoError(t, err)
	own, err = AppendSystemHeader(own, SystemHeader{RateBound: 1, VideoBound: 1})
	require.NoError(t, err)

	// A system header inside the window but not right after the pack
	// header, because a padding packet comes between them.
	padded, err := AppendPackHeader(nil, PackHeader{MuxRate: 100})
	require.NoError(t, err)
	padded = append(padded, 0x00, 0x00, 0x01, CodePadding, 0x00, 0x64)
	padded = append(padded, bytes.Repeat([]byte{0xFF}, 100)...)
	padded = append(padded, 0x00, 0x00, 0x01, CodeSystemHeader)

	for name, b := range map[string][]byte{
		"Hikvision dump": hikvisionStart,
		"own muxer":      own,
		"padding before": padded,
	} {
		t.Run(name, func(t *testing.T) {
			assert.NoError(t, CheckPackHeader(b))
		})
	}
}

func TestCheckPackHeaderRejectsOtherData(t *testing.T) {
	pack, err := AppendPackHeader(nil, PackHeader{MuxRate: 1})
	require.NoError(t, err)

	badMarker := bytes.Clone(hikvisionStart)
	badMarker[6] &^= 0x04 // the marker bit between SCR[15] and SCR[14]

	badMuxMarker := bytes.Clone(hikvisionStart)
	badMuxMarker[12] &^= 0x01

	mpeg1 := []byte{0x00, 0x00, 0x01, 0xBA, 0x21, 0x00, 0x01, 0x00, 0x01, 0x80, 0x00, 0x01}

	farSystemHeader := append(bytes.Clone(pack), make([]byte, SystemHeaderWindow)...)
	farSystemHeader = append(farSystemHeader, 0x00, 0x00, 0x01, CodeSystemHeader)

	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "no pack header start code"},
		{"zeros", make([]byte, 64), "data starts 00 00 00 00"},
		{"H.264 start code", []byte{0x00, 0x00, 0x00, 0x01, 0x67, 0x42}, "no pack header start code"},
		{"video PES", []byte{0x00, 0x00, 0x01, 0xE0, 0x00, 0x10}, "data starts 00 00 01 e0"},
		{"MPEG-1 pack", mpeg1, "MPEG-1"},
		{"byte 4 not 01xxxxxx", []byte{0x00, 0x00, 0x01, 0xBA, 0xC4, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "01xxxxxx"},
		{"truncated pack", hikvisionStart[:10], "truncated"},
		{"truncated stuffing", hikvisionStart[:16], "truncated"},
		{"SCR marker 0", badMarker, "marker"},
		{"mux rate marker 0", badMuxMarker, "marker"},
		{"no system header", pack, "no system header"},
		{"system header too far", farSystemHeader, "no system header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPackHeader(tt.b)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestParsePackHeaderHikvisionDump(t *testing.T) {
	h, n, err := ParsePackHeader(hikvisionStart)
	require.NoError(t, err)

	// 44 73 26 b8 34 01 split at the field borders:
	// 01 000 1 00 | 01110011 | 00100 1 10 | 10111000 | 00110 1 00 | 0000000 1
	// SCR[32..30] = 000
	// SCR[29..15] = 00 01110011 00100 = 0x0e64
	// SCR[14..0]  = 10 10111000 00110 = 0x5706
	assert.Equal(t, uint64(0x0E64)<<15|0x5706, h.SCR)
	assert.Equal(t, uint16(0), h.SCRExtension)
	assert.Equal(t, uint32(0), h.MuxRate)
	assert.Equal(t, 6, h.StuffingLength)
	assert.Equal(t, 20, n)
}
