package camsim

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/hikarchive/hikarchive/internal/camsim/h264"
	"github.com/hikarchive/hikarchive/internal/ps"
)

// The H.265 clip is made by scripts/gen-sim-video-h265.sh: the same 2 s of
// testsrc2 as the H.264 clip, 320x180 at 25 fps, an IDR frame with VPS, SPS
// and PPS every 25 frames, no B-frames.
//
//go:embed assets/testsrc2-320x180-25fps.h265
var clipH265 []byte

// VideoCodec selects the clip a stream carries.
type VideoCodec int

const (
	H264 VideoCodec = iota // the embedded H.264 clip, stream type 0x1b
	H265                   // the embedded H.265 clip, stream type 0x24
)

// AudioCodec selects the audio a stream carries.
type AudioCodec int

const (
	NoAudio AudioCodec = iota
	G711A              // G.711 A-law, 8 kHz mono, stream type 0x90
	G711U              // G.711 u-law, 8 kHz mono, stream type 0x91
	AAC                // the embedded AAC LC clip, 16 kHz mono ADTS, stream type 0x0f
)

// StreamConfig describes a program stream for WriteStream. The zero value
// is H.264 without audio in the layout Hikvision cameras write. The other
// fields make the stream awkward in the ways real recordings are.
type StreamConfig struct {
	Video  VideoCodec
	Audio  AudioCodec
	Frames int // video frames, looping the clip; at least 1

	// StartPTS is the PTS of frame 0 on the 90 kHz clock, below 2^33. A
	// value a few seconds below 2^33 makes the PTS wrap within the stream.
	StartPTS uint64

	// LeadingHeader is the size of a proprietary header before the first
	// pack header, as some firmware writes.
	LeadingHeader int

	// LateStreamMap leaves the stream map out of the first key frames, so
	// the stream map first comes with key frame number LateStreamMap.
	LateStreamMap int

	// NoStreamMap leaves every stream map out.
	NoStreamMap bool

	// ChangeStreamMap writes a second stream map version from the middle of
	// the stream on, with the audio stream first and a descriptor added.
	ChangeStreamMap bool

	JunkEvery   int  // after every JunkEvery frames, write 37 bytes of junk between packs
	NoDTS       bool // video PES packets carry a PTS only
	PESStuffing int  // stuffing bytes in every PES header, 0..32
	PrivateData bool // a private stream 1 packet and a padding packet after each key frame

	// MaxPESPayload splits each frame into PES packets of at most this
	// many payload bytes; default the largest packet. With AAC audio it
	// also splits the audio packets, so an ADTS frame can span two.
	MaxPESPayload int

	// AACFramesPerPES puts this many ADTS frames into each audio PES
	// packet, which then carries the PTS of the first; default 1.
	AACFramesPerPES int

	// AACWithCRC writes every ADTS header with protection_absent 0 and a
	// 2-byte CRC field.
	AACWithCRC bool

	// Clip, when set, is an H.264 Annex B stream that replaces the
	// embedded clip, for example two encodings of different resolutions
	// one after the other. It must start with an IDR frame. StreamInfo
	// then reports Width and Height 0, because WriteStream does not parse
	// its SPS.
	Clip []byte
}

// StreamInfo describes the stream WriteStream wrote.
type StreamInfo struct {
	Frames     int
	KeyFrames  int
	FirstPTS   uint64 // PTS of the first frame
	Bytes      int64  // bytes written
	AudioBytes int64  // G.711 bytes, one per sample
	AACFrames  int    // ADTS frames of 1024 samples at 16 kHz
	Width      int
	Height     int
}

var (
	h265Once   sync.Once
	h265Frames []h264.AccessUnit
	h265Err    error
)

// loadH265Clip splits the embedded H.265 clip once.
func loadH265Clip() ([]h264.AccessUnit, error) {
	h265Once.Do(func() {
		h265Frames, h265Err = splitH265(clipH265)
		if h265Err == nil && (len(h265Frames) == 0 || !h265Frames[0].IDR) {
			h265Err = fmt.Errorf("embedded H.265 clip does not start with an IDR frame; regenerate it with scripts/gen-sim-video-h265.sh")
		}
	})
	return h265Frames, h265Err
}

