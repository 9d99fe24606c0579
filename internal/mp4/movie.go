// Package mp4 writes progressive MP4 files (ISO/IEC 14496-12 and -14) with
// the moov box before the mdat box, so a player can start while the file
// still downloads and seek with HTTP range requests. The caller lays out
// the whole movie from sample sizes and times first, which gives the exact
// file size, and then streams the sample payloads in the order the Movie
// gives.
//
// The package also parses what the sample entries need from H.264 and
// H.265 parameter sets.
package mp4

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// movieTimescale is the mvhd and tkhd timescale, in units per second.
const movieTimescale = 1000

// Sample is one sample of a track. Times are in the track's timescale.
type Sample struct {
	Size              uint32
	DTS               int64 // decode time from the track's first sample; non-decreasing
	CompositionOffset int32 // PTS minus DTS
	Sync              bool  // a random access point

	// Entry is the index in Track.SampleEntries of the sample entry that
	// decodes this sample.
	Entry uint16
}

// Track is one track of a movie.
type Track struct {
	Video     bool   // handler vide; otherwise soun
	Timescale uint32 // units per second of DTS and durations
	Width     int    // display size for tkhd, video only
	Height    int

	// SampleEntries are the encoded sample entry boxes of stsd, see
	// VideoSampleEntry and FLACSampleEntry. A video whose parameter sets
	// change needs one per set, and each Sample names its own.
	SampleEntries [][]byte

	// StartPTS is the presentation time of the track's first sample
	// relative to the movie's start, in Timescale units. A positive value
	// adds an empty edit so the tracks stay in sync.
	StartPTS int64

	// LastDuration is the duration of the last sample, which no following
	// DTS gives.
	LastDuration uint32

	Samples []Sample
}

// Movie is a set of tracks whose samples are stored in one mdat box.
type Movie struct {
	Tracks []*Track
	Brand  [4]byte // major brand; default isom

	order     []chunk // chunks in file order
	mdatStart int64   // offset of the first payload byte
	size      int64
	header    []byte // ftyp, moov and mdat header
}

// chunk is a run of consecutive samples of one track that are stored back
// to back.
type chunk struct {
	track, first, count int
	offset              int64
}

// Layout computes the file layout and encodes every box. After Layout, Size
// and Interleave describe the file that WriteHeader starts.
func (m *Movie) Layout() error {
	if len(m.Tracks) == 0 {
		return fmt.Errorf("mp4: a movie needs at least one track")
	}
	for i, t := range m.Tracks {
		if err := t.validate(); err != nil {
			return fmt.Errorf("mp4: track %d: %w", i+1, err)
		}
	}
	m.interleave()

	// The moov size does not depend on the chunk offsets' values, only on
	// whether they need 64 bits, so encode once with a guess and again
	// with the real offsets.
	ftyp := m.ftyp()
	var payload int64
	for _, t := range m.Tracks {
		for _, s := range t.Samples {
			payload += int64(s.Size)
		}
	}
	mdatHeader := int64(8)
	if payload+8 > math.MaxUint32 {
		mdatHeader = 16
	}
	moov := m.moov(false)
	large := int64(len(ftyp)+len(moov))+mdatHeader+payload > math.MaxUint32
	moov = m.moov(large)
	m.mdatStart = int64(len(ftyp)+len(moov)) + mdatHeader
	m.placeChunks()
	moov = m.moov(large)

	m.header = append(append([]byte{}, ftyp...), moov...)
	if mdatHeader == 8 {
		m.header = binary.BigEndian.AppendUint32(m.header, uint32(payload+8))
		m.header = append(m.header, "mdat"...)
	} else {
		m.header = binary.BigEndian.AppendUint32(m.header, 1)
		m.header = append(m.header, "mdat"...)
		m.header = binary.BigEndian.AppendUint64(m.header, uint64(payload+16))
	}
	m.size = int64(len(m.header)) + payload
	return nil
}

// Size returns the size of the whole file in bytes. Call Layout first.
func (m *Movie) Size() int64 { return m.size }

