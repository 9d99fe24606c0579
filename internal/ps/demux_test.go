package ps

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testFrames returns n frames of distinct content, every fifth a key frame,
// with sizes that need one, two or three PES packets.
func testFrames(n int) []Frame {
	frames := make([]Frame, n)
	for i := range frames {
		size := 100 + i*30000
		data := bytes.Repeat([]byte{byte(i + 1)}, size)
		copy(data, []byte{0x00, 0x00, 0x00, 0x01, 0x65})
		pts := uint64(3600 * (i + 1))
		frames[i] = Frame{Data: data, PTS: pts, DTS: pts, SCR: pts, Key: i%5 == 0}
	}
	return frames
}

func muxFrames(t *testing.T, frames []Frame) []byte {
	t.Helper()
	m, err := NewMuxer(MuxerConfig{PackStuffing: 6})
	require.NoError(t, err)
	var out []byte
	for _, f := range frames {
		out, err = m.AppendFrame(out, f)
		require.NoError(t, err)
	}
	return out
}

// demuxedFrame is the payload and timestamps of one frame as demuxed.
type demuxedFrame struct {
	data       []byte
	pts, dts   uint64
	streamType uint8
	truncated  bool
}

// demuxAll joins the demuxed video packets into frames: a packet with a PTS
// starts a frame.
func demuxAll(t *testing.T, b []byte) ([]demuxedFrame, DemuxStats) {
	t.Helper()
	d := NewDemuxer(bytes.NewReader(b), int64(len(b)))
	var frames []demuxedFrame
	for {
		p, err := d.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if !p.IsVideo() {
			continue
		}
		assert.Equal(t, p.Payload, b[p.PayloadOffset:p.PayloadOffset+int64(len(p.Payload))], "payload offset of packet at %d", p.Offset)
		if p.HasPTS || len(frames) == 0 {
			dts := p.PTS
			if p.HasDTS {
				dts = p.DTS
			}
			frames = append(frames, demuxedFrame{pts: p.PTS, dts: dts, streamType: p.StreamType})
		}
		f := &frames[len(frames)-1]
		f.data = append(f.data, p.Payload...)
		f.truncated = f.truncated || p.Truncated
	}
	return frames, d.Stats()
}

func assertFrames(t *testing.T, want []Frame, got []demuxedFrame) {
	t.Helper()
	require.Equal(t, len(want), len(got), "frames")
	for i := range want {
		assert.Equal(t, want[i].PTS, got[i].pts, "PTS of frame %d", i)
		assert.Equal(t, want[i].DTS, got[i].dts, "DTS of frame %d", i)
		assert.True(t, bytes.Equal(want[i].Data, got[i].data), "data of frame %d", i)
	}
}

func TestDemuxerRoundTrip(t *testing.T) {
	frames := testFrames(7)
	got, stats := demuxAll(t, muxFrames(t, frames))

	assertFrames(t, frames, got)
	for i, f := range got {
		assert.Equal(t, uint8(StreamTypeH264), f.streamType, "stream type of frame %d", i)
	}
	assert.Equal(t, 7, stats.Packs)
	assert.Equal(t, 2, stats.StreamMaps)
	assert.Zero(t, stats.JunkBytes)
	assert.Zero(t, stats.Resyncs)
}

func TestDemuxerSkipsLeadingHeader(t *testing.T) {
	frames := testFrames(3)

	// A proprietary header with a fake pack start code whose marker bits
	// are wrong.
	header := bytes.Repeat([]byte{0x49, 0x4D, 0x4B, 0x48}, 1024)
	header = append(header, 0x00, 0x00, 0x01, CodePack, 0x00, 0x00)
	stream := append(header, muxFrames(t, frames)...)

	got, stats := demuxAll(t, stream)
	assertFrames(t, frames, got)
	assert.Equal(t, int64(len(header)), stats.LeadingBytes)
}

func TestDemuxerResyncsAfterJunk(t *testing.T) {
	frames := testFrames(6)
	m, err := NewMuxer(MuxerConfig{})
	require.NoError(t, err)

	// Junk after frame 2 includes a start code with a plausible PES length
	// that would swallow frame 3 if the demuxer trusted it.
	junk := []byte{0x12, 0x00, 0x00, 0x01, 0xE0, 0x40, 0x00, 0x80, 0x00, 0x00, 0x77, 0x00, 0x00, 0x01}
	var stream []byte
	for i, f := range frames {
		stream, err = m.AppendFrame(stream, f)
		require.NoError(t, err)
		if i == 2 {
			stream = append(stream, junk...)
		}
	}

	got, stats := demuxAll(t, stream)
	assertFrames(t, frames, got)
	assert.Equal(t, int64(len(junk)), stats.JunkBytes)
	assert.Positive(t, stats.Resyncs)
}

func TestDemuxerTruncatedLastPacket(t *testing.T) {
	frames := testFrames(4) // the last frame spans two PES packets
	stream := muxFrames(t, frames)
	cut := stream[:len(stream)-100]

	got, _ := demuxAll(t, cut)
	require.Len(t, got, 4)
	assertFrames(t, frames[:3], got[:3])
	assert.True(t, got[3].truncated, "last frame marked truncated")
	assert.Equal(t, frames[3].Data[:len(frames[3].Data)-100], got[3].data)
}

