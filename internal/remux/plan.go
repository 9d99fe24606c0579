package remux

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/hikarchive/hikarchive/internal/mp4"
	"github.com/hikarchive/hikarchive/internal/ps"
)

// videoTimescale is the MP4 video timescale: the PS clock, so PTS and DTS
// convert without rounding.
const videoTimescale = 90000

// defaultFrameDuration is the last frame's duration when the stream has a
// single frame, in 90 kHz ticks (25 fps, the usual camera rate).
const defaultFrameDuration = 3600

// Plan is the layout of the MP4 that pass 1 found. Size is known before
// WriteTo writes anything, so the caller can upload with a known length.
type Plan struct {
	src   io.ReaderAt
	size  int64
	opts  Options
	codec videoCodec

	spans []span
	video []videoSample
	audio []audioSample
	maxAU int

	// sets are the parameter set combinations in order of appearance, one
	// sample entry each, and current is the index of the one in force.
	sets      []parameterSets
	current   uint16
	lastEntry uint16 // entry of the last sample kept so far
	started   bool   // a key frame with parameter sets has been kept

	audioType uint8
	aac       adtsReader // AAC frames, when the audio stream type is AAC
	movie     *mp4.Movie
	info      Info
}

// Prepare runs pass 1: it demuxes src, size bytes of program stream,
// indexes every sample and lays out the MP4. The error gives the reason the
// source cannot become an MP4, so the caller can keep the original instead.
func Prepare(ctx context.Context, src io.ReaderAt, size int64, opts Options) (*Plan, error) {
	if opts.MaxFrameSize <= 0 {
		opts.MaxFrameSize = DefaultMaxFrameSize
	}
	p := &Plan{src: src, size: size, opts: opts}
	x := &indexer{p: p, d: ps.NewDemuxer(src, size)}

	if err := x.index(ctx); err != nil {
		return nil, fmt.Errorf("remux pass 1: %w", err)
	}
	if err := x.finishCodec(); err != nil {
		return nil, fmt.Errorf("remux pass 1: %w", err)
	}
	p.dropUnusable()
	if len(p.video) == 0 {
		return nil, fmt.Errorf("remux pass 1: %w: %d frames, none after a key frame with parameter sets", ErrNoVideo, p.info.DroppedFrames)
	}
	if x.audioID != 0 {
		p.audioType = x.d.StreamType(x.audioID)
	}

	if err := p.layout(); err != nil {
		return nil, fmt.Errorf("remux layout: %w", err)
	}
	return p, nil
}

// Size returns the size of the MP4 in bytes.
func (p *Plan) Size() int64 { return p.movie.Size() }

// Info returns what the MP4 holds.
func (p *Plan) Info() Info { return p.info }

// dropUnusable removes the video samples that analyse marked with size 0.
func (p *Plan) dropUnusable() {
	kept := p.video[:0]
	for _, s := range p.video {
		if s.size > 0 {
			kept = append(kept, s)
		}
	}
	p.video = kept
}

// layout builds the MP4 tracks and the Info.
func (p *Plan) layout() error {
	video, err := p.videoTrack()
	if err != nil {
		return err
	}
	p.movie = &mp4.Movie{Tracks: []*mp4.Track{video}}

	audio := p.audioTrack()
	if audio != nil {
		p.movie.Tracks = append(p.movie.Tracks, audio)
	}
	if err := p.movie.Layout(); err != nil {
		return err
	}
	p.info.Size = p.movie.Size()
	return nil
}