// splitH265 splits an H.265 Annex B stream into access units: a new one
// starts, once the current one has a slice, at a VPS, SPS, PPS, access unit
// delimiter or prefix SEI, or at a slice with first_slice_segment_in_pic_flag.
func splitH265(stream []byte) ([]h264.AccessUnit, error) {
	var units []h264.AccessUnit
	var starts []int
	for i := 0; ; {
		j := bytes.Index(stream[i:], []byte{0, 0, 1})
		if j < 0 {
			break
		}
		starts = append(starts, i+j)
		i += j + 3
	}
	begin, hasSlice, idr := 0, false, false
	for k, s := range starts {
		if s+5 > len(stream) {
			return nil, fmt.Errorf("H.265 clip: NAL unit at byte %d is truncated", s)
		}
		typ := stream[s+3] >> 1 & 0x3F
		slice := typ < 32
		first := slice && stream[s+5]&0x80 != 0
		newAU := typ >= 32 && typ <= 35 || typ == 39 || first
		if hasSlice && newAU {
			end := s
			if k > 0 && s > 0 && stream[s-1] == 0 {
				end = s - 1
			}
			units = append(units, h264.AccessUnit{Data: stream[begin:end], IDR: idr})
			begin, hasSlice, idr = end, false, false
		}
		hasSlice = hasSlice || slice
		idr = idr || typ >= 16 && typ <= 21
	}
	if hasSlice {
		units = append(units, h264.AccessUnit{Data: stream[begin:], IDR: idr})
	}
	return units, nil
}

// WriteStream writes a program stream of cfg.Frames frames of the clip of
// cfg.Video to w, with the audio and awkward features that cfg selects.
func WriteStream(w io.Writer, cfg StreamConfig) (StreamInfo, error) {
	if cfg.Frames < 1 {
		return StreamInfo{}, fmt.Errorf("camsim: stream of %d frames; need at least 1", cfg.Frames)
	}
	if cfg.StartPTS > ps.MaxTimestamp || cfg.PESStuffing < 0 || cfg.PESStuffing > 32 {
		return StreamInfo{}, fmt.Errorf("camsim: start PTS %d or PES stuffing %d out of range", cfg.StartPTS, cfg.PESStuffing)
	}
	var frames []h264.AccessUnit
	streamType := uint8(ps.StreamTypeH264)
	var err error
	switch {
	case cfg.Clip != nil:
		frames, err = splitCustomClip(cfg)
	case cfg.Video == H265:
		streamType = ps.StreamTypeH265
		frames, err = loadH265Clip()
	default:
		frames, err = loadClip()
	}
	if err != nil {
		return StreamInfo{}, err
	}

	sw := &streamWriter{cfg: cfg, w: w, videoType: streamType}
	info := StreamInfo{Frames: cfg.Frames, FirstPTS: cfg.StartPTS, Width: clipWidth, Height: clipHeight}
	if cfg.Clip != nil {
		info.Width, info.Height = 0, 0
	}
	if cfg.LeadingHeader > 0 {
		header := bytes.Repeat([]byte("HIKVISION\x00\x01\x00"), cfg.LeadingHeader/12+1)[:cfg.LeadingHeader]
		sw.write(header)
	}

	for n := range cfg.Frames {
		au := frames[n%len(frames)]
		if au.IDR {
			info.KeyFrames++
		}
		pts := (cfg.StartPTS + uint64(n)*ticksPerFrame) % (ps.MaxTimestamp + 1)
		sw.frame(n, au, pts, info.KeyFrames-1)
		switch cfg.Audio {
		case NoAudio:
		case AAC:
			k, err := sw.aacUntil(n)
			if err != nil {
				return info, err
			}
			info.AACFrames += k
		default:
			info.AudioBytes += int64(sw.audio(n, pts))
		}
		if cfg.JunkEvery > 0 && (n+1)%cfg.JunkEvery == 0 {
			sw.write([]byte("\x00\x00\x01\xe0\x10\x00\x80junk\x00\x00\x00\x01\xbajunkjunkjunkjunkjunkjunk\xff"))
		}
		if sw.err != nil {
			return info, sw.err
		}
	}
	info.Bytes = sw.n
	return info, nil
}

