package ps

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMuxerKeyFrameBytes(t *testing.T) {
	m, err := NewMuxer(MuxerConfig{PackStuffing: 6})
	require.NoError(t, err)

	got, err := m.AppendFrame(nil, Frame{Data: []byte{0x00, 0x00, 0x00, 0x01, 0x65}, SCR: 0, PTS: 3600, DTS: 3600, Key: true})
	require.NoError(t, err)

	want := []byte{
		// Pack header: SCR 0, mux rate 0 as Hikvision writes it, 6 stuffing bytes.
		0x00, 0x00, 0x01, 0xBA, 0x44, 0x00, 0x04, 0x00, 0x04, 0x01, 0x00, 0x00, 0x03, 0xFE,
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
		// System header with the defaults (see TestAppendSystemHeaderBytes).
		0x00, 0x00, 0x01, 0xBB, 0x00, 0x09, 0xFF, 0xFF, 0xFF, 0x00, 0x21, 0x7F, 0xE0, 0xE2, 0x00,
		// Stream map: H.264 on stream e0 (see TestAppendStreamMapBytes).
		0x00, 0x00, 0x01, 0xBC, 0x00, 0x0E, 0xE0, 0xFF, 0x00, 0x00, 0x00, 0x04,
		0x1B, 0xE0, 0x00, 0x00, 0xF4, 0xDC, 0xBD, 0x45,
		// PES: length 3 + 10 + 5 = 18. PTS = DTS = 3600 = 0xe10:
		// bits 14..7 = 0x1c, bits 6..0 = 0010000 and marker = 0x21.
		0x00, 0x00, 0x01, 0xE0, 0x00, 0x12, 0x84, 0xC0, 0x0A,
		0x31, 0x00, 0x01, 0x1C, 0x21,
		0x11, 0x00, 0x01, 0x1C, 0x21,
		0x00, 0x00, 0x00, 0x01, 0x65,
	}
	assert.Equal(t, want, got)
}

func TestMuxerNonKeyFrameHasNoHeaders(t *testing.T) {
	m, err := NewMuxer(MuxerConfig{MuxRate: 100})
	require.NoError(t, err)

	got, err := m.AppendFrame(nil, Frame{Data: []byte{0x41}, SCR: 7, PTS: 9, DTS: 8})
	require.NoError(t, err)

	codes, pes := walk(t, got)
	assert.Equal(t, []byte{CodePack, CodeVideo}, codes)

	h, _, err := ParsePackHeader(got)
	require.NoError(t, err)
	assert.Equal(t, PackHeader{SCR: 7, MuxRate: 100}, h)

	require.Len(t, pes, 1)
	assert.Equal(t, uint64(9), pes[0].PTS)
	assert.Equal(t, uint64(8), pes[0].DTS)
}

func TestMuxerSplitsLargeFrames(t *testing.T) {
	tests := []struct {
		name     string
		cfg      MuxerConfig
		size     int
		payloads []int
	}{
		{"small limit", MuxerConfig{MaxPESPayload: 4}, 10, []int{4, 4, 2}},
		{"exact limit", MuxerConfig{MaxPESPayload: 4}, 8, []int{4, 4}},
		{"default fits one", MuxerConfig{}, MaxFirstPESPayload, []int{MaxFirstPESPayload}},
		{"default limits", MuxerConfig{}, MaxFirstPESPayload + MaxNextPESPayload + 1, []int{MaxFirstPESPayload, MaxNextPESPayload, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMuxer(tt.cfg)
			require.NoError(t, err)

			data := make([]byte, tt.size)
			for i := range data {
				data[i] = byte(i)
			}
			got, err := m.AppendFrame(nil, Frame{Data: data, PTS: 100, DTS: 90, Key: true})
			require.NoError(t, err)

			_, pes := walk(t, got)
			require.Len(t, pes, len(tt.payloads))

			var joined []byte
			for i, p := range pes {
				assert.Len(t, p.Payload, tt.payloads[i], "payload of PES %d", i)
				assert.Equal(t, i == 0, p.HasPTS, "PTS only on the first PES, PES %d", i)
				assert.Equal(t, i == 0, p.HasDTS, "DTS only on the first PES, PES %d", i)
				assert.Equal(t, i == 0, p.DataAlignment, "alignment only on the first PES, PES %d", i)
				joined = append(joined, p.Payload...)
			}
			assert.True(t, bytes.Equal(data, joined), "payloads must join to the frame")
			assert.Equal(t, uint64(100), pes[0].PTS)
			assert.Equal(t, uint64(90), pes[0].DTS)
		})
	}
}

func TestMuxerRejectsBadInput(t *testing.T) {
	configs := []struct {
		name string
		cfg  MuxerConfig
		want string
	}{
		{"audio stream id", MuxerConfig{StreamID: 0xC0}, "stream id"},
		{"rate bound below mux rate", MuxerConfig{MuxRate: 10, RateBound: 5}, "rate bound"},
		{"mux rate over 22 bits", MuxerConfig{MuxRate: MaxMuxRate + 1, RateBound: MaxRateBound}, "rate bound"},
		{"stuffing 8", MuxerConfig{PackStuffing: 8}, "stuffing"},
		{"negative PES payload", MuxerConfig{MaxPESPayload: -1}, "PES payload"},
		{"PES payload too large", MuxerConfig{MaxPESPayload: MaxFirstPESPayload + 1}, "PES payload"},
		{"buffer bound over 13 bits", MuxerConfig{BufferSizeBound: MaxBufferSizeBound + 1}, "buffer size bound"},
	}
	for _, tt := range configs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewMuxer(tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}

	m, err := NewMuxer(MuxerConfig{})
	require.NoError(t, err)

	frames := []struct {
		name string
		f    Frame
		want string
	}{
		{"empty frame", Frame{}, "empty"},
		{"SCR over 33 bits", Frame{Data: []byte{1}, SCR: MaxTimestamp + 1}, "SCR"},
		{"PTS over 33 bits", Frame{Data: []byte{1}, PTS: MaxTimestamp + 1}, "33 bits"},
	}
	for _, tt := range frames {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte{0xAA}
			got, err := m.AppendFrame(dst, tt.f)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, []byte{0xAA}, got, "dst must be unchanged on error")
		})
	}
}

func TestMuxerOutputPassesCheckPackHeader(t *testing.T) {
	m, err := NewMuxer(MuxerConfig{PackStuffing: 6})
	require.NoError(t, err)

	var buf bytes.Buffer
	n, err := m.WriteFrame(&buf, Frame{Data: []byte{0, 0, 0, 1, 0x65, 0x88}, Key: true})
	require.NoError(t, err)
	assert.Equal(t, buf.Len(), n)
	assert.NoError(t, CheckPackHeader(buf.Bytes()))

	plain, err := m.AppendFrame(nil, Frame{Data: []byte{0, 0, 0, 1, 0x41, 0x9A}})
	require.NoError(t, err)
	assert.Error(t, CheckPackHeader(plain), "a non-key frame has no system header")
}

// walk splits a program stream into packets and returns their start codes
// and the parsed PES packets.
func walk(t *testing.T, b []byte) ([]byte, []PES) {
	t.Helper()
	var codes []byte
	var pes []PES
	for len(b) > 0 {
		pkt, err := NextPacket(b)
		require.NoError(t, err)
		codes = append(codes, pkt.Code)
		if pkt.Code >= CodeVideo && pkt.Code <= 0xEF {
			p, err := ParsePES(pkt.Data)
			require.NoError(t, err)
			pes = append(pes, p)
		}
		b = b[len(pkt.Data):]
	}
	return codes, pes
}
