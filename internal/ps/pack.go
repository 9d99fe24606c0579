// Package ps writes and checks MPEG-2 Program Streams (ISO/IEC 13818-1) as
// Hikvision cameras store them in their hiv files. Every frame starts with a
// pack header, every key frame also with a system header and a program
// stream map, and the frame itself follows in video PES packets.
//
// The writing side (Muxer and the Append functions) validates every bit field
// and returns an error instead of truncating a value. The reading side
// (ParsePackHeader, CheckPackHeader, NextPacket, ParsePES) accepts any input
// and never panics; it exists to tell segment data from bytes that the camera
// has overwritten, and to inspect what the writing side produced.
package ps

import (
	"bytes"
	"fmt"
)

// Start codes of the packets this package writes or recognises. Each follows
// the three-byte packet start code prefix 00 00 01.
const (
	CodeEnd          = 0xB9 // MPEG program end code
	CodePack         = 0xBA // pack header
	CodeSystemHeader = 0xBB // system header
	CodeStreamMap    = 0xBC // program stream map
	CodePrivate1     = 0xBD // private stream 1, Hikvision metadata
	CodePadding      = 0xBE // padding stream
	CodePrivate2     = 0xBF // private stream 2
	CodeAudio        = 0xC0 // first MPEG audio stream id
	CodeVideo        = 0xE0 // first video stream id
)

// Limits of the pack header fields, from their bit widths.
const (
	MaxTimestamp    = 1<<33 - 1 // SCR base, PTS and DTS are 33-bit counts of a 90 kHz clock
	MaxSCRExtension = 299       // the 27 MHz remainder of the SCR counts 0..299
	MaxMuxRate      = 1<<22 - 1 // mux_rate is 22 bits, in units of 50 bytes/s
	MaxPackStuffing = 7         // pack_stuffing_length is 3 bits
	packHeaderSize  = 14        // MPEG-2 pack header without stuffing bytes
)

// SystemHeaderWindow is how many bytes from the start of a pack header
// CheckPackHeader searches for the system header that must follow it.
// Hikvision writes the system header right after the pack header, at byte 20,
// so a few hundred bytes leave room for firmware that adds a packet between.
const SystemHeaderWindow = 512

var startCodePrefix = []byte{0x00, 0x00, 0x01}

// PackHeader is an MPEG-2 pack header.
type PackHeader struct {
	SCR            uint64 // system clock reference base, 90 kHz, 33 bits
	SCRExtension   uint16 // 27 MHz remainder of the SCR, 0..299
	MuxRate        uint32 // in units of 50 bytes/s, 0..MaxMuxRate (see AppendPackHeader for 0)
	StuffingLength int    // stuffing bytes after the header, 0..7
}

// Len returns the encoded size of h in bytes.
func (h PackHeader) Len() int { return packHeaderSize + h.StuffingLength }

// Validate returns an error naming the first field of h that is out of range.
func (h PackHeader) Validate() error {
	if h.SCR > MaxTimestamp {
		return fmt.Errorf("pack header: SCR %d exceeds 33 bits (max %d); reduce it modulo 2^33", h.SCR, uint64(MaxTimestamp))
	}
	if h.SCRExtension > MaxSCRExtension {
		return fmt.Errorf("pack header: SCR extension %d out of range 0..%d", h.SCRExtension, MaxSCRExtension)
	}
	if h.MuxRate > MaxMuxRate {
		return fmt.Errorf("pack header: mux rate %d exceeds 22 bits (max %d, units of 50 bytes/s)", h.MuxRate, MaxMuxRate)
	}
	if h.StuffingLength < 0 || h.StuffingLength > MaxPackStuffing {
		return fmt.Errorf("pack header: stuffing length %d out of range 0..%d", h.StuffingLength, MaxPackStuffing)
	}
	return nil
}

// AppendPackHeader appends the encoding of h to dst, with 0xFF stuffing
// bytes. It accepts a mux rate of 0, which the standard forbids, because
// published Hikvision stream dumps show mux_rate 0 in every pack header.
// Those dumps also show a frame counter in the stuffing bytes, where the
// standard requires 0xFF; readers skip stuffing either way.
func AppendPackHeader(dst []byte, h PackHeader) ([]byte, error) {
	if err := h.Validate(); err != nil {
		return dst, err
	}

	// Bytes 4..9 hold 48 bits: '01', SCR[32..30], marker, SCR[29..15],
	// marker, SCR[14..0], marker, SCR extension (9 bits), marker.
	var v uint64 = 0b01
	v = v<<3 | h.SCR>>30&0x7
	v = v<<1 | 1
	v = v<<15 | h.SCR>>15&0x7FFF
	v = v<<1 | 1
	v = v<<15 | h.SCR&0x7FFF
	v = v<<1 | 1
	v = v<<9 | uint64(h.SCRExtension)
	v = v<<1 | 1

	dst = append(dst, 0x00, 0x00, 0x01, CodePack)
	dst = append(dst, byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))

	// Bytes 10..12: mux_rate (22 bits) and two marker bits. Byte 13: five
	// reserved bits set to 1 and the 3-bit stuffing length.
	m := h.MuxRate<<2 | 0b11
	dst = append(dst, byte(m>>16), byte(m>>8), byte(m))
	dst = append(dst, 0xF8|byte(h.StuffingLength))
	for range h.StuffingLength {
		dst = append(dst, 0xFF)
	}
	return dst, nil
}