// splitCustomClip splits StreamConfig.Clip into access units.
func splitCustomClip(cfg StreamConfig) ([]h264.AccessUnit, error) {
	if cfg.Video != H264 {
		return nil, fmt.Errorf("camsim: a custom clip must be H.264, the stream config selects video codec %d", cfg.Video)
	}
	frames, err := h264.SplitAccessUnits(cfg.Clip)
	if err != nil {
		return nil, fmt.Errorf("camsim: custom clip: %w", err)
	}
	if len(frames) == 0 || !frames[0].IDR {
		return nil, fmt.Errorf("camsim: custom clip of %d frames does not start with an IDR frame", len(frames))
	}
	return frames, nil
}

// streamWriter writes one stream and keeps the first write error.
type streamWriter struct {
	cfg       StreamConfig
	w         io.Writer
	videoType uint8
	buf       []byte
	aacNext   int // number of the next AAC frame to write
	n         int64
	err       error
}

func (s *streamWriter) write(b []byte) {
	if s.err != nil {
		return
	}
	n, err := s.w.Write(b)
	s.n += int64(n)
	s.err = err
}

// frame writes video frame n with PTS pts; key is the number of the key
// frame it belongs to.
func (s *streamWriter) frame(n int, au h264.AccessUnit, pts uint64, key int) {
	b := s.buf[:0]
	b, _ = ps.AppendPackHeader(b, ps.PackHeader{SCR: pts, StuffingLength: hikvisionPackStuffing})
	if au.IDR {
		streams := []ps.StreamBound{{StreamID: ps.CodeVideo, BufferBoundScale: 1, BufferSizeBound: 512}}
		if s.cfg.Audio != NoAudio {
			streams = append(streams, ps.StreamBound{StreamID: ps.CodeAudio, BufferSizeBound: 32})
		}
		b, _ = ps.AppendSystemHeader(b, ps.SystemHeader{RateBound: ps.MaxRateBound, VideoBound: 1, AudioBound: 1, Streams: streams})
		if !s.cfg.NoStreamMap && key >= s.cfg.LateStreamMap {
			b = s.appendStreamMap(b, n)
		}
	}

	data := au.Data
	limit := ps.MaxFirstPESPayload - s.cfg.PESStuffing
	if s.cfg.MaxPESPayload > 0 {
		limit = min(limit, s.cfg.MaxPESPayload)
	}
	for first := true; len(data) > 0; first = false {
		k := min(limit, len(data))
		b = s.appendPES(b, ps.CodeVideo, first, pts, data[:k])
		data = data[k:]
	}

	if au.IDR && s.cfg.PrivateData {
		b, _ = ps.AppendPES(b, ps.PES{StreamID: ps.CodePrivate1, Payload: []byte("\x00\x00\x01\xe0hikvision metadata")})
		b = append(b, 0x00, 0x00, 0x01, ps.CodePadding, 0x00, 0x10)
		b = append(b, bytes.Repeat([]byte{0xFF}, 16)...)
	}
	s.buf = b
	s.write(b)
}