func TestDemuxerLateAndChangedStreamMap(t *testing.T) {
	frames := testFrames(6)
	for i := range frames {
		frames[i].Key = i == 3
	}
	stream := muxFrames(t, frames)

	// A second map adds an audio stream and moves video to H.265.
	changed, err := AppendStreamMap(nil, StreamMap{Version: 1, Streams: []ElementaryStream{
		{StreamType: StreamTypeH265, StreamID: CodeVideo},
		{StreamType: StreamTypeG711A, StreamID: CodeAudio},
	}})
	require.NoError(t, err)
	audio, err := AppendPES(nil, PES{StreamID: CodeAudio, HasPTS: true, PTS: 99, Payload: []byte{1, 2, 3}})
	require.NoError(t, err)
	stream = append(stream, changed...)
	stream = append(stream, audio...)

	d := NewDemuxer(bytes.NewReader(stream), int64(len(stream)))
	var types []uint8
	var audioType uint8
	for {
		p, err := d.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if p.IsAudio() {
			audioType = p.StreamType
			assert.Equal(t, []byte{1, 2, 3}, p.Payload)
			continue
		}
		if p.HasPTS {
			types = append(types, p.StreamType)
		}
	}
	assert.Equal(t, []uint8{0, 0, 0, StreamTypeH264, StreamTypeH264, StreamTypeH264}, types)
	assert.Equal(t, uint8(StreamTypeG711A), audioType)
	assert.Equal(t, uint8(StreamTypeH265), d.StreamType(CodeVideo))
}

func TestDemuxerSkipsPaddingAndPrivate(t *testing.T) {
	frames := testFrames(2)
	m, err := NewMuxer(MuxerConfig{})
	require.NoError(t, err)

	stream, err := m.AppendFrame(nil, frames[0])
	require.NoError(t, err)
	stream, err = AppendPES(stream, PES{StreamID: CodePrivate1, Payload: []byte{0x00, 0x00, 0x01, 0xE0, 0xAA}})
	require.NoError(t, err)
	stream = append(stream, 0x00, 0x00, 0x01, CodePadding, 0x00, 0x08)
	stream = append(stream, bytes.Repeat([]byte{0xFF}, 8)...)
	stream, err = m.AppendFrame(stream, frames[1])
	require.NoError(t, err)
	stream = append(stream, 0x00, 0x00, 0x01, CodeEnd)

	got, stats := demuxAll(t, stream)
	assertFrames(t, frames, got)
	assert.Zero(t, stats.Resyncs)
}

func TestDemuxerPESStuffingAndNoDTS(t *testing.T) {
	pack, err := AppendPackHeader(nil, PackHeader{})
	require.NoError(t, err)

	// PTS only, then 4 stuffing bytes (0xff) in the header data.
	payload := []byte{0x00, 0x00, 0x00, 0x01, 0x41, 0x9A}
	pes := []byte{0x00, 0x00, 0x01, 0xE0, 0x00, byte(3 + 5 + 4 + len(payload)), 0x80, 0x80, 5 + 4}
	pes = appendTimestamp(pes, 0b0010, 1234)
	pes = append(pes, 0xFF, 0xFF, 0xFF, 0xFF)
	pes = append(pes, payload...)
	stream := append(pack, pes...)

	d := NewDemuxer(bytes.NewReader(stream), int64(len(stream)))
	p, err := d.Next()
	require.NoError(t, err)
	assert.True(t, p.HasPTS)
	assert.False(t, p.HasDTS)
	assert.Equal(t, uint64(1234), p.PTS)
	assert.Equal(t, payload, p.Payload)
	_, err = d.Next()
	assert.ErrorIs(t, err, io.EOF)
}

func TestDemuxerRejectsNonProgramStream(t *testing.T) {
	data := bytes.Repeat([]byte{0x47, 0x40, 0x00, 0x10}, 1000)
	d := NewDemuxer(bytes.NewReader(data), int64(len(data)))
	_, err := d.Next()
	assert.ErrorIs(t, err, ErrNoPackHeader)
}

type failingReader struct{}

func (failingReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("disk on fire") }

func TestDemuxerReportsReadErrors(t *testing.T) {
	d := NewDemuxer(failingReader{}, 1000)
	_, err := d.Next()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk on fire")
	assert.Contains(t, err.Error(), "offset 0")
}

func TestDemuxerLargeSourceCrossesWindow(t *testing.T) {
	frames := testFrames(20) // about 5.7 MB, many buffer refills
	got, _ := demuxAll(t, muxFrames(t, frames))
	assertFrames(t, frames, got)
}

func TestDemuxerJunkNearEnd(t *testing.T) {
	frames := testFrames(3)
	stream := muxFrames(t, frames[:2])

	// A start code whose length runs past the end of the source, then a
	// real frame: the demuxer must not take it for a truncated packet.
	stream = append(stream, 0x00, 0x00, 0x01, 0xE0, 0x7F, 0x00, 0x80, 0x6A, 0x00)
	stream = append(stream, muxFrames(t, frames[2:])...)

	got, stats := demuxAll(t, stream)
	assertFrames(t, frames, got)
	assert.Equal(t, int64(9), stats.JunkBytes)
}
