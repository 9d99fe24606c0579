package camsim

import (
	_ "embed"
	"fmt"
	"sync"

	"github.com/hikarchive/hikarchive/internal/ps"
)

// The AAC clip is made by scripts/gen-sim-audio-aac.sh: 2 s of a 440 Hz
// sine, AAC LC at 16 kHz mono, as ADTS frames without CRC.
//
//go:embed assets/sine440-16khz-mono.aac
var clipAAC []byte

// aacSampleRate is the sample rate of the AAC clip in Hz. Every ADTS frame
// holds 1024 samples, so a frame lasts aacTicksPerFrame on the 90 kHz clock.
const (
	aacSampleRate    = 16000
	aacTicksPerFrame = 1024 * 90000 / aacSampleRate
)

var (
	aacOnce   sync.Once
	aacFrames [][]byte
	aacErr    error
)

// loadAACClip splits the embedded AAC clip into ADTS frames once.
func loadAACClip() ([][]byte, error) {
	aacOnce.Do(func() {
		aacFrames, aacErr = splitADTS(clipAAC)
		if aacErr != nil {
			aacErr = fmt.Errorf("embedded AAC clip: %w; regenerate it with scripts/gen-sim-audio-aac.sh", aacErr)
		}
	})
	return aacFrames, aacErr
}

// splitADTS splits an ADTS stream into frames, headers included, by the
// 13-bit frame_length of each header.
func splitADTS(stream []byte) ([][]byte, error) {
	var frames [][]byte
	for pos := 0; pos < len(stream); {
		b := stream[pos:]
		if len(b) < 7 || b[0] != 0xFF || b[1]&0xF0 != 0xF0 {
			return nil, fmt.Errorf("no ADTS sync word at byte %d", pos)
		}
		n := int(b[3]&0x03)<<11 | int(b[4])<<3 | int(b[5])>>5
		if n < 7 || n > len(b) {
			return nil, fmt.Errorf("ADTS frame at byte %d has frame_length %d, %d bytes remain", pos, n, len(b))
		}
		frames = append(frames, b[:n])
		pos += n
	}
	if len(frames) == 0 {
		return nil, fmt.Errorf("no ADTS frame")
	}
	return frames, nil
}

// withCRC returns an ADTS frame without CRC rewritten as one with
// protection_absent 0 and two CRC bytes after the header, as some encoders
// write.
//
// NOTE: the CRC bytes are zero, not the CRC-16 of the header. The remuxer
// strips them unchecked, and ffmpeg checks them only with -err_detect crccheck.
func withCRC(frame []byte) []byte {
	n := len(frame) + 2
	out := make([]byte, 0, n)
	out = append(out, frame[:7]...)
	out[1] &^= 0x01 // protection_absent 0
	out[3] = out[3]&0xFC | byte(n>>11)&0x03
	out[4] = byte(n >> 3)
	out[5] = out[5]&0x1F | byte(n<<5)
	out = append(out, 0, 0)
	return append(out, frame[7:]...)
}

// aacUntil writes the AAC frames that start before video frame n ends, in
// PES packets of AACFramesPerPES frames each, and returns the number of
// frames written. Frame k of the audio has PTS StartPTS + k*aacTicksPerFrame.
func (s *streamWriter) aacUntil(n int) (int, error) {
	frames, err := loadAACClip()
	if err != nil {
		return 0, err
	}
	perPES := max(s.cfg.AACFramesPerPES, 1)
	end := uint64(n+1) * ticksPerFrame
	written := 0
	for uint64(s.aacNext)*aacTicksPerFrame < end {
		pts := (s.cfg.StartPTS + uint64(s.aacNext)*aacTicksPerFrame) % (ps.MaxTimestamp + 1)
		var payload []byte
		for range perPES {
			f := frames[s.aacNext%len(frames)]
			if s.cfg.AACWithCRC {
				f = withCRC(f)
			}
			payload = append(payload, f...)
			s.aacNext++
			written++
		}
		s.writeAudioPES(pts, payload)
	}
	return written, nil
}

// writeAudioPES writes payload as audio PES packets of at most
// MaxPESPayload bytes, the first with PTS pts.
func (s *streamWriter) writeAudioPES(pts uint64, payload []byte) {
	limit := ps.MaxFirstPESPayload - s.cfg.PESStuffing
	if s.cfg.MaxPESPayload > 0 {
		limit = min(limit, s.cfg.MaxPESPayload)
	}
	var b []byte
	for first := true; len(payload) > 0; first = false {
		k := min(limit, len(payload))
		b = s.appendPES(b, ps.CodeAudio, first, pts, payload[:k])
		payload = payload[k:]
	}
	s.write(b)
}