// appendStreamMap appends the stream map in force at frame n.
func (s *streamWriter) appendStreamMap(b []byte, n int) []byte {
	video := ps.ElementaryStream{StreamType: s.videoType, StreamID: ps.CodeVideo}
	m := ps.StreamMap{Streams: []ps.ElementaryStream{video}}
	var audio ps.ElementaryStream
	if s.cfg.Audio != NoAudio {
		audio = ps.ElementaryStream{StreamType: ps.StreamTypeG711A, StreamID: ps.CodeAudio}
		switch s.cfg.Audio {
		case G711U:
			audio.StreamType = ps.StreamTypeG711U
		case AAC:
			audio.StreamType = ps.StreamTypeAAC
		}
		m.Streams = append(m.Streams, audio)
	}
	if !s.cfg.ChangeStreamMap || n < s.cfg.Frames/2 {
		b, _ = ps.AppendStreamMap(b, m)
		return b
	}

	// Version 1 lists audio first and gives the video stream a descriptor,
	// which ps.AppendStreamMap does not write, so encode it here.
	entries := []byte{video.StreamType, video.StreamID, 0x00, 0x04, 0x0A, 0x02, 0x01, 0x02}
	if s.cfg.Audio != NoAudio {
		entries = append([]byte{audio.StreamType, audio.StreamID, 0x00, 0x00}, entries...)
	}
	length := 10 + len(entries)
	b = append(b, 0x00, 0x00, 0x01, ps.CodeStreamMap, byte(length>>8), byte(length), 0xE1, 0xFF, 0x00, 0x00,
		byte(len(entries)>>8), byte(len(entries)))
	b = append(b, entries...)
	return append(b, 0x00, 0x00, 0x00, 0x00) // CRC left 0: readers skip it
}

// appendPES appends one PES packet with PTS (and DTS unless NoDTS) when
// first, and the configured header stuffing.
func (s *streamWriter) appendPES(b []byte, id uint8, first bool, pts uint64, payload []byte) []byte {
	header := s.cfg.PESStuffing
	flags := byte(0)
	if first {
		header += 5
		flags = 0x80
		if !s.cfg.NoDTS && id == ps.CodeVideo {
			header += 5
			flags = 0xC0
		}
	}
	length := 3 + header + len(payload)
	b = append(b, 0x00, 0x00, 0x01, id, byte(length>>8), byte(length), 0x84, flags, byte(header))
	if first {
		prefix := byte(0b0010)
		if flags == 0xC0 {
			prefix = 0b0011
		}
		b = appendTimestamp(b, prefix, pts)
		if flags == 0xC0 {
			b = appendTimestamp(b, 0b0001, pts)
		}
	}
	for range s.cfg.PESStuffing {
		b = append(b, 0xFF)
	}
	return append(b, payload...)
}

func appendTimestamp(b []byte, prefix uint8, ts uint64) []byte {
	return append(b, prefix<<4|byte(ts>>30&0x7)<<1|1, byte(ts>>22), byte(ts>>15)<<1|1, byte(ts>>7), byte(ts)<<1|1)
}

// audio writes 40 ms of a 440 Hz tone, 320 G.711 samples, as one PES
// packet with the video frame's PTS, and returns the sample count.
func (s *streamWriter) audio(n int, pts uint64) int {
	const perFrame = 8000 / clipFrameRate
	samples := make([]byte, perFrame)
	for i := range samples {
		t := float64(n*perFrame+i) / 8000
		v := int16(8000 * math.Sin(2*math.Pi*440*t))
		if s.cfg.Audio == G711U {
			samples[i] = linearToULaw(v)
		} else {
			samples[i] = linearToALaw(v)
		}
	}
	b := s.appendPES(nil, ps.CodeAudio, true, pts, samples)
	s.write(b)
	return perFrame
}

// linearToALaw and linearToULaw are the G.711 encoders of the reference
// implementation (Sun Microsystems' public g711.c).
func linearToALaw(pcm int16) byte {
	v := int(pcm) >> 3
	mask := 0xD5
	if v < 0 {
		mask = 0x55
		v = -v - 1
	}
	ends := []int{0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF}
	seg := 0
	for seg < 8 && v > ends[seg] {
		seg++
	}
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	a := seg << 4
	if seg < 2 {
		a |= v >> 1 & 0x0F
	} else {
		a |= v >> seg & 0x0F
	}
	return byte(a ^ mask)
}

func linearToULaw(pcm int16) byte {
	const bias = 0x84 >> 2
	v := int(pcm) >> 2
	mask := 0xFF
	if v < 0 {
		v = -v
		mask = 0x7F
	}
	v = min(v, 8159) + bias
	ends := []int{0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF}
	seg := 0
	for seg < 8 && v > ends[seg] {
		seg++
	}
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	return byte((seg<<4 | v>>(seg+1)&0x0F) ^ mask)
}
