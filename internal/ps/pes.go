package ps

import (
	"bytes"
	"fmt"
)

// MaxPESPacketLength is the largest PES_packet_length (16 bits): the bytes
// of a PES packet after its 6-byte start code and length field.
const MaxPESPacketLength = 0xFFFF

// PES is one PES packet with the optional MPEG-2 header.
type PES struct {
	StreamID      uint8 // 0xBD, or 0xC0..0xEF for audio and video
	DataAlignment bool  // the payload starts with an access unit
	HasPTS        bool
	HasDTS        bool   // only with HasPTS
	PTS           uint64 // 90 kHz, 33 bits
	DTS           uint64 // 90 kHz, 33 bits
	Payload       []byte
}

// HeaderLen returns the size in bytes of the packet before its payload.
func (p PES) HeaderLen() int {
	n := 9
	if p.HasPTS {
		n += 5
	}
	if p.HasDTS {
		n += 5
	}
	return n
}

// Validate returns an error naming the first field of p that is out of range.
func (p PES) Validate() error {
	if p.StreamID != CodePrivate1 && (p.StreamID < CodeAudio || p.StreamID > 0xEF) {
		return fmt.Errorf("PES: stream id %#02x has no MPEG-2 PES header; use 0xbd or 0xc0..0xef", p.StreamID)
	}
	if p.HasDTS && !p.HasPTS {
		return fmt.Errorf("PES: a DTS needs a PTS (PTS_DTS_flags 01 is forbidden)")
	}
	if p.PTS > MaxTimestamp || p.DTS > MaxTimestamp {
		return fmt.Errorf("PES: PTS %d or DTS %d exceeds 33 bits (max %d); reduce it modulo 2^33", p.PTS, p.DTS, uint64(MaxTimestamp))
	}
	if n := p.HeaderLen() - 6 + len(p.Payload); n > MaxPESPacketLength {
		return fmt.Errorf("PES: packet length %d exceeds %d; split the payload over several packets", n, MaxPESPacketLength)
	}
	return nil
}

// AppendPES appends the encoding of p to dst.
func AppendPES(dst []byte, p PES) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return dst, err
	}

	length := p.HeaderLen() - 6 + len(p.Payload)
	dst = append(dst, 0x00, 0x00, 0x01, p.StreamID, byte(length>>8), byte(length))

	// '10', scrambling control 00, priority 0, data_alignment_indicator,
	// copyright 0, original_or_copy 0.
	dst = append(dst, 0x80|bit(p.DataAlignment)<<2)

	// PTS_DTS_flags, then ESCR, ES_rate, DSM_trick_mode,
	// additional_copy_info, PES_CRC and PES_extension flags, all 0.
	var flags uint8
	switch {
	case p.HasDTS:
		flags = 0b11 << 6
	case p.HasPTS:
		flags = 0b10 << 6
	}
	dst = append(dst, flags, byte(p.HeaderLen()-9))

	switch {
	case p.HasDTS:
		dst = appendTimestamp(dst, 0b0011, p.PTS)
		dst = appendTimestamp(dst, 0b0001, p.DTS)
	case p.HasPTS:
		dst = appendTimestamp(dst, 0b0010, p.PTS)
	}
	return append(dst, p.Payload...), nil
}

// appendTimestamp appends a 33-bit PTS or DTS in its 5-byte form: a 4-bit
// prefix, then bits 32..30, 29..15 and 14..0, each followed by a marker bit.
func appendTimestamp(dst []byte, prefix uint8, ts uint64) []byte {
	return append(dst,
		prefix<<4|byte(ts>>30&0x7)<<1|1,
		byte(ts>>22),
		byte(ts>>15)<<1|1,
		byte(ts>>7),
		byte(ts)<<1|1,
	)
}

// ParsePES decodes the PES packet at the start of b. Only stream ids that
// carry the optional MPEG-2 header are accepted. Payload aliases b.
func ParsePES(b []byte) (PES, error) {
	pkt, err := NextPacket(b)
	if err != nil {
		return PES{}, err
	}
	return parsePESData(pkt.Code, pkt.Data)
}

