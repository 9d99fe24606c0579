package ps

import (
	"fmt"
)

// ParseStreamMap decodes the program stream map at the start of b. It skips
// program and elementary stream descriptors, whose content no reader in this
// project needs, and it does not check the CRC: published Hikvision dumps
// show maps with proprietary descriptors, and a wrong CRC in one of them
// should not cost the whole segment.
func ParseStreamMap(b []byte) (StreamMap, error) {
	pkt, err := NextPacket(b)
	if err != nil {
		return StreamMap{}, err
	}
	if pkt.Code != CodeStreamMap {
		return StreamMap{}, fmt.Errorf("start code 00 00 01 %02x is not a program stream map (bc)", pkt.Code)
	}

	// Fixed part: 6 bytes start code and length, 2 bytes flags and version,
	// 2 bytes program_stream_info_length.
	data := pkt.Data
	if len(data) < 10 {
		return StreamMap{}, fmt.Errorf("program stream map truncated: %d bytes, need 10", len(data))
	}
	m := StreamMap{Version: data[6] & 0x1F}

	pos := 10 + (int(data[8])<<8 | int(data[9]))
	if pos+2 > len(data) {
		return StreamMap{}, fmt.Errorf("program stream map: program_stream_info_length %d runs past the map end", pos-10)
	}
	esEnd := pos + 2 + (int(data[pos])<<8 | int(data[pos+1]))
	pos += 2
	if esEnd > len(data) {
		return StreamMap{}, fmt.Errorf("program stream map: elementary_stream_map_length %d runs past the map end", esEnd-pos)
	}

	// Each entry: stream_type, elementary_stream_id, 16-bit
	// elementary_stream_info_length, descriptors.
	for pos < esEnd {
		if pos+4 > esEnd {
			return StreamMap{}, fmt.Errorf("program stream map: entry at byte %d truncated", pos)
		}
		s := ElementaryStream{StreamType: data[pos], StreamID: data[pos+1]}
		pos += 4 + (int(data[pos+2])<<8 | int(data[pos+3]))
		if pos > esEnd {
			return StreamMap{}, fmt.Errorf("program stream map: descriptors of stream %#02x run past the map end", s.StreamID)
		}
		m.Streams = append(m.Streams, s)
	}
	return m, nil
}

// StreamTypeName returns a short name of a stream type for messages.
func StreamTypeName(t uint8) string {
	switch t {
	case StreamTypeMPEG1Audio:
		return "MPEG-1 audio"
	case StreamTypeMPEG2Audio:
		return "MPEG-2 audio"
	case StreamTypeAAC:
		return "AAC"
	case StreamTypeH264:
		return "H.264"
	case StreamTypeH265:
		return "H.265"
	case StreamTypeG711A:
		return "G.711 A-law"
	case StreamTypeG711U:
		return "G.711 u-law"
	}
	return fmt.Sprintf("stream type %#02x", t)
}
