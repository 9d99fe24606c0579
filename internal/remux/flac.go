package remux

// FLAC frames with VERBATIM subframes: uncompressed 16-bit mono samples in
// the FLAC framing. Chromium and ffmpeg both play FLAC in MP4 (fLaC sample
// entry), and neither plays G.711 in MP4, so G.711 audio is expanded to
// 16-bit PCM and stored this way. Each frame carries its first sample's
// number (variable block size strategy), so PES payloads of any length map
// to one frame each.

const (
	flacSampleRate = 8000 // G.711 is always 8 kHz
	flacMaxBlock   = 65535
)

// flacFrameSize returns the encoded size of a frame of n samples whose
// first sample number is first.
func flacFrameSize(first uint64, n int) int {
	// sync and flags 4, coded number, block size 2, CRC-8 1, subframe
	// header 1, samples, CRC-16 2.
	return 4 + utf8Len(first) + 2 + 1 + 1 + 2*n + 2
}

// appendFLACFrame appends a frame of the samples, the first of which is
// sample number first of the stream.
func appendFLACFrame(dst []byte, first uint64, samples []int16) []byte {
	start := len(dst)

	// Sync code 11111111111110, reserved 0, blocking strategy 1 (variable).
	// Block size code 0111: 16-bit (size-1) follows the number. Sample rate
	// code 0100: 8 kHz. Channels 0000: mono. Sample size 100: 16 bits.
	dst = append(dst, 0xFF, 0xF9, 0x74, 0x08)
	dst = appendUTF8(dst, first)
	n := len(samples) - 1
	dst = append(dst, byte(n>>8), byte(n))
	dst = append(dst, crc8(dst[start:]))

	// Subframe header: zero bit, type 000001 (VERBATIM), no wasted bits.
	dst = append(dst, 0x02)
	for _, s := range samples {
		dst = append(dst, byte(uint16(s)>>8), byte(s))
	}

	c := crc16(dst[start:])
	return append(dst, byte(c>>8), byte(c))
}

// flacStreamInfo returns the 34-byte STREAMINFO block.
func flacStreamInfo(minBlock, maxBlock int, totalSamples uint64) []byte {
	b := make([]byte, 34)
	b[0], b[1] = byte(minBlock>>8), byte(minBlock)
	b[2], b[3] = byte(maxBlock>>8), byte(maxBlock)
	// Bytes 4..9: min and max frame size, 0 for unknown. Then 20 bits of
	// sample rate, 3 bits of channels-1, 5 bits of bits per sample-1 and
	// 36 bits of total samples. The MD5 signature stays 0 (unknown).
	v := uint64(flacSampleRate)<<44 | 0<<41 | 15<<36 | totalSamples&(1<<36-1)
	for i := range 8 {
		b[10+i] = byte(v >> (56 - 8*i))
	}
	return b
}

// utf8Len returns the length of v in FLAC's extended UTF-8 coding.
func utf8Len(v uint64) int {
	switch {
	case v < 1<<7:
		return 1
	case v < 1<<11:
		return 2
	case v < 1<<16:
		return 3
	case v < 1<<21:
		return 4
	case v < 1<<26:
		return 5
	case v < 1<<31:
		return 6
	}
	return 7
}

func appendUTF8(dst []byte, v uint64) []byte {
	n := utf8Len(v)
	if n == 1 {
		return append(dst, byte(v))
	}
	lead := byte(0xFF << (8 - n))
	if n == 7 {
		lead = 0xFE
	}
	dst = append(dst, lead|byte(v>>(6*(n-1))))
	for i := n - 2; i >= 0; i-- {
		dst = append(dst, 0x80|byte(v>>(6*i))&0x3F)
	}
	return dst
}

// crc8 is FLAC's header CRC: polynomial 0x07, initial value 0.
func crc8(b []byte) byte {
	var c byte
	for _, x := range b {
		c ^= x
		for range 8 {
			if c&0x80 != 0 {
				c = c<<1 ^ 0x07
			} else {
				c <<= 1
			}
		}
	}
	return c
}

// crc16Table is the byte-wise table of FLAC's frame CRC: polynomial
// 0x8005, initial value 0, no bit reflection.
var crc16Table = func() [256]uint16 {
	var t [256]uint16
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x8005
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// crc16 is FLAC's frame CRC.
func crc16(b []byte) uint16 {
	var c uint16
	for _, x := range b {
		c = c<<8 ^ crc16Table[byte(c>>8)^x]
	}
	return c
}
