package mp4

import (
	"encoding/binary"
	"math"
)

// boxWriter appends boxes to a byte slice. open writes a size placeholder
// that close fills in, so nested boxes need no size computed in advance.
type boxWriter struct {
	b     []byte
	stack []int
}

func (w *boxWriter) open(typ string) {
	w.stack = append(w.stack, len(w.b))
	w.b = append(w.b, 0, 0, 0, 0)
	w.b = append(w.b, typ...)
}

// openFull opens a full box with a version and 24 bits of flags.
func (w *boxWriter) openFull(typ string, version uint8, flags uint32) {
	w.open(typ)
	w.u32(uint32(version)<<24 | flags&0xFFFFFF)
}

func (w *boxWriter) close() {
	start := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	binary.BigEndian.PutUint32(w.b[start:], uint32(len(w.b)-start))
}

func (w *boxWriter) u8(v uint8)   { w.b = append(w.b, v) }
func (w *boxWriter) u16(v uint16) { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *boxWriter) u32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *boxWriter) u64(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }
func (w *boxWriter) zeros(n int) {
	for range n {
		w.b = append(w.b, 0)
	}
}

// matrix writes the identity transformation matrix of mvhd and tkhd.
func (w *boxWriter) matrix() {
	for _, v := range []uint32{0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000} {
		w.u32(v)
	}
}

func (m *Movie) ftyp() []byte {
	major := m.Brand
	if major == [4]byte{} {
		major = [4]byte{'i', 's', 'o', 'm'}
	}
	w := &boxWriter{}
	w.open("ftyp")
	w.b = append(w.b, major[:]...)
	w.u32(0x200)
	w.b = append(w.b, "isomiso2avc1mp41"...)
	w.close()
	return w.b
}

// moov encodes the movie box. large selects 64-bit chunk offsets.
func (m *Movie) moov(large bool) []byte {
	w := &boxWriter{}
	w.open("moov")

	var duration int64
	for _, t := range m.Tracks {
		duration = max(duration, t.toMovie(t.StartPTS+t.presentationDuration()))
	}
	w.openFull("mvhd", 0, 0)
	w.u32(0) // creation_time
	w.u32(0) // modification_time
	w.u32(movieTimescale)
	w.u32(clampU32(duration))
	w.u32(0x00010000) // rate 1.0
	w.u16(0x0100)     // volume 1.0
	w.zeros(10)
	w.matrix()
	w.zeros(24) // pre_defined
	w.u32(uint32(len(m.Tracks) + 1))
	w.close()

	for i, t := range m.Tracks {
		m.trak(w, i, t, large)
	}
	w.close()
	return w.b
}

func (m *Movie) trak(w *boxWriter, index int, t *Track, large bool) {
	w.open("trak")

	// tkhd flags: enabled, in movie, in preview.
	w.openFull("tkhd", 0, 7)
	w.u32(0)
	w.u32(0)
	w.u32(uint32(index + 1))
	w.u32(0)
	w.u32(clampU32(t.toMovie(t.StartPTS + t.presentationDuration())))
	w.zeros(8)
	w.u16(0) // layer
	w.u16(0) // alternate_group
	if t.Video {
		w.u16(0)
	} else {
		w.u16(0x0100)
	}
	w.u16(0)
	w.matrix()
	w.u32(uint32(t.Width) << 16)
	w.u32(uint32(t.Height) << 16)
	w.close()

	t.edts(w)

	w.open("mdia")
	w.openFull("mdhd", 0, 0)
	w.u32(0)
	w.u32(0)
	w.u32(t.Timescale)
	w.u32(clampU32(t.duration()))
	w.u16(0x55C4) // language "und", packed ISO-639-2/T
	w.u16(0)
	w.close()

	w.openFull("hdlr", 0, 0)
	w.u32(0)
	if t.Video {
		w.b = append(w.b, "vide"...)
	} else {
		w.b = append(w.b, "soun"...)
	}
	w.zeros(12)
	if t.Video {
		w.b = append(w.b, "VideoHandler\x00"...)
	} else {
		w.b = append(w.b, "SoundHandler\x00"...)
	}
	w.close()

	w.open("minf")
	if t.Video {
		w.openFull("vmhd", 0, 1)
		w.zeros(8)
	} else {
		w.openFull("smhd", 0, 0)
		w.zeros(4)
	}
	w.close()
	w.open("dinf")
	w.openFull("dref", 0, 0)
	w.u32(1)
	w.openFull("url ", 0, 1) // flag 1: media data in this file
	w.close()
	w.close()
	w.close()

	m.stbl(w, index, t, large)
	w.close() // minf
	w.close() // mdia
	w.close() // trak
}

