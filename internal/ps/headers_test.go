package ps

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendSystemHeaderBytes(t *testing.T) {
	tests := []struct {
		name string
		h    SystemHeader
		want []byte
	}{
		{
			// rate bound 2^22-1 between two markers: 1 + 22 ones + 1 = ff ff ff.
			// 0 audio streams, no flags: 000000 0 0 = 00.
			// locks 0 0, marker 1, video bound 00001 = 0x21. 0 + 7 reserved ones = 0x7f.
			// Stream e0: '11', scale 1, bound 512 (0 0010 0000 0000) = 0xe200.
			name: "muxer default",
			h: SystemHeader{
				RateBound:  MaxRateBound,
				VideoBound: 1,
				Streams:    []StreamBound{{StreamID: 0xE0, BufferBoundScale: 1, BufferSizeBound: 512}},
			},
			want: []byte{0x00, 0x00, 0x01, 0xBB, 0x00, 0x09, 0xFF, 0xFF, 0xFF, 0x00, 0x21, 0x7F, 0xE0, 0xE2, 0x00},
		},
		{
			// rate bound 1000 = 0x3e8: 1<<23 | 0x3e8<<1 | 1 = 0x8007d1.
			// audio bound 1, fixed 1, CSPS 0: 000001 1 0 = 0x06.
			// locks 1 1, marker 1, video bound 1: 111 00001 = 0xe1.
			// packet rate restriction 1: 0xff.
			// Stream c0: '11', scale 0, bound 32 = 0xc020.
			name: "audio and video",
			h: SystemHeader{
				RateBound:             1000,
				AudioBound:            1,
				Fixed:                 true,
				SystemAudioLock:       true,
				SystemVideoLock:       true,
				VideoBound:            1,
				PacketRateRestriction: true,
				Streams: []StreamBound{
					{StreamID: 0xE0, BufferBoundScale: 1, BufferSizeBound: 512},
					{StreamID: 0xC0, BufferBoundScale: 0, BufferSizeBound: 32},
				},
			},
			want: []byte{
				0x00, 0x00, 0x01, 0xBB, 0x00, 0x0C, 0x80, 0x07, 0xD1, 0x06, 0xE1, 0xFF,
				0xE0, 0xE2, 0x00, 0xC0, 0xC0, 0x20,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendSystemHeader(nil, tt.h)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Len(t, got, tt.h.Len())

			pkt, err := NextPacket(got)
			require.NoError(t, err)
			assert.Equal(t, byte(CodeSystemHeader), pkt.Code)
			assert.Len(t, pkt.Data, len(got))
		})
	}
}