// HeaderSize returns the bytes of ftyp, moov and the mdat header.
func (m *Movie) HeaderSize() int { return len(m.header) }

// WriteHeader writes ftyp, moov and the mdat header. The sample payloads
// must follow in the order Interleave gives.
func (m *Movie) WriteHeader(w io.Writer) error {
	if m.header == nil {
		return fmt.Errorf("mp4: WriteHeader before Layout")
	}
	_, err := w.Write(m.header)
	return err
}

// Interleave calls yield with track and sample index of every sample in
// file order, until yield returns false.
func (m *Movie) Interleave(yield func(track, sample int) bool) {
	for _, c := range m.order {
		for i := c.first; i < c.first+c.count; i++ {
			if !yield(c.track, i) {
				return
			}
		}
	}
}

func (t *Track) validate() error {
	if len(t.Samples) == 0 {
		return fmt.Errorf("no samples")
	}
	if t.Timescale == 0 {
		return fmt.Errorf("timescale 0")
	}
	if len(t.SampleEntries) == 0 || len(t.SampleEntries) > math.MaxUint16+1 {
		return fmt.Errorf("%d sample entries, expected 1 to %d", len(t.SampleEntries), math.MaxUint16+1)
	}
	for i, e := range t.SampleEntries {
		if len(e) < 8 {
			return fmt.Errorf("sample entry %d is %d bytes, too short for a box", i+1, len(e))
		}
	}
	for i, s := range t.Samples {
		if int(s.Entry) >= len(t.SampleEntries) {
			return fmt.Errorf("sample %d: sample entry %d does not exist, the track has %d", i, s.Entry+1, len(t.SampleEntries))
		}
	}
	for i := 1; i < len(t.Samples); i++ {
		if d := t.Samples[i].DTS - t.Samples[i-1].DTS; d < 0 || d > math.MaxUint32 {
			return fmt.Errorf("sample %d: DTS %d after %d is out of order", i, t.Samples[i].DTS, t.Samples[i-1].DTS)
		}
	}
	return nil
}

// maxChunkDuration is the longest run of one track's samples stored
// together, in seconds. Half a second keeps audio and video close enough
// in the file for a player that reads it front to back.
const maxChunkDuration = 0.5

// interleave orders the samples of all tracks by decode time into chunks.
// A chunk's samples share one sample entry, because stsc maps chunks, not
// samples, to entries.
func (m *Movie) interleave() {
	next := make([]int, len(m.Tracks))
	m.order = m.order[:0]
	for {
		best := -1
		var bestTime float64
		for i, t := range m.Tracks {
			if next[i] >= len(t.Samples) {
				continue
			}
			at := float64(t.Samples[next[i]].DTS+t.StartPTS) / float64(t.Timescale)
			if best < 0 || at < bestTime {
				best, bestTime = i, at
			}
		}
		if best < 0 {
			return
		}

		t := m.Tracks[best]
		first := next[best]
		limit := t.Samples[first].DTS + int64(maxChunkDuration*float64(t.Timescale))
		n := next[best] + 1
		for n < len(t.Samples) && t.Samples[n].DTS < limit && t.Samples[n].Entry == t.Samples[first].Entry {
			n++
		}
		m.order = append(m.order, chunk{track: best, first: first, count: n - first})
		next[best] = n
	}
}

// placeChunks sets each chunk's file offset.
func (m *Movie) placeChunks() {
	offset := m.mdatStart
	for i := range m.order {
		c := &m.order[i]
		c.offset = offset
		t := m.Tracks[c.track]
		for _, s := range t.Samples[c.first : c.first+c.count] {
			offset += int64(s.Size)
		}
	}
}

// duration returns the track's duration in its timescale.
func (t *Track) duration() int64 {
	last := t.Samples[len(t.Samples)-1]
	return last.DTS + int64(t.LastDuration)
}

// movieDuration returns d in the movie timescale, rounded to nearest.
func (t *Track) toMovie(d int64) int64 {
	return (d*movieTimescale + int64(t.Timescale)/2) / int64(t.Timescale)
}