// presentationDuration returns the time from the first presented sample to
// the end of the last sample, in the track's timescale.
func (t *Track) presentationDuration() int64 {
	end := int64(0)
	for _, s := range t.Samples {
		end = max(end, s.DTS+int64(s.CompositionOffset))
	}
	return end + int64(t.LastDuration) - t.firstCompositionTime()
}

// firstCompositionTime returns the smallest composition time of the track.
func (t *Track) firstCompositionTime() int64 {
	first := int64(math.MaxInt64)
	for _, s := range t.Samples {
		first = min(first, s.DTS+int64(s.CompositionOffset))
	}
	return max(first, 0)
}

// edts writes an edit list that starts presentation at the first composed
// sample and, for a track that starts after the movie, an empty edit before
// it.
func (t *Track) edts(w *boxWriter) {
	w.open("edts")
	entries := uint32(1)
	if t.StartPTS > 0 {
		entries = 2
	}
	w.openFull("elst", 0, 0)
	w.u32(entries)
	if t.StartPTS > 0 {
		w.u32(clampU32(t.toMovie(t.StartPTS)))
		w.u32(math.MaxUint32) // media_time -1: empty edit
		w.u32(0x00010000)
	}
	w.u32(clampU32(t.toMovie(t.presentationDuration())))
	w.u32(uint32(t.firstCompositionTime()))
	w.u32(0x00010000)
	w.close()
	w.close()
}

func (m *Movie) stbl(w *boxWriter, index int, t *Track, large bool) {
	w.open("stbl")

	w.openFull("stsd", 0, 0)
	w.u32(uint32(len(t.SampleEntries)))
	for _, e := range t.SampleEntries {
		w.b = append(w.b, e...)
	}
	w.close()

	// stts: runs of equal sample durations.
	type run struct{ count, value uint32 }
	var runs []run
	add := func(v uint32) {
		if n := len(runs); n > 0 && runs[n-1].value == v {
			runs[n-1].count++
			return
		}
		runs = append(runs, run{1, v})
	}
	for i := range t.Samples {
		d := t.LastDuration
		if i+1 < len(t.Samples) {
			d = uint32(t.Samples[i+1].DTS - t.Samples[i].DTS)
		}
		add(d)
	}
	w.openFull("stts", 0, 0)
	w.u32(uint32(len(runs)))
	for _, r := range runs {
		w.u32(r.count)
		w.u32(r.value)
	}
	w.close()

	// ctts only when some sample is presented away from its decode time.
	// Version 1 allows negative offsets, which a broken stream can give.
	reordered, negative := false, false
	for _, s := range t.Samples {
		reordered = reordered || s.CompositionOffset != 0
		negative = negative || s.CompositionOffset < 0
	}
	if reordered {
		runs = runs[:0]
		for _, s := range t.Samples {
			add(uint32(s.CompositionOffset))
		}
		version := uint8(0)
		if negative {
			version = 1
		}
		w.openFull("ctts", version, 0)
		w.u32(uint32(len(runs)))
		for _, r := range runs {
			w.u32(r.count)
			w.u32(r.value)
		}
		w.close()
	}

	// stss lists sync samples (1-based); without it every sample is one.
	syncs := 0
	for _, s := range t.Samples {
		if s.Sync {
			syncs++
		}
	}
	if syncs < len(t.Samples) {
		w.openFull("stss", 0, 0)
		w.u32(uint32(syncs))
		for i, s := range t.Samples {
			if s.Sync {
				w.u32(uint32(i + 1))
			}
		}
		w.close()
	}

	// stsc: runs of chunks with the same sample count and sample entry,
	// then stco or co64.
	var offsets []int64
	runs = runs[:0]
	type stscEntry struct{ firstChunk, samples, entry uint32 }
	var stsc []stscEntry
	for _, c := range m.order {
		if c.track != index {
			continue
		}
		offsets = append(offsets, c.offset)
		e := stscEntry{uint32(len(offsets)), uint32(c.count), uint32(t.Samples[c.first].Entry) + 1}
		if n := len(stsc); n == 0 || stsc[n-1].samples != e.samples || stsc[n-1].entry != e.entry {
			stsc = append(stsc, e)
		}
	}
	w.openFull("stsc", 0, 0)
	w.u32(uint32(len(stsc)))
	for _, e := range stsc {
		w.u32(e.firstChunk)
		w.u32(e.samples)
		w.u32(e.entry)
	}
	w.close()

	w.openFull("stsz", 0, 0)
	w.u32(0)
	w.u32(uint32(len(t.Samples)))
	for _, s := range t.Samples {
		w.u32(s.Size)
	}
	w.close()

	if large {
		w.openFull("co64", 0, 0)
		w.u32(uint32(len(offsets)))
		for _, o := range offsets {
			w.u64(uint64(o))
		}
	} else {
		w.openFull("stco", 0, 0)
		w.u32(uint32(len(offsets)))
		for _, o := range offsets {
			w.u32(uint32(o))
		}
	}
	w.close()

	w.close() // stbl
}