func (p *Plan) videoTrack() (*mp4.Track, error) {
	entries, err := p.sampleEntries()
	if err != nil {
		return nil, err
	}

	// Decode times must not go backwards in MP4. A stream whose DTS does
	// gets each such frame one tick after the previous one.
	firstDTS := p.video[0].dts
	samples := make([]mp4.Sample, len(p.video))
	minPTS, maxPTS := int64(math.MaxInt64), int64(math.MinInt64)
	prev := int64(-1)
	lastDuration := int64(defaultFrameDuration)
	for i, s := range p.video {
		dts := max(s.dts-firstDTS, prev+1)
		if i > 0 {
			lastDuration = dts - prev
		}
		prev = dts
		offset := min(max(s.pts-firstDTS-dts, math.MinInt32), math.MaxInt32)
		samples[i] = mp4.Sample{Size: s.size, DTS: dts, CompositionOffset: int32(offset), Sync: s.key, Entry: s.entry}
		minPTS, maxPTS = min(minPTS, s.pts), max(maxPTS, s.pts)
	}
	p.video[0].pts = minPTS // presentation start, for the audio track's offset

	track := &mp4.Track{
		Video:         true,
		Timescale:     videoTimescale,
		SampleEntries: entries,
		Width:         p.info.Width,
		Height:        p.info.Height,
		LastDuration:  uint32(min(lastDuration, math.MaxUint32)),
		Samples:       samples,
	}

	n := len(samples)
	p.info.VideoCodec = p.codec.String()
	p.info.Frames = n
	if span := samples[n-1].DTS; n > 1 && span > 0 {
		p.info.FrameRate = float64(n-1) * videoTimescale / float64(span)
	}
	p.info.Duration = time.Duration(maxPTS-minPTS+lastDuration) * time.Second / videoTimescale
	return track, nil
}

// sampleEntries builds one avc1 or hvc1 sample entry per parameter set
// combination and fills the picture fields of Info from the first.
func (p *Plan) sampleEntries() ([][]byte, error) {
	entries := make([][]byte, len(p.sets))
	for i := range p.sets {
		entry, profile, width, height, err := p.sampleEntry(&p.sets[i])
		if err != nil {
			return nil, fmt.Errorf("parameter set combination %d of %d: %w", i+1, len(p.sets), err)
		}
		entries[i] = entry
		if i == 0 {
			p.info.Profile, p.info.Width, p.info.Height = profile, width, height
		}
	}
	p.info.SampleEntries = len(entries)
	return entries, nil
}

// sampleEntry builds the avc1 or hvc1 sample entry of one combination. Its
// picture size comes from the last SPS, the newest when a partial update
// added one.
func (p *Plan) sampleEntry(set *parameterSets) (entry []byte, profile string, width, height int, err error) {
	lastSPS := set.sps[len(set.sps)-1]
	if p.codec == codecH265 {
		sps, err := mp4.ParseH265SPS(lastSPS)
		if err != nil {
			return nil, "", 0, 0, err
		}
		config, err := mp4.HEVCConfig(set.vps, set.sps, set.pps)
		if err != nil {
			return nil, "", 0, 0, err
		}
		return mp4.VideoSampleEntry("hvc1", "hvcC", sps.Width, sps.Height, config), mp4.H265ProfileName(sps.Profile), sps.Width, sps.Height, nil
	}

	sps, err := mp4.ParseH264SPS(lastSPS)
	if err != nil {
		return nil, "", 0, 0, err
	}
	config, err := mp4.AVCConfig(set.sps, set.pps)
	if err != nil {
		return nil, "", 0, 0, err
	}
	return mp4.VideoSampleEntry("avc1", "avcC", sps.Width, sps.Height, config), mp4.H264ProfileName(sps.Profile), sps.Width, sps.Height, nil
}

