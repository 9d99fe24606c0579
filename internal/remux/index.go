package remux

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/hikarchive/hikarchive/internal/ps"
)

// span is a byte range of the source that holds part of a sample.
type span struct {
	off int64
	n   int32
}

// videoSample is one access unit as pass 1 found it.
type videoSample struct {
	firstSpan, spans int32
	pts, dts         int64 // 90 kHz, unwrapped
	size             uint32
	entry            uint16 // index of its parameter sets in Plan.sets
	key              bool
	analysed         bool
}

// audioSample is one audio PES payload.
type audioSample struct {
	span span
	pts  int64 // 90 kHz, unwrapped
}

// accessUnit is the video access unit being collected.
type accessUnit struct {
	active        bool
	firstSpan     int32
	pts, dts      int64
	hasPTS        bool
	truncated     bool
	bytes         []byte
	offset        int64 // source offset of its first PES packet, for messages
	bytesTooLarge bool
}

// indexer is the state of pass 1.
type indexer struct {
	p        *Plan
	d        *ps.Demuxer
	videoID  uint8
	audioID  uint8
	clock    int64 // last unwrapped timestamp, the reference for the next
	hasClock bool
	au       accessUnit
	scratch  []byte
	pending  int // index of the first video sample not yet analysed
}

// unwrap maps a 33-bit timestamp to the int64 time line nearest the last
// timestamp seen, so a PTS that wraps past 2^33 keeps counting up.
func (x *indexer) unwrap(ts uint64) int64 {
	if !x.hasClock {
		x.clock, x.hasClock = int64(ts), true
		return x.clock
	}
	diff := int64((ts - uint64(x.clock)) & ps.MaxTimestamp)
	if diff >= 1<<32 {
		diff -= 1 << 33
	}
	x.clock += diff
	return x.clock
}

// index runs pass 1 over the source.
func (x *indexer) index(ctx context.Context) error {
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := checkContext(ctx, "pass 1"); err != nil {
				return err
			}
		}
		pkt, err := x.d.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("demux: %w", err)
		}

		switch {
		case pkt.IsVideo():
			err = x.videoPacket(pkt)
		case pkt.IsAudio() && !x.p.opts.NoAudio:
			x.audioPacket(pkt)
		}
		if err != nil {
			return err
		}
	}
	return x.finishAU()
}

func (x *indexer) videoPacket(pkt ps.ESPacket) error {
	if x.videoID == 0 {
		x.videoID = pkt.StreamID
	}
	if pkt.StreamID != x.videoID {
		return nil
	}
	if err := x.setCodec(pkt.StreamType, pkt.Offset); err != nil {
		return err
	}

	// A PES packet with a new PTS starts an access unit. Some firmware
	// repeats the frame's PTS on every packet of the frame.
	// NOTE: a PES packet holding the end of one frame and the start of the
	// next, as ffmpeg's program stream muxer writes, merges both into one
	// sample. Camera streams start every frame in a new PES packet.
	if pkt.HasPTS {
		pts := x.unwrap(pkt.PTS)
		if !x.au.active || !x.au.hasPTS || pts != x.au.pts {
			if err := x.finishAU(); err != nil {
				return err
			}
			dts := pts
			if pkt.HasDTS {
				diff := int64((pkt.DTS - pkt.PTS) & ps.MaxTimestamp)
				if diff >= 1<<32 {
					diff -= 1 << 33
				}
				dts = pts + diff
			}
			x.startAU(pkt.Offset)
			x.au.pts, x.au.dts, x.au.hasPTS = pts, dts, true
		}
	} else if !x.au.active {
		x.startAU(pkt.Offset)
	}

	x.p.spans = append(x.p.spans, span{off: pkt.PayloadOffset, n: int32(len(pkt.Payload))})
	x.au.truncated = x.au.truncated || pkt.Truncated
	if len(x.au.bytes)+len(pkt.Payload) > x.p.opts.MaxFrameSize {
		x.au.bytesTooLarge = true
	} else {
		x.au.bytes = append(x.au.bytes, pkt.Payload...)
	}
	return nil
}

func (x *indexer) startAU(offset int64) {
	x.au = accessUnit{active: true, firstSpan: int32(len(x.p.spans)), bytes: x.au.bytes[:0], offset: offset}
}

// finishAU adds the collected access unit to the plan.
func (x *indexer) finishAU() error {
	au := &x.au
	if !au.active {
		return nil
	}
	au.active = false
	if au.truncated || !au.hasPTS {
		x.p.info.DroppedFrames++
		x.p.spans = x.p.spans[:au.firstSpan]
		return nil
	}
	if au.bytesTooLarge {
		return fmt.Errorf("video frame at source offset %d is larger than the %d-byte limit; raise Options.MaxFrameSize if the stream is valid", au.offset, x.p.opts.MaxFrameSize)
	}

	x.p.video = append(x.p.video, videoSample{
		firstSpan: au.firstSpan,
		spans:     int32(len(x.p.spans)) - au.firstSpan,
		pts:       au.pts,
		dts:       au.dts,
	})
	x.p.maxAU = max(x.p.maxAU, len(au.bytes))
	if x.p.codec == codecUnknown {
		return nil
	}
	return x.analysePending(au.bytes)
}