// parsePESData decodes a PES packet whose bytes from its start code on are
// data. The data may end before PES_packet_length says, which the demuxer
// uses for a packet cut off by the end of the source.
func parsePESData(code byte, data []byte) (PES, error) {
	var err error
	pkt := Packet{Code: code, Data: data}
	if !hasOptionalPESHeader(pkt.Code) {
		return PES{}, fmt.Errorf("start code 00 00 01 %02x is not a PES packet with an MPEG-2 header", pkt.Code)
	}

	if len(data) < 9 {
		return PES{}, fmt.Errorf("PES packet %#02x truncated: %d bytes, need 9 for its header", pkt.Code, len(data))
	}
	if data[6]>>6 != 0b10 {
		return PES{}, fmt.Errorf("PES packet %#02x: byte 6 is %#02x, want the MPEG-2 form 10xxxxxx", pkt.Code, data[6])
	}

	headerEnd := 9 + int(data[8])
	if headerEnd > len(data) {
		return PES{}, fmt.Errorf("PES packet %#02x: header data length %d runs past the packet end", pkt.Code, data[8])
	}

	p := PES{StreamID: pkt.Code, DataAlignment: data[6]&0x04 != 0}
	fields := data[9:headerEnd]
	switch data[7] >> 6 {
	case 0b00:
	case 0b10:
		p.HasPTS = true
		if p.PTS, err = parseTimestamp(fields, 0b0010); err != nil {
			return PES{}, fmt.Errorf("PES packet %#02x: PTS: %w", pkt.Code, err)
		}
	case 0b11:
		p.HasPTS, p.HasDTS = true, true
		if p.PTS, err = parseTimestamp(fields, 0b0011); err != nil {
			return PES{}, fmt.Errorf("PES packet %#02x: PTS: %w", pkt.Code, err)
		}
		if p.DTS, err = parseTimestamp(fields[5:], 0b0001); err != nil {
			return PES{}, fmt.Errorf("PES packet %#02x: DTS: %w", pkt.Code, err)
		}
	default:
		return PES{}, fmt.Errorf("PES packet %#02x: PTS_DTS_flags 01 is forbidden", pkt.Code)
	}

	p.Payload = data[headerEnd:]
	return p, nil
}

// parseTimestamp decodes a 5-byte PTS or DTS whose 4-bit prefix must be
// prefix.
func parseTimestamp(b []byte, prefix uint8) (uint64, error) {
	if len(b) < 5 {
		return 0, fmt.Errorf("truncated: %d bytes, need 5", len(b))
	}
	if got := b[0] >> 4; got != prefix {
		return 0, fmt.Errorf("prefix %04b, want %04b", got, prefix)
	}
	if b[0]&1 != 1 || b[2]&1 != 1 || b[4]&1 != 1 {
		return 0, fmt.Errorf("marker bit is 0 in % x", b[:5])
	}
	ts := uint64(b[0]>>1&0x7)<<30 | uint64(b[1])<<22 | uint64(b[2]>>1)<<15 | uint64(b[3])<<7 | uint64(b[4]>>1)
	return ts, nil
}

// hasOptionalPESHeader reports whether packets of stream id code carry the
// MPEG-2 optional PES header. Of the ids from 0xbc on, the program stream
// map, padding, private stream 2, ECM, EMM, DSMCC, H.222.1 type E and the
// program stream directory do not.
func hasOptionalPESHeader(code uint8) bool {
	switch code {
	case CodeStreamMap, CodePadding, CodePrivate2, 0xF0, 0xF1, 0xF2, 0xF8, 0xFF:
		return false
	}
	return code >= CodeStreamMap
}

// isPacketStartCode reports whether b starts with 00 00 01.
func isPacketStartCode(b []byte) bool {
	return len(b) >= 4 && bytes.Equal(b[:3], startCodePrefix)
}
