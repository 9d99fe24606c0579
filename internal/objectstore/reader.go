package objectstore

import (
	"context"
	"fmt"
	"io"
)

// putReader wraps the reader given to Put. It stops on context
// cancellation and counts bytes. When the size is known, it fails with
// ErrSizeMismatch on a short or long input before it hands on the last
// byte, so that the store aborts the write instead of committing it.
//
// It also hides io.ReaderAt and io.Seeker of the wrapped reader on purpose:
// minio-go reads an io.ReaderAt from offset 0 regardless of its current
// position, with several concurrent workers, and the S3 implementation
// relies on the single-buffer path for plain readers (see s3.go).
type putReader struct {
	ctx  context.Context
	r    io.Reader
	key  string
	size int64 // expected bytes, or -1 if unknown
	read int64 // bytes returned so far
}

func newPutReader(ctx context.Context, key string, r io.Reader, size int64) *putReader {
	return &putReader{ctx: ctx, r: r, key: key, size: size}
}

func (p *putReader) Read(buf []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	if p.size >= 0 && p.read == p.size {
		return 0, p.checkDrained()
	}
	if p.size >= 0 && int64(len(buf)) > p.size-p.read {
		buf = buf[:p.size-p.read]
	}

	n, err := p.r.Read(buf)
	p.read += int64(n)
	if p.size < 0 {
		return n, err
	}

	if err == io.EOF && p.read < p.size {
		return 0, p.mismatch(fmt.Sprintf("reader ended after %d of %d bytes", p.read, p.size))
	}
	if err != nil && err != io.EOF {
		return n, err
	}

	// Check for extra input before the final bytes go out, because a store
	// may commit the object as soon as it has size bytes. A mismatch returns
	// 0 bytes with the error: minio-go's readFull drops an error that comes
	// with a full buffer.
	if p.read == p.size {
		if drainErr := p.checkDrained(); drainErr != io.EOF {
			return 0, drainErr
		}
		return n, io.EOF
	}
	return n, nil
}

// checkDrained returns io.EOF when the wrapped reader has no more bytes,
// or ErrSizeMismatch when it has.
func (p *putReader) checkDrained() error {
	var probe [1]byte
	for range maxEmptyReads {
		n, err := p.r.Read(probe[:])
		if n > 0 {
			return p.mismatch(fmt.Sprintf("reader has more than the expected %d bytes", p.size))
		}
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// maxEmptyReads bounds the (0, nil) results tolerated from a reader, the
// same limit that bufio uses.
const maxEmptyReads = 100

func (p *putReader) mismatch(reason string) error {
	return fmt.Errorf("put %q: %w: %s", p.key, ErrSizeMismatch, reason)
}
