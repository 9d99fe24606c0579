// Package thumbnail makes JPEG thumbnails from MPEG-2 Program Stream bytes,
// the format of Hikvision hiv files, by running ffmpeg.
package thumbnail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"strconv"
	"time"
)

// ErrUnavailable is returned, wrapped, when the ffmpeg executable cannot be
// found, so that callers can record why a segment has no thumbnail.
var ErrUnavailable = errors.New("ffmpeg not found in PATH: install it (Debian/Ubuntu: apt-get install ffmpeg, Alpine: apk add ffmpeg, macOS: brew install ffmpeg) or configure the full path of the executable")

// ErrNoFrame is returned, wrapped, when ffmpeg ran but decoded no video
// frame from the input.
var ErrNoFrame = errors.New("no decodable video frame in the input")

const (
	// DefaultMaxInput is the number of input bytes fed to ffmpeg when
	// Options.MaxInput is 0. It holds about 8 s of video at 8 Mbit/s and
	// 33 s at 2 Mbit/s (an estimate of camera main-stream bitrates), longer
	// than the usual key frame interval of a few seconds.
	DefaultMaxInput = 8 << 20

	// MaxOutput bounds the JPEG read back from ffmpeg. The worst case
	// measured with ffmpeg 5.1, a 4096x2304 frame of pure noise at the
	// quality used here, was 9 MB. Camera frames compress far better.
	MaxOutput = 16 << 20

	// DefaultTimeout limits an ffmpeg run when ctx has no deadline, so a
	// stuck process cannot hold an archiver worker forever.
	DefaultTimeout = time.Minute

	// jpegQuality is ffmpeg's -q:v for mjpeg: 2 (best) to 31 (worst).
	jpegQuality = 3
)

// jpegMagic starts every JPEG file: the SOI marker and the next marker's 0xFF.
var jpegMagic = []byte{0xff, 0xd8, 0xff}

// Options configure Extract.
type Options struct {
	// FFmpeg is the executable: a name looked up in PATH, or a path.
	// Empty means "ffmpeg".
	FFmpeg string

	// Width is the thumbnail width in pixels, at least 1. The height
	// follows the display aspect ratio (pixel aspect included), rounded
	// down to an even number.
	Width int

	// MaxInput is the number of bytes read from the input and fed to
	// ffmpeg. The rest of the input is not read. 0 means DefaultMaxInput.
	MaxInput int64
}

// Extract reads up to opts.MaxInput bytes of an MPEG-2 Program Stream from
// r and returns a JPEG of its first key frame, scaled to opts.Width. If that
// part of the stream has no key frame, it returns the first frame ffmpeg can
// decode at all (streams with intra refresh have no key frames after the
// first). The result starts with the JPEG marker bytes ff d8 ff.
//
// The ffmpeg run stops when ctx ends, or after DefaultTimeout if ctx has no
// deadline. Errors wrap ErrUnavailable when ffmpeg is missing, ErrNoFrame
// when nothing could be decoded, ctx.Err() on timeout or cancellation, and
// otherwise include the last lines ffmpeg wrote to stderr.
func Extract(ctx context.Context, opts Options, r io.Reader) ([]byte, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}

	executable, err := findFFmpeg(opts.FFmpeg)
	if err != nil {
		return nil, err
	}

	input, err := io.ReadAll(io.LimitReader(r, opts.MaxInput))
	if err != nil {
		return nil, fmt.Errorf("thumbnail: read input: %w", err)
	}
	if len(input) == 0 {
		return nil, fmt.Errorf("thumbnail: the input is empty: %w", ErrNoFrame)
	}

	if _, hasDeadline := ctx.Deadline(); !hasDeadline {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}

	image, err := runFFmpeg(ctx, executable, ffmpegArgs(opts.Width, true), input)
	if err == nil && len(image) == 0 {
		image, err = runFFmpeg(ctx, executable, ffmpegArgs(opts.Width, false), input)
	}
	if err != nil {
		return nil, err
	}

	if len(image) == 0 {
		return nil, fmt.Errorf("thumbnail: ffmpeg wrote no image from %d input bytes: %w", len(input), ErrNoFrame)
	}
	if !bytes.HasPrefix(image, jpegMagic) {
		return nil, fmt.Errorf("thumbnail: ffmpeg output of %d bytes is not a JPEG (starts with % x)", len(image), image[:min(len(image), 4)])
	}

	return image, nil
}