func TestAppendSystemHeaderRejectsOutOfRange(t *testing.T) {
	video := func(size uint16, scale uint8) []StreamBound {
		return []StreamBound{{StreamID: 0xE0, BufferBoundScale: scale, BufferSizeBound: size}}
	}
	tests := []struct {
		name string
		h    SystemHeader
		want string
	}{
		{"rate bound 0", SystemHeader{}, "rate bound"},
		{"rate bound over 22 bits", SystemHeader{RateBound: MaxRateBound + 1}, "rate bound"},
		{"audio bound 33", SystemHeader{RateBound: 1, AudioBound: 33}, "audio bound"},
		{"video bound 17", SystemHeader{RateBound: 1, VideoBound: 17}, "video bound"},
		{"buffer size over 13 bits", SystemHeader{RateBound: 1, Streams: video(MaxBufferSizeBound+1, 1)}, "buffer size bound"},
		{"buffer scale 2", SystemHeader{RateBound: 1, Streams: video(1, 2)}, "scale"},
		{"stream id 0x10", SystemHeader{RateBound: 1, Streams: []StreamBound{{StreamID: 0x10}}}, "stream id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := AppendSystemHeader(nil, tt.h)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestCRC32MPEG2CheckValue(t *testing.T) {
	// The catalogue check value of CRC-32/MPEG-2 over the ASCII digits 1..9.
	assert.Equal(t, uint32(0x0376E6E7), crc32MPEG2([]byte("123456789")))
}

func TestAppendStreamMapBytes(t *testing.T) {
	got, err := AppendStreamMap(nil, StreamMap{Streams: []ElementaryStream{{StreamType: StreamTypeH264, StreamID: 0xE0}}})
	require.NoError(t, err)

	// Length 14 = 2 flag bytes + 2 info length + 2 map length + 4 entry + 4 CRC.
	// e0 ff: current_next 1, two bits 1, version 0; reserved ones and marker.
	// The CRC-32/MPEG-2 of the 16 bytes before it is 0xf4dcbd45, computed
	// with a bitwise implementation independent of crcTable.
	want := []byte{
		0x00, 0x00, 0x01, 0xBC, 0x00, 0x0E, 0xE0, 0xFF, 0x00, 0x00, 0x00, 0x04,
		0x1B, 0xE0, 0x00, 0x00, 0xF4, 0xDC, 0xBD, 0x45,
	}
	assert.Equal(t, want, got)
	assert.Equal(t, uint32(0), crc32MPEG2(got), "CRC over the map including its CRC must be 0")

	m := StreamMap{Version: 5, Streams: []ElementaryStream{{0x1B, 0xE0}, {StreamTypeG711A, 0xC0}}}
	got, err = AppendStreamMap(nil, m)
	require.NoError(t, err)
	assert.Len(t, got, m.Len())
	assert.Equal(t, byte(0xE5), got[6], "version 5 in the low 5 bits")
	assert.Equal(t, []byte{0x00, 0x12}, got[4:6], "length 10 + 2*4")
	assert.Equal(t, uint32(0), crc32MPEG2(got))
}

func TestAppendStreamMapRejectsOutOfRange(t *testing.T) {
	_, err := AppendStreamMap(nil, StreamMap{Version: 32})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "version")

	_, err = AppendStreamMap(nil, StreamMap{Streams: []ElementaryStream{{StreamType: 0x1B, StreamID: 0xBB}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stream id")
}

func TestAppendPESBytes(t *testing.T) {
	tests := []struct {
		name string
		p    PES
		want []byte
	}{
		{
			// Length 3 + 10 + 2 = 15. Flags 10 00 0 1 0 0 = 0x84, PTS_DTS 11 = 0xc0,
			// header data 10 bytes. PTS 0: 0011 000 1, 00, 0000000 1, 00, 0000000 1.
			name: "zero timestamps",
			p:    PES{StreamID: 0xE0, DataAlignment: true, HasPTS: true, HasDTS: true, Payload: []byte{0xAB, 0xCD}},
			want: []byte{
				0x00, 0x00, 0x01, 0xE0, 0x00, 0x0F, 0x84, 0xC0, 0x0A,
				0x31, 0x00, 0x01, 0x00, 0x01,
				0x11, 0x00, 0x01, 0x00, 0x01,
				0xAB, 0xCD,
			},
		},
		{
			// PTS 0x123456789 = 1 0010 0011 0100 0101 0110 0111 1000 1001:
			// 0010 100 1 = 0x29; bits 29..22 = 10001101 = 0x8d;
			// bits 21..15 = 0001010, marker = 0x15; bits 14..7 = 11001111 = 0xcf;
			// bits 6..0 = 0001001, marker = 0x13.
			name: "PTS only",
			p:    PES{StreamID: 0xE0, HasPTS: true, PTS: 0x123456789, Payload: []byte{0x01}},
			want: []byte{
				0x00, 0x00, 0x01, 0xE0, 0x00, 0x09, 0x80, 0x80, 0x05,
				0x29, 0x8D, 0x15, 0xCF, 0x13,
				0x01,
			},
		},
		{
			// All PTS bits set: 0011 111 1, ff, ff, ff, ff. DTS 3600 = 0xe10:
			// bits 14..7 = 00011100 = 0x1c, bits 6..0 = 0010000, marker = 0x21.
			name: "maximum PTS",
			p:    PES{StreamID: 0xE0, HasPTS: true, HasDTS: true, PTS: MaxTimestamp, DTS: 3600},
			want: []byte{
				0x00, 0x00, 0x01, 0xE0, 0x00, 0x0D, 0x80, 0xC0, 0x0A,
				0x3F, 0xFF, 0xFF, 0xFF, 0xFF,
				0x11, 0x00, 0x01, 0x1C, 0x21,
			},
		},
		{
			name: "continuation",
			p:    PES{StreamID: 0xE0, Payload: []byte{0x11, 0x22, 0x33}},
			want: []byte{0x00, 0x00, 0x01, 0xE0, 0x00, 0x06, 0x80, 0x00, 0x00, 0x11, 0x22, 0x33},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendPES(nil, tt.p)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)

			parsed, err := ParsePES(got)
			require.NoError(t, err)
			if tt.p.Payload == nil {
				tt.p.Payload = []byte{}
			}
			assert.Equal(t, tt.p, parsed)
		})
	}
}

func TestAppendPESRejectsOutOfRange(t *testing.T) {
	tests := []struct {
		name string
		p    PES
		want string
	}{
		{"stream map id", PES{StreamID: CodeStreamMap}, "stream id"},
		{"padding id", PES{StreamID: CodePadding}, "stream id"},
		{"DTS without PTS", PES{StreamID: 0xE0, HasDTS: true}, "DTS needs a PTS"},
		{"PTS over 33 bits", PES{StreamID: 0xE0, HasPTS: true, PTS: MaxTimestamp + 1}, "33 bits"},
		{"DTS over 33 bits", PES{StreamID: 0xE0, HasPTS: true, HasDTS: true, DTS: MaxTimestamp + 1}, "33 bits"},
		{"payload too long", PES{StreamID: 0xE0, Payload: make([]byte, MaxNextPESPayload+1)}, "exceeds 65535"},
		{"payload too long with PTS", PES{StreamID: 0xE0, HasPTS: true, HasDTS: true, Payload: make([]byte, MaxFirstPESPayload+1)}, "exceeds 65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := AppendPES(nil, tt.p)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}

	_, err := AppendPES(nil, PES{StreamID: 0xE0, HasPTS: true, HasDTS: true, Payload: make([]byte, MaxFirstPESPayload)})
	assert.NoError(t, err, "the largest payload that fits must be accepted")
}

func TestParsePESRejectsInvalid(t *testing.T) {
	valid, err := AppendPES(nil, PES{StreamID: 0xE0, HasPTS: true, HasDTS: true, PTS: 1, DTS: 1, Payload: []byte{1}})
	require.NoError(t, err)

	mutate := func(i int, v byte) []byte {
		b := append([]byte(nil), valid...)
		b[i] = v
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"MPEG-1 flags", mutate(6, 0x0F), "MPEG-2 form"},
		{"forbidden PTS_DTS_flags", mutate(7, 0x40), "forbidden"},
		{"PTS prefix", mutate(9, 0x11), "prefix"},
		{"PTS marker", mutate(11, 0x00), "marker"},
		{"header past end", mutate(8, 0x20), "runs past"},
		{"DTS missing", mutate(8, 0x07), "DTS"},
		{"not a PES", []byte{0x00, 0x00, 0x01, 0xBE, 0x00, 0x01, 0xFF}, "not a PES"},
		{"length 0", []byte{0x00, 0x00, 0x01, 0xE0, 0x00, 0x00}, "length 0"},
		{"truncated", valid[:len(valid)-1], "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePES(tt.b)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestNextPacketLengths(t *testing.T) {
	var stream []byte
	stream, _ = AppendPackHeader(stream, PackHeader{StuffingLength: 3})
	stream, _ = AppendSystemHeader(stream, SystemHeader{RateBound: 1})
	stream, _ = AppendStreamMap(stream, StreamMap{Streams: []ElementaryStream{{0x1B, 0xE0}}})
	stream, _ = AppendPES(stream, PES{StreamID: 0xE0, Payload: []byte{1, 2, 3}})
	stream = append(stream, 0x00, 0x00, 0x01, CodeEnd)

	var codes []byte
	var lengths []int
	for b := stream; len(b) > 0; {
		pkt, err := NextPacket(b)
		require.NoError(t, err)
		codes = append(codes, pkt.Code)
		lengths = append(lengths, len(pkt.Data))
		b = b[len(pkt.Data):]
	}
	assert.Equal(t, []byte{CodePack, CodeSystemHeader, CodeStreamMap, CodeVideo, CodeEnd}, codes)
	assert.Equal(t, []int{17, 12, 20, 12, 4}, lengths)

	_, err := NextPacket([]byte{0x00, 0x00, 0x01, 0x67, 0x42})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a program stream packet")
}