// audioTrack returns the FLAC track of G.711 audio or the AAC track, or
// nil when the source has no audio the MP4 can hold. Info.AudioSkip gives the reason.
func (p *Plan) audioTrack() *mp4.Track {
	if p.audioType == ps.StreamTypeAAC {
		// Packets before the stream map named the type went to p.audio.
		p.audio = nil
		return p.aacTrack()
	}
	if len(p.audio) == 0 {
		return nil
	}
	p.info.AudioCodec = ps.StreamTypeName(p.audioType)
	if p.audioType != ps.StreamTypeG711A && p.audioType != ps.StreamTypeG711U {
		// NOTE: MPEG-1 and MPEG-2 audio are left out, not yet remuxed.
		p.info.AudioSkip = fmt.Sprintf("%s is not remuxed; only G.711 and AAC audio are", p.info.AudioCodec)
		if p.audioType == 0 {
			p.info.AudioCodec = ""
			p.info.AudioSkip = "no stream map names the audio stream's type"
		}
		p.audio = nil
		return nil
	}

	// Audio before the first video frame cannot be shown with a picture.
	videoStart := p.video[0].pts
	p.audio = slices.DeleteFunc(p.audio, func(a audioSample) bool { return a.pts < videoStart })
	if len(p.audio) == 0 {
		return nil
	}

	// G.711 carries one sample per byte, so sample times are byte counts.
	samples := make([]mp4.Sample, len(p.audio))
	var total uint64
	minBlock, maxBlock := math.MaxInt, 0
	for i, a := range p.audio {
		n := min(int(a.span.n), flacMaxBlock)
		samples[i] = mp4.Sample{Size: uint32(flacFrameSize(total, n)), DTS: int64(total), Sync: true}
		if i < len(p.audio)-1 {
			minBlock = min(minBlock, n)
		}
		maxBlock = max(maxBlock, n)
		total += uint64(n)
	}
	if minBlock == math.MaxInt {
		minBlock = maxBlock
	}

	p.info.AudioFormat = "flac"
	return &mp4.Track{
		Timescale:     flacSampleRate,
		SampleEntries: [][]byte{mp4.FLACSampleEntry(1, flacSampleRate, flacStreamInfo(minBlock, maxBlock, total))},
		StartPTS:      (p.audio[0].pts - videoStart) * flacSampleRate / videoTimescale,
		LastDuration:  uint32(min(int(p.audio[len(p.audio)-1].span.n), flacMaxBlock)),
		Samples:       samples,
	}
}

// aacTrack returns the AAC track, one sample per raw AAC frame, or nil when
// the source has no usable AAC frame. Info.AudioSkip gives the reason.
func (p *Plan) aacTrack() *mp4.Track {
	r := &p.aac
	if r.skip == "" && len(r.frames) == 0 {
		return nil
	}
	p.info.AudioCodec = ps.StreamTypeName(ps.StreamTypeAAC)
	if r.skip != "" {
		p.info.AudioSkip = r.skip
		r.frames = nil
		return nil
	}

	// Audio before the first video frame cannot be shown with a picture.
	videoStart := p.video[0].pts
	r.frames = slices.DeleteFunc(r.frames, func(f aacFrame) bool { return f.pts < videoStart })
	if len(r.frames) == 0 {
		return nil
	}

	// Every frame holds 1024 samples, so with the sample rate as the
	// timescale each sample lasts 1024 units.
	rate := r.config.sampleRate()
	samples := make([]mp4.Sample, len(r.frames))
	for i, f := range r.frames {
		samples[i] = mp4.Sample{Size: f.size, DTS: int64(i) * aacFrameSamples, Sync: true}
	}
	asc := mp4.AudioSpecificConfig(r.config.objectType, r.config.frequencyIndex, r.config.channelConfig)
	p.info.AudioFormat = "aac"
	return &mp4.Track{
		Timescale:     uint32(rate),
		SampleEntries: [][]byte{mp4.AACSampleEntry(r.config.channels(), rate, asc)},
		StartPTS:      (r.frames[0].pts - videoStart) * int64(rate) / videoTimescale,
		LastDuration:  aacFrameSamples,
		Samples:       samples,
	}
}

