package ps

import (
	"fmt"
)

// Stream types of the program stream map (ISO/IEC 13818-1 table 2-34, plus
// the values Hikvision uses for G.711).
const (
	StreamTypeMPEG1Audio = 0x03
	StreamTypeMPEG2Audio = 0x04
	StreamTypeAAC        = 0x0F
	StreamTypeH264       = 0x1B
	StreamTypeH265       = 0x24
	StreamTypeG711A      = 0x90
	StreamTypeG711U      = 0x91
)

// MaxStreamMapVersion is the largest program_stream_map_version (5 bits).
const MaxStreamMapVersion = 31

// StreamMap is a program stream map: the stream type of each elementary
// stream. Hikvision adds proprietary descriptors (device, resolution, time)
// that no reader in this project needs, so none are written.
type StreamMap struct {
	Version uint8 // program_stream_map_version, 0..31, changes with the map
	Streams []ElementaryStream
}

// ElementaryStream is one entry of a program stream map.
type ElementaryStream struct {
	StreamType uint8 // for example StreamTypeH264
	StreamID   uint8 // PES stream id, for example CodeVideo
}

// Len returns the encoded size of m in bytes, CRC included.
func (m StreamMap) Len() int { return 16 + 4*len(m.Streams) }

// Validate returns an error naming the first field of m that is out of range.
func (m StreamMap) Validate() error {
	if m.Version > MaxStreamMapVersion {
		return fmt.Errorf("program stream map: version %d exceeds 5 bits (max %d)", m.Version, MaxStreamMapVersion)
	}

	// program_stream_map_length (16 bits) counts 10 fixed bytes plus 4 per
	// stream, and elementary_stream_map_length (16 bits) counts 4 per stream.
	if limit := (0xFFFF - 10) / 4; len(m.Streams) > limit {
		return fmt.Errorf("program stream map: %d streams exceed the %d that its length field can count", len(m.Streams), limit)
	}
	for i, s := range m.Streams {
		if s.StreamID < 0xBD {
			return fmt.Errorf("program stream map: stream %d: stream id %#02x is not an elementary stream id (0xbd..0xff)", i, s.StreamID)
		}
	}
	return nil
}

// AppendStreamMap appends the encoding of m to dst, ending with the
// CRC-32/MPEG-2 of the whole map from its start code on.
func AppendStreamMap(dst []byte, m StreamMap) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return dst, err
	}

	start := len(dst)
	length := 10 + 4*len(m.Streams)
	dst = append(dst, 0x00, 0x00, 0x01, CodeStreamMap, byte(length>>8), byte(length))

	// current_next_indicator = 1, two bits set to 1, then the 5-bit version.
	// The two bits are reserved in the 2000 edition of the standard. Later
	// editions name the first single_extension_stream_flag, which matters
	// only for extension stream ids. Then come 7 reserved bits set to 1 and
	// a marker bit. Published Hikvision stream dumps show e0 ff here.
	dst = append(dst, 0xE0|m.Version, 0xFF)

	// program_stream_info_length = 0: no program descriptors.
	dst = append(dst, 0x00, 0x00)

	esLength := 4 * len(m.Streams)
	dst = append(dst, byte(esLength>>8), byte(esLength))
	for _, s := range m.Streams {
		// elementary_stream_info_length = 0: no stream descriptors.
		dst = append(dst, s.StreamType, s.StreamID, 0x00, 0x00)
	}

	crc := crc32MPEG2(dst[start:])
	dst = append(dst, byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc))
	return dst, nil
}

// crcTable is the byte-wise table of CRC-32/MPEG-2: polynomial 0x04C11DB7,
// initial value 0xFFFFFFFF, no bit reflection, no final XOR. The standard
// library's hash/crc32 reflects its bits, so it cannot compute this CRC.
var crcTable = func() [256]uint32 {
	var t [256]uint32
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04C11DB7
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// crc32MPEG2 returns the CRC-32/MPEG-2 of b. Over data that ends with its own
// CRC, big-endian, the result is 0.
func crc32MPEG2(b []byte) uint32 {
	c := uint32(0xFFFFFFFF)
	for _, x := range b {
		c = c<<8 ^ crcTable[byte(c>>24)^x]
	}
	return c
}