func clampU32(v int64) uint32 {
	return uint32(min(max(v, 0), math.MaxUint32))
}

// VideoSampleEntry returns a visual sample entry box: format is avc1 or
// hvc1, configType avcC or hvcC and config the decoder configuration
// record.
func VideoSampleEntry(format, configType string, width, height int, config []byte) []byte {
	w := &boxWriter{}
	w.open(format)
	w.zeros(6)
	w.u16(1) // data_reference_index
	w.zeros(16)
	w.u16(uint16(width))
	w.u16(uint16(height))
	w.u32(0x00480000) // 72 dpi
	w.u32(0x00480000)
	w.u32(0)
	w.u16(1)      // frame_count
	w.zeros(32)   // compressorname
	w.u16(0x18)   // depth
	w.u16(0xFFFF) // pre_defined -1
	w.open(configType)
	w.b = append(w.b, config...)
	w.close()
	w.close()
	return w.b
}

// audioSampleEntryStart opens an audio sample entry box with its fixed
// fields. The caller appends the codec box and closes it.
func audioSampleEntryStart(format string, channels, sampleRate int) *boxWriter {
	w := &boxWriter{}
	w.open(format)
	w.zeros(6)
	w.u16(1)
	w.zeros(8)
	w.u16(uint16(channels))
	w.u16(16) // samplesize
	w.zeros(4)
	w.u32(uint32(sampleRate) << 16)
	return w
}

// FLACSampleEntry returns an fLaC sample entry with a dfLa box holding the
// STREAMINFO metadata block (34 bytes), as the FLAC-in-ISOBMFF mapping
// defines it.
func FLACSampleEntry(channels, sampleRate int, streamInfo []byte) []byte {
	w := audioSampleEntryStart("fLaC", channels, sampleRate)
	w.openFull("dfLa", 0, 0)
	w.u8(0x80) // last-metadata-block flag, block type 0 (STREAMINFO)
	w.u8(0)
	w.u16(uint16(len(streamInfo)))
	w.b = append(w.b, streamInfo...)
	w.close()
	w.close()
	return w.b
}

// AACSampleEntry returns an mp4a sample entry whose esds box carries the
// AudioSpecificConfig asc.
func AACSampleEntry(channels, sampleRate int, asc []byte) []byte {
	w := audioSampleEntryStart("mp4a", channels, sampleRate)
	w.openFull("esds", 0, 0)

	// ES_Descriptor (tag 3) holding a DecoderConfigDescriptor (tag 4) with
	// the DecoderSpecificInfo (tag 5), then an SLConfigDescriptor (tag 6).
	// Sizes use the one-byte form, enough for any AudioSpecificConfig.
	decoderSpecific := append([]byte{0x05, byte(len(asc))}, asc...)
	decoderConfig := append([]byte{0x04, byte(13 + len(decoderSpecific)),
		0x40,    // objectTypeIndication: MPEG-4 audio
		0x15,    // streamType 5 (audio), upStream 0, reserved 1
		0, 0, 0, // bufferSizeDB
		0, 0, 0, 0, // maxBitrate
		0, 0, 0, 0, // avgBitrate
	}, decoderSpecific...)
	sl := []byte{0x06, 0x01, 0x02}
	es := append([]byte{0x03, byte(3 + len(decoderConfig) + len(sl)), 0x00, 0x01, 0x00}, decoderConfig...)
	es = append(es, sl...)
	w.b = append(w.b, es...)
	w.close()
	w.close()
	return w.b
}