// setCodec sets the video codec from a stream type the first time one is
// known, and rejects a change of codec within the segment.
func (x *indexer) setCodec(streamType uint8, offset int64) error {
	var codec videoCodec
	switch streamType {
	case 0:
		return nil
	case ps.StreamTypeH264:
		codec = codecH264
	case ps.StreamTypeH265:
		codec = codecH265
	default:
		return fmt.Errorf("video stream %#02x has %s, which is not H.264 or H.265", x.videoID, ps.StreamTypeName(streamType))
	}
	if x.p.codec == codecUnknown {
		x.p.codec = codec
		return nil
	}
	if codec != x.p.codec {
		return fmt.Errorf("video codec changes from %s to %s at source offset %d; one MP4 track cannot hold both", x.p.codec, codec, offset)
	}
	return nil
}

// analysePending analyses the samples that waited for the codec. last is
// the content of the newest sample, which needs no second read.
func (x *indexer) analysePending(last []byte) error {
	for ; x.pending < len(x.p.video); x.pending++ {
		s := &x.p.video[x.pending]
		au := last
		if x.pending < len(x.p.video)-1 {
			var err error
			x.scratch, err = x.p.readSpans(x.scratch[:0], s)
			if err != nil {
				return err
			}
			au = x.scratch
		}
		if err := x.p.analyse(s, au); err != nil {
			return err
		}
	}
	return nil
}

func (x *indexer) audioPacket(pkt ps.ESPacket) {
	if x.audioID == 0 {
		x.audioID = pkt.StreamID
	}
	if pkt.StreamID != x.audioID || pkt.Truncated || len(pkt.Payload) == 0 {
		return
	}
	if pkt.StreamType == ps.StreamTypeAAC {
		var pts int64
		if pkt.HasPTS {
			pts = x.unwrap(pkt.PTS)
		}
		x.p.aac.add(pkt.Payload, pkt.PayloadOffset, pts, pkt.HasPTS)
		return
	}

	var pts int64
	switch {
	case pkt.HasPTS:
		pts = x.unwrap(pkt.PTS)
	case len(x.p.audio) > 0:
		// No PTS: the payload follows the previous one. G.711 has one
		// byte per sample at 8 kHz, so a byte lasts 90000/8000 ticks.
		prev := x.p.audio[len(x.p.audio)-1]
		pts = prev.pts + int64(prev.span.n)*90000/flacSampleRate
	default:
		return
	}
	x.p.audio = append(x.p.audio, audioSample{span: span{off: pkt.PayloadOffset, n: int32(len(pkt.Payload))}, pts: pts})
}

// finishCodec settles the codec of a stream without a stream map by
// looking at its first frame, and analyses the frames that waited.
func (x *indexer) finishCodec() error {
	if len(x.p.video) == 0 {
		return fmt.Errorf("%w: the source has no complete video frame (%d dropped)", ErrNoVideo, x.p.info.DroppedFrames)
	}
	if x.p.codec == codecUnknown {
		first, err := x.p.readSpans(nil, &x.p.video[0])
		if err != nil {
			return err
		}
		x.p.codec = sniffCodec(first)
		if x.p.codec == codecUnknown {
			return fmt.Errorf("%w: no stream map names video stream %#02x, and its first frame holds neither an H.264 SPS nor an H.265 VPS", ErrNoVideo, x.videoID)
		}
	}
	if x.pending < len(x.p.video) {
		last, err := x.p.readSpans(nil, &x.p.video[len(x.p.video)-1])
		if err != nil {
			return err
		}
		return x.analysePending(last)
	}
	return nil
}

// analyse finds the output size, key frame flag and parameter sets of an
// access unit. Samples before the parameter sets and the first key frame
// cannot be decoded and get size 0, which marks them dropped.
func (p *Plan) analyse(s *videoSample, au []byte) error {
	s.analysed = true
	var size int
	var found parameterSets // aliases au until useParameterSets copies it
	splitNALs(au, func(nal []byte) {
		switch kind := classify(p.codec, nal); kind {
		case nalDrop:
		case nalVPS, nalSPS, nalPPS:
			list := found.list(kind)
			*list = append(*list, nal)
		default:
			size += 4 + len(nal)
			s.key = s.key || kind == nalKey
		}
	})
	if err := p.useParameterSets(&found); err != nil {
		return fmt.Errorf("video frame at source offset %d: %w", p.spans[s.firstSpan].off, err)
	}
	s.entry = p.current

	if !p.haveParameterSets() || !s.key && !p.started || size == 0 {
		s.size = 0
		p.info.DroppedFrames++
		return nil
	}
	if p.started && p.inbandParameterSets(p.lastEntry, s.entry) {
		for _, kind := range []nalKind{nalVPS, nalSPS, nalPPS} {
			for _, nal := range *found.list(kind) {
				size += 4 + len(nal)
			}
		}
	}
	p.started = true
	p.lastEntry = s.entry
	s.size = uint32(size)
	return nil
}

// readSpans appends the source bytes of a video sample to dst.
func (p *Plan) readSpans(dst []byte, s *videoSample) ([]byte, error) {
	for _, sp := range p.spans[s.firstSpan : s.firstSpan+s.spans] {
		start := len(dst)
		dst = slices.Grow(dst, int(sp.n))[:start+int(sp.n)]
		if got, err := p.src.ReadAt(dst[start:], sp.off); err != nil && (got < int(sp.n) || !errors.Is(err, io.EOF)) {
			return dst, fmt.Errorf("read video payload at source offset %d: %w", sp.off, err)
		}
	}
	return dst, nil
}