func (opts Options) withDefaults() (Options, error) {
	if opts.FFmpeg == "" {
		opts.FFmpeg = "ffmpeg"
	}

	if opts.Width < 1 {
		return opts, fmt.Errorf("thumbnail: invalid width %d: use a width of at least 1 pixel", opts.Width)
	}

	switch {
	case opts.MaxInput == 0:
		opts.MaxInput = DefaultMaxInput
	case opts.MaxInput < 0:
		return opts, fmt.Errorf("thumbnail: invalid MaxInput %d: use a positive number of bytes, or 0 for %d", opts.MaxInput, DefaultMaxInput)
	}

	return opts, nil
}

// findFFmpeg resolves name the way exec.Command would, and wraps
// ErrUnavailable when there is no such executable.
func findFFmpeg(name string) (string, error) {
	executable, err := exec.LookPath(name)
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("thumbnail: %w (looked for %q)", ErrUnavailable, name)
	}
	if err != nil {
		return "", fmt.Errorf("thumbnail: cannot run ffmpeg %q: %w; check that it is an executable file", name, err)
	}

	return executable, nil
}

// ffmpegArgs builds the command line that reads a Program Stream on stdin
// and writes one JPEG to stdout. With keyFramesOnly the decoder skips every
// frame that is not a key frame, so the first frame out is the first key
// frame and the frames before it are not decoded.
func ffmpegArgs(width int, keyFramesOnly bool) []string {
	args := []string{
		"-hide_banner", "-nostdin", "-loglevel", "error",
		// One decoder thread per run: the archiver runs several at once.
		"-threads", "1",
		"-f", "mpeg",
	}
	if keyFramesOnly {
		args = append(args, "-skip_frame", "nokey")
	}

	// ow/dar is the height that keeps the display aspect ratio, which
	// differs from width/height when pixels are not square (such as
	// 704x576 with a 12:11 sample aspect ratio). Rounding down to even
	// keeps the frame valid for 4:2:0 chroma.
	scale := "scale=" + strconv.Itoa(width) + ":trunc(ow/dar/2)*2,setsar=1"

	return append(args,
		"-i", "pipe:0",
		"-map", "0:v:0",
		"-frames:v", "1",
		"-vf", scale,
		"-c:v", "mjpeg", "-q:v", strconv.Itoa(jpegQuality),
		"-f", "image2pipe", "pipe:1",
	)
}

// runFFmpeg runs ffmpeg with input on stdin and returns what it wrote to
// stdout.
func runFFmpeg(ctx context.Context, executable string, args []string, input []byte) ([]byte, error) {
	stdout := &cappedBuffer{max: MaxOutput}
	stderr := &tailBuffer{}

	cmd := exec.CommandContext(ctx, executable, args...)
	cmd.Stdin = bytes.NewReader(input)
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = ownProcessGroup()
	// Wait returns this long after the kill even if a child process still
	// holds the pipes open.
	cmd.WaitDelay = 5 * time.Second

	err := cmd.Run()

	if ctxErr := ctx.Err(); err != nil && ctxErr != nil {
		return nil, fmt.Errorf("thumbnail: ffmpeg stopped: %w", ctxErr)
	}
	if stdout.exceeded {
		return nil, fmt.Errorf("thumbnail: ffmpeg output exceeds %d bytes; use a smaller width", MaxOutput)
	}
	if err != nil {
		return nil, fmt.Errorf("thumbnail: ffmpeg failed (%w) on %d input bytes; is it an MPEG-2 Program Stream with video? ffmpeg wrote: %s", err, len(input), stderr.lastLines())
	}

	return stdout.buf.Bytes(), nil
}