// WriteTo runs pass 2: it writes the MP4 to dst, reading every payload
// from the source again. It fails if the source no longer matches pass 1,
// as when the camera overwrites the segment in between.
func (p *Plan) WriteTo(ctx context.Context, dst io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(dst, 1<<20)
	cw := &countingWriter{w: bw}
	if err := p.movie.WriteHeader(cw); err != nil {
		return cw.n, fmt.Errorf("remux pass 2: write MP4 header: %w", err)
	}

	in := make([]byte, 0, p.maxAU)
	var out []byte
	var pcm []int16
	var audioSamples uint64
	var err error
	n := 0
	p.movie.Interleave(func(track, sample int) bool {
		if n++; n%256 == 0 {
			if err = checkContext(ctx, "pass 2"); err != nil {
				return false
			}
		}
		switch {
		case track == 0:
			out, err = p.videoPayload(out[:0], &in, sample)
		case p.audioType == ps.StreamTypeAAC:
			out, err = p.aacPayload(out[:0], sample)
		default:
			out, pcm, err = p.audioPayload(out[:0], pcm, audioSamples, sample)
			audioSamples += uint64(min(int(p.audio[sample].span.n), flacMaxBlock))
		}
		if err == nil {
			want := p.movie.Tracks[track].Samples[sample].Size
			if uint32(len(out)) != want {
				err = fmt.Errorf("remux pass 2: track %d sample %d is %d bytes, pass 1 found %d; the source changed between the passes", track+1, sample+1, len(out), want)
				return false
			}
			_, err = cw.Write(out)
		}
		return err == nil
	})
	if err != nil {
		return cw.n, err
	}
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("remux pass 2: %w", err)
	}
	if cw.n != p.Size() {
		return cw.n, fmt.Errorf("remux pass 2: wrote %d bytes, but the layout expects %d", cw.n, p.Size())
	}
	return cw.n, nil
}

// videoPayload appends sample i as length-prefixed NAL units, without
// delimiters and, except at a change of sample entry, parameter sets.
func (p *Plan) videoPayload(out []byte, in *[]byte, i int) ([]byte, error) {
	var err error
	*in, err = p.readSpans((*in)[:0], &p.video[i])
	if err != nil {
		return out, fmt.Errorf("remux pass 2: %w", err)
	}
	inband := i > 0 && p.inbandParameterSets(p.video[i-1].entry, p.video[i].entry)
	splitNALs(*in, func(nal []byte) {
		switch classify(p.codec, nal) {
		case nalDrop:
			return
		case nalVPS, nalSPS, nalPPS:
			if !inband {
				return
			}
		}
		out = append(out, byte(len(nal)>>24), byte(len(nal)>>16), byte(len(nal)>>8), byte(len(nal)))
		out = append(out, nal...)
	})
	return out, nil
}

// aacPayload appends the raw AAC frame i.
func (p *Plan) aacPayload(out []byte, i int) ([]byte, error) {
	f := p.aac.frames[i]
	for _, sp := range p.aac.frameSpan[f.firstSpan : f.firstSpan+f.spans] {
		start := len(out)
		out = slices.Grow(out, int(sp.n))[:start+int(sp.n)]
		if got, err := p.src.ReadAt(out[start:], sp.off); err != nil && (got < int(sp.n) || !errors.Is(err, io.EOF)) {
			return out, fmt.Errorf("remux pass 2: read AAC payload at source offset %d: %w", sp.off, err)
		}
	}
	return out, nil
}

// audioPayload appends audio sample i as a FLAC frame whose first sample
// number is first.
func (p *Plan) audioPayload(out []byte, pcm []int16, first uint64, i int) ([]byte, []int16, error) {
	a := p.audio[i]
	n := min(int(a.span.n), flacMaxBlock)
	raw := make([]byte, n)
	if got, err := p.src.ReadAt(raw, a.span.off); err != nil && (got < n || !errors.Is(err, io.EOF)) {
		return out, pcm, fmt.Errorf("remux pass 2: read audio payload at source offset %d: %w", a.span.off, err)
	}

	table := &alawTable
	if p.audioType == ps.StreamTypeG711U {
		table = &ulawTable
	}
	pcm = pcm[:0]
	for _, v := range raw {
		pcm = append(pcm, table[v])
	}
	return appendFLACFrame(out, first, pcm), pcm, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
