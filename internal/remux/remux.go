// Package remux turns a Hikvision segment, an MPEG-2 program stream, into a
// progressive MP4 that browsers and ffmpeg play: H.264 as avc1, H.265 as
// hvc1, G.711 audio as FLAC and AAC audio as mp4a. It reads the source twice, once to index the
// samples and once to copy their payloads, so memory grows with the number
// of frames and not with the segment size. BenchmarkRemux measured a peak
// heap of about 300 bytes per frame, audio included, plus fixed buffers of
// about 2 MiB and one video frame.
package remux

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// DefaultMaxFrameSize is the largest video access unit Remux accepts when
// Options.MaxFrameSize is 0. A 4K key frame at high quality is a few MiB.
const DefaultMaxFrameSize = 16 << 20

// Options tunes Remux. The zero value selects the defaults.
type Options struct {
	// MaxFrameSize is the largest video access unit in bytes; a larger one
	// fails the remux. It bounds the buffer each pass needs. Default
	// DefaultMaxFrameSize.
	MaxFrameSize int

	// NoAudio drops every audio stream.
	NoAudio bool
}

// Info describes the MP4 a Plan writes.
type Info struct {
	VideoCodec string  // "h264" or "h265"
	Profile    string  // for example "Main"
	Width      int     // pixels, of the first sample entry
	Height     int     // pixels, of the first sample entry
	FrameRate  float64 // frames per second, from the DTS span
	Frames     int     // video samples in the MP4

	// SampleEntries counts the video sample entries, one per combination
	// of parameter sets. It is above 1 when the camera changed resolution
	// or other encoder settings within the segment.
	SampleEntries int

	AudioCodec  string // source audio, for example "G.711 A-law"; empty without audio
	AudioFormat string // storage format of the audio in the MP4, for example "flac"
	AudioSkip   string // reason a source audio stream is not in the MP4; empty when it is

	// Duration is the video's presentation span: last PTS minus first PTS
	// plus one frame duration.
	Duration time.Duration

	Size int64 // MP4 size in bytes

	// DroppedFrames counts source frames left out: before the first key
	// frame, cut off by the end of the source, or without a PTS.
	DroppedFrames int
}

// ErrNoVideo means the source holds no decodable video.
var ErrNoVideo = errors.New("no decodable video")

// Remux writes src, size bytes of MPEG-2 program stream, to dst as MP4. It
// is Prepare followed by Plan.WriteTo.
func Remux(ctx context.Context, src io.ReaderAt, size int64, dst io.Writer, opts Options) (Info, error) {
	p, err := Prepare(ctx, src, size, opts)
	if err != nil {
		return Info{}, err
	}
	if _, err := p.WriteTo(ctx, dst); err != nil {
		return p.Info(), err
	}
	return p.Info(), nil
}

// videoCodec is the codec of the video stream.
type videoCodec int

const (
	codecUnknown videoCodec = iota
	codecH264
	codecH265
)

func (c videoCodec) String() string {
	switch c {
	case codecH264:
		return "h264"
	case codecH265:
		return "h265"
	}
	return "unknown"
}

// checkContext returns ctx's error with where the remux stopped.
func checkContext(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("remux %s: %w", what, err)
	}
	return nil
}
