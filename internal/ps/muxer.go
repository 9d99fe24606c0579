package ps

import (
	"fmt"
	"io"
)

// Payload limits of a video PES packet. The first packet of a frame carries
// PTS and DTS (10 header bytes), the others none, and PES_packet_length
// counts 3 flag bytes, the header data and the payload.
const (
	MaxFirstPESPayload = MaxPESPacketLength - 3 - 10
	MaxNextPESPayload  = MaxPESPacketLength - 3
)

// MuxerConfig sets the fields a Muxer writes. Zero values select the
// defaults given per field.
type MuxerConfig struct {
	StreamID   uint8 // video PES stream id, 0xe0..0xef; default CodeVideo
	StreamType uint8 // stream type in the stream map; default StreamTypeH264

	// MuxRate is the pack header mux_rate in units of 50 bytes/s. The
	// default 0 is what Hikvision cameras write, although the standard
	// forbids it.
	MuxRate uint32

	// RateBound is the system header rate_bound in units of 50 bytes/s,
	// at least MuxRate; default MaxRateBound.
	RateBound uint32

	PackStuffing int // pack header stuffing bytes, 0..7; Hikvision writes 6

	// BufferSizeBound is the P-STD buffer size bound of the video stream in
	// units of 1024 bytes, 1..MaxBufferSizeBound; default 512 (512 KiB).
	BufferSizeBound uint16

	// MaxPESPayload caps the payload bytes per PES packet, 1..
	// MaxFirstPESPayload; default 0 fills each packet up to
	// PES_packet_length 65535.
	MaxPESPayload int
}

// Muxer writes video frames as an MPEG-2 program stream in the layout
// Hikvision cameras use. Each frame gets a pack header, and each key frame
// also a system header and a stream map. The frame follows, split over PES
// packets with PTS and DTS on the first one. A Muxer keeps no state between
// frames, so it is safe for concurrent use.
type Muxer struct {
	cfg    MuxerConfig
	system SystemHeader
	psm    StreamMap
}

// Frame is one access unit and its timestamps, all on the 90 kHz clock and
// below 2^33.
type Frame struct {
	Data []byte // the access unit, for H.264 in Annex B form
	PTS  uint64
	DTS  uint64
	SCR  uint64 // system clock reference of the pack header; should not pass DTS, unchecked because both wrap
	Key  bool   // a random access point: write system header and stream map first
}

// NewMuxer checks cfg, fills in its defaults and returns a Muxer.
func NewMuxer(cfg MuxerConfig) (*Muxer, error) {
	if cfg.StreamID == 0 {
		cfg.StreamID = CodeVideo
	}
	if cfg.StreamType == 0 {
		cfg.StreamType = StreamTypeH264
	}
	if cfg.RateBound == 0 {
		cfg.RateBound = MaxRateBound
	}
	if cfg.BufferSizeBound == 0 {
		cfg.BufferSizeBound = 512
	}

	if cfg.StreamID < CodeVideo || cfg.StreamID > 0xEF {
		return nil, fmt.Errorf("muxer: video stream id %#02x out of range 0xe0..0xef", cfg.StreamID)
	}
	if cfg.RateBound < cfg.MuxRate {
		return nil, fmt.Errorf("muxer: rate bound %d is below mux rate %d; raise it", cfg.RateBound, cfg.MuxRate)
	}
	if cfg.MaxPESPayload < 0 || cfg.MaxPESPayload > MaxFirstPESPayload {
		return nil, fmt.Errorf("muxer: max PES payload %d out of range 1..%d (0 selects the maximum)", cfg.MaxPESPayload, MaxFirstPESPayload)
	}
	if err := (PackHeader{MuxRate: cfg.MuxRate, StuffingLength: cfg.PackStuffing}).Validate(); err != nil {
		return nil, fmt.Errorf("muxer: %w", err)
	}

	m := &Muxer{
		cfg: cfg,
		system: SystemHeader{
			RateBound:  cfg.RateBound,
			VideoBound: 1,
			Streams: []StreamBound{
				{StreamID: cfg.StreamID, BufferBoundScale: 1, BufferSizeBound: cfg.BufferSizeBound},
			},
		},
		psm: StreamMap{
			Streams: []ElementaryStream{{StreamType: cfg.StreamType, StreamID: cfg.StreamID}},
		},
	}
	if err := m.system.Validate(); err != nil {
		return nil, fmt.Errorf("muxer: %w", err)
	}
	return m, nil
}

// AppendFrame appends f to dst as pack header, system header and stream map
// (key frames only) and PES packets. On error dst is returned unchanged.
func (m *Muxer) AppendFrame(dst []byte, f Frame) ([]byte, error) {
	start := len(dst)
	out, err := m.appendFrame(dst, f)
	if err != nil {
		return dst[:start], err
	}
	return out, nil
}

func (m *Muxer) appendFrame(dst []byte, f Frame) ([]byte, error) {
	if len(f.Data) == 0 {
		return dst, fmt.Errorf("muxer: frame at PTS %d is empty", f.PTS)
	}

	dst, err := AppendPackHeader(dst, PackHeader{SCR: f.SCR, MuxRate: m.cfg.MuxRate, StuffingLength: m.cfg.PackStuffing})
	if err != nil {
		return dst, fmt.Errorf("muxer: %w", err)
	}

	if f.Key {
		if dst, err = AppendSystemHeader(dst, m.system); err != nil {
			return dst, fmt.Errorf("muxer: %w", err)
		}
		if dst, err = AppendStreamMap(dst, m.psm); err != nil {
			return dst, fmt.Errorf("muxer: %w", err)
		}
	}

	data := f.Data
	first := true
	for len(data) > 0 {
		limit := MaxNextPESPayload
		if first {
			limit = MaxFirstPESPayload
		}
		if m.cfg.MaxPESPayload > 0 {
			limit = min(limit, m.cfg.MaxPESPayload)
		}
		n := min(limit, len(data))

		p := PES{StreamID: m.cfg.StreamID, Payload: data[:n]}
		if first {
			p.DataAlignment, p.HasPTS, p.HasDTS, p.PTS, p.DTS = true, true, true, f.PTS, f.DTS
		}
		if dst, err = AppendPES(dst, p); err != nil {
			return dst, fmt.Errorf("muxer: %w", err)
		}
		data = data[n:]
		first = false
	}
	return dst, nil
}

// WriteFrame writes f to w as AppendFrame encodes it and returns the number
// of bytes written.
func (m *Muxer) WriteFrame(w io.Writer, f Frame) (int, error) {
	b, err := m.AppendFrame(nil, f)
	if err != nil {
		return 0, err
	}
	return w.Write(b)
}
