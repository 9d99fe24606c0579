package remux

import (
	"fmt"
)

// aacFrameSamples is the number of PCM samples per channel in one AAC
// frame (one raw data block) of the object types ADTS carries.
const aacFrameSamples = 1024

// adtsSampleRates is the sampling frequency table of ISO/IEC 14496-3,
// indexed by sampling_frequency_index; 13 and 14 are reserved and 15 needs
// an explicit rate, which ADTS cannot carry.
var adtsSampleRates = [...]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// adtsHeader is the part of an ADTS header (ISO/IEC 14496-3, 1.A.2.2) that
// the MP4 needs.
type adtsHeader struct {
	objectType     uint8 // MPEG-4 audio object type, the ADTS profile plus 1
	frequencyIndex uint8 // 0..12
	channelConfig  uint8 // 1..7
	headerSize     int   // 7, or 9 with the CRC of protection_absent 0
	frameSize      int   // frame_length: header and raw data block, in bytes
}

// sameConfig reports whether h and o describe the same AudioSpecificConfig.
func (h adtsHeader) sameConfig(o adtsHeader) bool {
	return h.objectType == o.objectType && h.frequencyIndex == o.frequencyIndex && h.channelConfig == o.channelConfig
}

func (h adtsHeader) sampleRate() int { return adtsSampleRates[h.frequencyIndex] }

// channels returns the channel count of the channel configuration; 7 is
// the 7.1 layout.
func (h adtsHeader) channels() int {
	if h.channelConfig == 7 {
		return 8
	}
	return int(h.channelConfig)
}

// parseADTSHeader parses the ADTS header at the start of b, which contains
// at least 7 bytes. It rejects what an mp4a sample entry cannot describe: a
// channel configuration in a program config element, reserved sample
// rates, and several raw data blocks per frame.
func parseADTSHeader(b []byte) (adtsHeader, error) {
	if b[0] != 0xFF || b[1]&0xF0 != 0xF0 {
		return adtsHeader{}, fmt.Errorf("no ADTS sync word (got %#02x %#02x)", b[0], b[1])
	}
	if layer := b[1] >> 1 & 0x03; layer != 0 {
		return adtsHeader{}, fmt.Errorf("ADTS layer is %d, expected 0", layer)
	}
	h := adtsHeader{
		objectType:     b[2]>>6 + 1,
		frequencyIndex: b[2] >> 2 & 0x0F,
		channelConfig:  b[2]&0x01<<2 | b[3]>>6,
		headerSize:     7,
		frameSize:      int(b[3]&0x03)<<11 | int(b[4])<<3 | int(b[5])>>5,
	}
	if b[1]&0x01 == 0 {
		h.headerSize = 9
	}
	if int(h.frequencyIndex) >= len(adtsSampleRates) {
		return adtsHeader{}, fmt.Errorf("ADTS sampling_frequency_index %d is reserved", h.frequencyIndex)
	}
	if h.channelConfig == 0 {
		return adtsHeader{}, fmt.Errorf("ADTS channel_configuration 0 (channels in a program config element) is not remuxed")
	}
	if blocks := b[6]&0x03 + 1; blocks != 1 {
		return adtsHeader{}, fmt.Errorf("ADTS frame holds %d raw data blocks, but only frames of one block are remuxed", blocks)
	}
	if h.frameSize <= h.headerSize {
		return adtsHeader{}, fmt.Errorf("ADTS frame_length %d leaves no room for data after the %d-byte header", h.frameSize, h.headerSize)
	}
	return h, nil
}

// aacFrame is one raw AAC frame, the ADTS header left out. Its bytes are
// the spans adtsReader.frameSpan[firstSpan : firstSpan+spans] of the source.
type aacFrame struct {
	firstSpan, spans int32
	size             uint32
	pts              int64 // 90 kHz, unwrapped
}

// pendingSpan maps a range of adtsReader.pending back to the source.
type pendingSpan struct {
	pos int // index in pending of its first byte
	off int64
	n   int
}

// ptsMark is the PTS of the PES packet whose payload starts at index pos
// of adtsReader.pending. It belongs to the first frame that starts at or
// after pos (ISO/IEC 13818-1, 2.4.3.7).
type ptsMark struct {
	pos int
	pts int64
}

