package index

import (
	"time"
)

// rateWindow is the number of newest closed segments per channel whose bytes
// and duration give the write rate.
const rateWindow = 8

// Headroom is an estimate of how long the camera takes to reach and recycle
// the hiv file that holds a given segment.
type Headroom struct {
	// BytesPerSecond is the camera's write rate over all channels, from
	// the newest closed segments of each.
	BytesPerSecond float64
	// BytesUntilRecycle is the estimated number of bytes the camera
	// writes, over all channels, before it starts writing the file again.
	BytesUntilRecycle int64
	// Time is BytesUntilRecycle at BytesPerSecond.
	Time time.Duration
}

// HeadroomFor estimates how long until the camera recycles the hiv file of
// segment target. s is the snapshot of the whole index, because the
// channels share the ring, and hivSize is the size of a hiv file in bytes.
// It returns false when no channel has two closed segments to measure a
// rate from.
//
// The camera takes a new file, the oldest of the ring, whenever any channel
// fills its own. Each channel fills the rest of its file and then a whole
// file at a time at its own rate, so merging those moments over the
// channels gives the order of the next recycles. The file of target is the
// (n+1)-th to be recycled, where n files lie between lastFileRecNo and it.
// A file holds less video than hivSize, because of the info region at its
// end and the room too small for one more segment, so the bytes per file are
// measured on finished files (see fileCapacity).
func (s *Snapshot) HeadroomFor(target Segment, hivSize int64) (Headroom, bool) {
	capacity := s.fileCapacity(hivSize)

	// next[i] is when channel i fills its current file, in seconds.
	var next, perFile []float64
	var total float64
	for _, view := range s.ChannelViews() {
		rate := view.channelRate()
		if rate <= 0 {
			continue
		}
		left := max(0, capacity-view.writePosition())
		next = append(next, float64(left)/rate)
		perFile = append(perFile, float64(capacity)/rate)
		total += rate
	}
	if len(next) == 0 || s.Files == 0 {
		return Headroom{}, false
	}

	between := (int(target.File) - int(s.CurrentFile) - 1 + s.Files) % s.Files
	var seconds float64
	for range between + 1 {
		soonest := 0
		for i := range next {
			if next[i] < next[soonest] {
				soonest = i
			}
		}
		seconds = next[soonest]
		next[soonest] += perFile[soonest]
	}

	return Headroom{
		BytesPerSecond:    total,
		BytesUntilRecycle: int64(seconds * total),
		Time:              time.Duration(seconds * float64(time.Second)),
	}, true
}

// fileCapacity returns the mean end offset of the last segment of the
// finished files in s, the video bytes a file really takes before the
// camera moves on, or hivSize when no file is finished. It never exceeds
// hivSize.
func (s *Snapshot) fileCapacity(hivSize int64) int64 {
	var sum, files int64
	for i, seg := range s.Closed {
		last := i == len(s.Closed)-1 || s.Closed[i+1].File != seg.File
		if !last || s.writing(seg.File) {
			continue
		}
		sum += int64(seg.EndOffset)
		files++
	}
	if files == 0 {
		return hivSize
	}
	return min(hivSize, sum/files)
}

// writing reports whether a channel is writing file.
func (s *Snapshot) writing(file uint32) bool {
	for _, view := range s.ChannelViews() {
		if view.CurrentFile == file {
			return true
		}
	}
	return false
}

// channelRate returns the write rate of a channel view in bytes per second,
// 0 when it has fewer than two closed segments.
func (s *Snapshot) channelRate() float64 {
	if len(s.Closed) < 2 {
		return 0
	}

	recent := s.Closed[max(0, len(s.Closed)-rateWindow):]
	var bytes int64
	for _, seg := range recent {
		bytes += seg.Size()
	}
	elapsed := recent[len(recent)-1].End.Wall().Sub(recent[0].Start.Wall()).Seconds()
	if elapsed <= 0 || bytes <= 0 {
		return 0
	}
	return float64(bytes) / elapsed
}

// writePosition returns the byte offset a channel view has reached in the
// file it is writing: the start of its open segment, or the end of its
// newest closed segment there.
func (s *Snapshot) writePosition() int64 {
	if s.Open != nil {
		return int64(s.Open.StartOffset)
	}
	if n := len(s.Closed); n > 0 && s.Closed[n-1].File == s.CurrentFile {
		return int64(s.Closed[n-1].EndOffset)
	}
	return 0
}
