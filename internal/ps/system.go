package ps

import (
	"fmt"
)

// Limits of the system header fields, from their bit widths.
const (
	MaxRateBound       = 1<<22 - 1 // rate_bound is 22 bits, in units of 50 bytes/s
	MaxAudioBound      = 32        // audio_bound is 6 bits but may not exceed 32
	MaxVideoBound      = 16        // video_bound is 5 bits but may not exceed 16
	MaxBufferSizeBound = 1<<13 - 1 // P-STD_buffer_size_bound is 13 bits
)

// SystemHeader is a program stream system header: bounds that let a decoder
// decide whether it can play the stream.
type SystemHeader struct {
	RateBound             uint32 // max mux rate of any pack, units of 50 bytes/s
	AudioBound            uint8  // max number of simultaneous audio streams
	Fixed                 bool   // fixed bit rate
	CSPS                  bool   // constrained system parameter stream
	SystemAudioLock       bool
	SystemVideoLock       bool
	VideoBound            uint8 // max number of simultaneous video streams
	PacketRateRestriction bool
	Streams               []StreamBound
}

// StreamBound is the P-STD buffer bound of one stream in a system header.
type StreamBound struct {
	StreamID uint8 // 0xB8, 0xB9, or 0xBC and above

	// BufferBoundScale selects the unit of BufferSizeBound: 0 for 128 bytes
	// (audio streams), 1 for 1024 bytes (video streams).
	BufferBoundScale uint8
	BufferSizeBound  uint16 // 13 bits, in units set by BufferBoundScale
}

// Validate returns an error naming the first field of h that is out of range.
func (h SystemHeader) Validate() error {
	if h.RateBound == 0 || h.RateBound > MaxRateBound {
		return fmt.Errorf("system header: rate bound %d out of range 1..%d (units of 50 bytes/s)", h.RateBound, MaxRateBound)
	}
	if h.AudioBound > MaxAudioBound {
		return fmt.Errorf("system header: audio bound %d exceeds %d", h.AudioBound, MaxAudioBound)
	}
	if h.VideoBound > MaxVideoBound {
		return fmt.Errorf("system header: video bound %d exceeds %d", h.VideoBound, MaxVideoBound)
	}

	// header_length is 16 bits and counts 6 fixed bytes plus 3 per stream.
	if limit := (0xFFFF - 6) / 3; len(h.Streams) > limit {
		return fmt.Errorf("system header: %d streams exceed the %d that header_length can count", len(h.Streams), limit)
	}
	for i, s := range h.Streams {
		if s.StreamID < 0xBC && s.StreamID != 0xB8 && s.StreamID != 0xB9 {
			return fmt.Errorf("system header: stream %d: stream id %#02x is invalid; use 0xb8, 0xb9 or 0xbc..0xff", i, s.StreamID)
		}
		if s.BufferBoundScale > 1 {
			return fmt.Errorf("system header: stream %d: buffer bound scale %d is not 0 or 1", i, s.BufferBoundScale)
		}
		if s.BufferSizeBound > MaxBufferSizeBound {
			return fmt.Errorf("system header: stream %d: buffer size bound %d exceeds 13 bits (max %d)", i, s.BufferSizeBound, MaxBufferSizeBound)
		}
	}
	return nil
}

// Len returns the encoded size of h in bytes.
func (h SystemHeader) Len() int { return 12 + 3*len(h.Streams) }

// AppendSystemHeader appends the encoding of h to dst.
func AppendSystemHeader(dst []byte, h SystemHeader) ([]byte, error) {
	if err := h.Validate(); err != nil {
		return dst, err
	}

	length := 6 + 3*len(h.Streams)
	dst = append(dst, 0x00, 0x00, 0x01, CodeSystemHeader, byte(length>>8), byte(length))

	// marker, rate_bound (22 bits), marker.
	r := 1<<23 | h.RateBound<<1 | 1
	dst = append(dst, byte(r>>16), byte(r>>8), byte(r))

	// audio_bound (6 bits), fixed_flag, CSPS_flag.
	dst = append(dst, h.AudioBound<<2|bit(h.Fixed)<<1|bit(h.CSPS))

	// system_audio_lock_flag, system_video_lock_flag, marker, video_bound (5 bits).
	dst = append(dst, bit(h.SystemAudioLock)<<7|bit(h.SystemVideoLock)<<6|1<<5|h.VideoBound)

	// packet_rate_restriction_flag, 7 reserved bits set to 1.
	dst = append(dst, bit(h.PacketRateRestriction)<<7|0x7F)

	// stream_id, '11', P-STD_buffer_bound_scale, P-STD_buffer_size_bound (13 bits).
	for _, s := range h.Streams {
		v := 0b11<<14 | uint16(s.BufferBoundScale)<<13 | s.BufferSizeBound
		dst = append(dst, s.StreamID, byte(v>>8), byte(v))
	}
	return dst, nil
}

func bit(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