// adtsReader splits the payloads of AAC PES packets into frames. A frame
// may span PES packets, so it keeps the bytes of an unfinished frame.
type adtsReader struct {
	pending []byte
	spans   []pendingSpan
	marks   []ptsMark

	config    adtsHeader
	hasConfig bool
	lastPTS   int64
	hasPTS    bool

	frames    []aacFrame
	frameSpan []span

	// skip is the reason the audio is left out. Once it is set, the
	// reader ignores further input.
	skip string
}

// add appends one PES payload, found at source offset off, and splits off
// every frame it completes.
func (r *adtsReader) add(payload []byte, off int64, pts int64, hasPTS bool) {
	if r.skip != "" || len(payload) == 0 {
		return
	}
	if hasPTS {
		r.marks = append(r.marks, ptsMark{pos: len(r.pending), pts: pts})
	}
	r.spans = append(r.spans, pendingSpan{pos: len(r.pending), off: off, n: len(payload)})
	r.pending = append(r.pending, payload...)

	start := 0
	for len(r.pending)-start >= 7 {
		h, err := parseADTSHeader(r.pending[start:])
		if err != nil {
			r.fail(start, err)
			return
		}
		if len(r.pending)-start < h.frameSize {
			break
		}
		if !r.hasConfig {
			r.config, r.hasConfig = h, true
		} else if !h.sameConfig(r.config) {
			r.fail(start, fmt.Errorf("ADTS configuration changes from object type %d, %d Hz, channel configuration %d to object type %d, %d Hz, channel configuration %d; one MP4 track holds one",
				r.config.objectType, r.config.sampleRate(), r.config.channelConfig, h.objectType, h.sampleRate(), h.channelConfig))
			return
		}
		r.addFrame(start, h)
		start += h.frameSize
	}
	r.compact(start)
}

// addFrame records the frame whose header starts at pending[start].
func (r *adtsReader) addFrame(start int, h adtsHeader) {
	var pts int64
	var ok bool
	used := 0
	for _, m := range r.marks {
		if m.pos > start {
			break
		}
		pts, ok = m.pts, true
		used++
	}
	r.marks = r.marks[used:]
	switch {
	case ok:
	case r.hasPTS:
		pts = r.lastPTS + aacFrameSamples*videoTimescale/int64(h.sampleRate())
	default:
		return // no time to place it at, as before the first PTS
	}
	r.lastPTS, r.hasPTS = pts, true

	f := aacFrame{firstSpan: int32(len(r.frameSpan)), size: uint32(h.frameSize - h.headerSize), pts: pts}
	from, to := start+h.headerSize, start+h.frameSize
	for _, s := range r.spans {
		lo, hi := max(from, s.pos), min(to, s.pos+s.n)
		if lo < hi {
			r.frameSpan = append(r.frameSpan, span{off: s.off + int64(lo-s.pos), n: int32(hi - lo)})
			f.spans++
		}
	}
	r.frames = append(r.frames, f)
}

// compact drops the first n bytes of pending, which belong to frames
// already split off.
func (r *adtsReader) compact(n int) {
	r.pending = append(r.pending[:0], r.pending[n:]...)
	kept := r.spans[:0]
	for _, s := range r.spans {
		if s.pos+s.n <= n {
			continue
		}
		if cut := n - s.pos; cut > 0 {
			s.pos, s.off, s.n = n, s.off+int64(cut), s.n-cut
		}
		kept = append(kept, pendingSpan{pos: s.pos - n, off: s.off, n: s.n})
	}
	r.spans = kept
	for i := range r.marks {
		r.marks[i].pos -= n
	}
}

// fail stops the reader with the reason the audio is left out.
func (r *adtsReader) fail(start int, err error) {
	off := int64(-1)
	for _, s := range r.spans {
		if start >= s.pos && start < s.pos+s.n {
			off = s.off + int64(start-s.pos)
		}
	}
	r.skip = fmt.Sprintf("AAC audio at source offset %d is not valid ADTS: %v", off, err)
	r.pending, r.spans, r.marks = nil, nil, nil
}
