package archiver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/rs/zerolog"

	"github.com/hikarchive/hikarchive/internal/archive"
	"github.com/hikarchive/hikarchive/internal/index"
	"github.com/hikarchive/hikarchive/internal/objectstore"
	"github.com/hikarchive/hikarchive/internal/remux"
)

// Clip formats.
const (
	ClipMP4 = "mp4"
	ClipPS  = "ps"
)

// clipInfo describes an uploaded clip and the segment bytes it came from.
type clipInfo struct {
	key          string
	format       string // "mp4" or "mpeg-ps"
	size         int64
	sha256       string
	sourceSize   int64
	sourceSHA256 string
	original     string // key of the original Program Stream kept beside an MP4
	remuxError   string // reason the clip is the original although MP4 was configured
	stream       *archive.Stream
}

// remuxError marks a failure of the remuxer itself, as opposed to the store:
// the segment is then archived as its original Program Stream.
type remuxError struct{ err error }

func (e *remuxError) Error() string { return e.err.Error() }
func (e *remuxError) Unwrap() error { return e.err }

// errUploadStopped ends the remuxer's writes when the upload stopped first.
var errUploadStopped = errors.New("upload stopped")

// uploadClip stores the segment as the configured clip format. When the
// remux to MP4 fails, it stores the original Program Stream instead and
// records why, so a segment is never lost to the remuxer.
func (w *worker) uploadClip(ctx context.Context, hiv *os.File, live index.Segment, keys archive.Keys, log zerolog.Logger) (clipInfo, error) {
	opts := w.archiver.opts
	if opts.Clip == ClipPS {
		return w.uploadOriginal(ctx, hiv, live, keys.Original)
	}

	clip, err := w.uploadMP4(ctx, hiv, live, keys.MP4)
	var failed *remuxError
	if errors.As(err, &failed) {
		log.Warn().Err(err).Msg("remux to MP4 failed; archiving the original Program Stream instead")
		original, err := w.uploadOriginal(ctx, hiv, live, keys.Original)
		original.remuxError = failed.Error()
		return original, err
	}
	if err != nil {
		return clipInfo{}, err
	}

	if opts.KeepOriginal {
		original, err := w.uploadOriginal(ctx, hiv, live, keys.Original)
		if err != nil {
			return clipInfo{}, fmt.Errorf("upload original %s: %w", keys.Original, err)
		}
		clip.original = original.key
		clip.sourceSHA256 = original.sha256
		return clip, nil
	}

	clip.sourceSHA256, err = hashSegment(ctx, hiv, live)
	return clip, err
}

// uploadOriginal streams the segment's bytes into the store, hashing them on
// the way. The reader handed to the store is a plain io.Reader, so the
// store uploads it in sequential parts with bounded memory.
func (w *worker) uploadOriginal(ctx context.Context, hiv *os.File, live index.Segment, key string) (clipInfo, error) {
	hash := sha256.New()
	source := io.TeeReader(w.paced(ctx, segmentReader(hiv, live)), hash)

	if _, err := w.archiver.opts.Store.Put(ctx, key, source, live.Size(), objectstore.PutOptions{ContentType: archive.PSContentType}); err != nil {
		return clipInfo{}, err
	}

	digest := hex.EncodeToString(hash.Sum(nil))
	return clipInfo{
		key:          key,
		format:       "mpeg-ps",
		size:         live.Size(),
		sha256:       digest,
		sourceSize:   live.Size(),
		sourceSHA256: digest,
	}, nil
}

// uploadMP4 remuxes the segment to MP4 while it uploads it. The remuxer
// reads the segment twice (once to index samples, once to copy them), and
// the MP4's size is known after the first pass, so the upload streams with
// bounded memory whatever the segment's size.
func (w *worker) uploadMP4(ctx context.Context, hiv *os.File, live index.Segment, key string) (clipInfo, error) {
	source := segmentReader(hiv, live)
	plan, err := remux.Prepare(ctx, source, live.Size(), remux.Options{})
	if err != nil {
		if ctx.Err() != nil {
			return clipInfo{}, ctx.Err()
		}
		return clipInfo{}, &remuxError{err}
	}

	hash := sha256.New()
	reader, writer := io.Pipe()
	written := make(chan error, 1)
	go func() {
		_, err := plan.WriteTo(ctx, io.MultiWriter(writer, hash))
		writer.CloseWithError(err)
		written <- err
	}()

	_, putErr := w.archiver.opts.Store.Put(ctx, key, w.paced(ctx, reader), plan.Size(), objectstore.PutOptions{ContentType: archive.MP4ContentType})
	reader.CloseWithError(errUploadStopped)
	writeErr := <-written

	if writeErr != nil && !errors.Is(writeErr, errUploadStopped) && ctx.Err() == nil {
		return clipInfo{}, &remuxError{writeErr}
	}
	if putErr != nil {
		return clipInfo{}, putErr
	}

	info := plan.Info()
	return clipInfo{
		key:        key,
		format:     "mp4",
		size:       plan.Size(),
		sha256:     hex.EncodeToString(hash.Sum(nil)),
		sourceSize: live.Size(),
		stream: &archive.Stream{
			VideoCodec:      info.VideoCodec,
			Profile:         info.Profile,
			Width:           info.Width,
			Height:          info.Height,
			FrameRate:       info.FrameRate,
			Frames:          info.Frames,
			AudioCodec:      info.AudioCodec,
			AudioFormat:     info.AudioFormat,
			AudioSkipped:    info.AudioSkip,
			DurationSeconds: info.Duration.Seconds(),
			DroppedFrames:   info.DroppedFrames,
		},
	}, nil
}

// paced applies the upload rate limit, if one is set, to r.
func (w *worker) paced(ctx context.Context, r io.Reader) io.Reader {
	if limiter := w.archiver.limiter; limiter != nil {
		return &limitedReader{ctx: ctx, r: r, limiter: limiter}
	}
	return r
}

func segmentReader(hiv *os.File, live index.Segment) *io.SectionReader {
	return io.NewSectionReader(hiv, int64(live.StartOffset), live.Size())
}

// hashSegment returns the SHA-256 of the segment's bytes in the hiv file.
func hashSegment(ctx context.Context, hiv *os.File, live index.Segment) (string, error) {
	hash := sha256.New()
	if _, err := io.Copy(hash, &contextReader{ctx: ctx, r: segmentReader(hiv, live)}); err != nil {
		return "", fmt.Errorf("hash segment bytes: %w", err)
	}
	return hex.EncodeToString(hash.Sum(nil)), nil
}

// contextReader stops a long read when its context ends.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