// ParsePackHeader decodes the MPEG-2 pack header at the start of b and returns
// it with its encoded length, stuffing included. It checks the start code,
// the '01' prefix that distinguishes MPEG-2 from MPEG-1, every marker bit and the SCR
// extension range. It accepts mux rate 0 and any stuffing byte values,
// because Hikvision cameras write both.
func ParsePackHeader(b []byte) (PackHeader, int, error) {
	if len(b) < 4 || !bytes.Equal(b[:3], startCodePrefix) || b[3] != CodePack {
		return PackHeader{}, 0, fmt.Errorf("no pack header start code 00 00 01 ba: data starts % x", head(b))
	}
	if len(b) < 5 {
		return PackHeader{}, 0, fmt.Errorf("pack header truncated after %d bytes", len(b))
	}
	if b[4]>>6 != 0b01 {
		if b[4]>>4 == 0b0010 {
			return PackHeader{}, 0, fmt.Errorf("MPEG-1 pack header, not MPEG-2: data starts % x", head(b))
		}
		return PackHeader{}, 0, fmt.Errorf("invalid pack header: byte 4 is %#02x, want the MPEG-2 form 01xxxxxx: data starts % x", b[4], head(b))
	}
	if len(b) < packHeaderSize {
		return PackHeader{}, 0, fmt.Errorf("pack header truncated: %d bytes, need %d", len(b), packHeaderSize)
	}

	var v uint64
	for _, c := range b[4:10] {
		v = v<<8 | uint64(c)
	}
	// Marker bits sit at bit positions 42, 26, 10 and 0 of the 48-bit field,
	// counted from its least significant bit.
	for _, bit := range []uint{42, 26, 10, 0} {
		if v>>bit&1 != 1 {
			return PackHeader{}, 0, fmt.Errorf("invalid pack header: an SCR marker bit in bytes 4..9 is 0: data starts % x", head(b))
		}
	}
	if b[12]&0b11 != 0b11 {
		return PackHeader{}, 0, fmt.Errorf("invalid pack header: mux rate marker bits are %02b, want 11: data starts % x", b[12]&0b11, head(b))
	}

	h := PackHeader{
		SCR:            (v>>43&0x7)<<30 | (v>>27&0x7FFF)<<15 | v>>11&0x7FFF,
		SCRExtension:   uint16(v >> 1 & 0x1FF),
		MuxRate:        uint32(b[10])<<14 | uint32(b[11])<<6 | uint32(b[12])>>2,
		StuffingLength: int(b[13] & 0x7),
	}
	if h.SCRExtension > MaxSCRExtension {
		return PackHeader{}, 0, fmt.Errorf("invalid pack header: SCR extension %d exceeds %d: data starts % x", h.SCRExtension, MaxSCRExtension, head(b))
	}
	if len(b) < h.Len() {
		return PackHeader{}, 0, fmt.Errorf("pack header truncated: %d bytes, need %d with stuffing", len(b), h.Len())
	}
	return h, h.Len(), nil
}

// CheckPackHeader returns nil if b starts with a valid MPEG-2 pack header and
// a system header start code (00 00 01 bb) follows within the first
// SystemHeaderWindow bytes of b. Every Hikvision segment starts this way, so
// any other content means the camera has overwritten the segment or the
// offset is wrong. Pass at least SystemHeaderWindow bytes when the data is
// that long. The error describes what was found and shows the first bytes in
// hex.
func CheckPackHeader(b []byte) error {
	_, n, err := ParsePackHeader(b)
	if err != nil {
		return err
	}

	window := b[n:min(len(b), SystemHeaderWindow)]
	if bytes.Contains(window, []byte{0x00, 0x00, 0x01, CodeSystemHeader}) {
		return nil
	}
	return fmt.Errorf("no system header (00 00 01 bb) within the first %d bytes after a valid pack header: %d bytes checked, data starts % x",
		min(len(b), SystemHeaderWindow), len(b), head(b))
}

// head returns at most the first 32 bytes of b, for error messages.
func head(b []byte) []byte {
	return b[:min(len(b), 32)]
}
