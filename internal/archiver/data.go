package archiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/time/rate"

	"github.com/hikarchive/hikarchive/internal/index"
	"github.com/hikarchive/hikarchive/internal/pipeline"
	"github.com/hikarchive/hikarchive/internal/ps"
)

// headerSearchWindow is how far into a segment a pack header is looked for.
// Some firmware writes a proprietary header of a few KB before the first
// pack; 64 KiB leaves room for that with margin.
const headerSearchWindow = 64 << 10

// checkSegmentData checks that the segment's byte range lies inside the hiv
// file and that its data is an MPEG-2 Program Stream. Anything else means
// the camera wrote other data there, so the segment is reported lost.
func checkSegmentData(hiv *os.File, hivPath string, live index.Segment) (result, bool) {
	info, err := hiv.Stat()
	if err != nil {
		return retry(fmt.Errorf("stat hiv file %s: %w", hivPath, err)), false
	}
	if int64(live.EndOffset) > info.Size() {
		return lost(pipeline.ReasonInvalidRange,
			"segment %s claims bytes [%d, %d) but hiv file %s has only %d bytes", live.Key(), live.StartOffset, live.EndOffset, hivPath, info.Size()), false
	}

	head := make([]byte, min(live.Size(), headerSearchWindow))
	if _, err := hiv.ReadAt(head, int64(live.StartOffset)); err != nil && !errors.Is(err, io.EOF) {
		return retry(fmt.Errorf("read hiv file %s at byte %d: %w", hivPath, live.StartOffset, err)), false
	}

	if _, err := findPackHeader(head); err != nil {
		return lost(pipeline.ReasonNotProgramStream,
			"segment %s at byte %d of %s is not an MPEG-2 Program Stream (%v): the camera has overwritten it", live.Key(), live.StartOffset, hivPath, err), false
	}
	return result{}, true
}

// findPackHeader returns the offset of the first valid pack header in b that
// is followed by a system header, skipping a vendor header before it.
func findPackHeader(b []byte) (int, error) {
	first := ps.CheckPackHeader(b)
	if first == nil {
		return 0, nil
	}

	startCode := []byte{0x00, 0x00, 0x01, 0xBA}
	for offset := 1; offset < len(b); {
		next := bytes.Index(b[offset:], startCode)
		if next < 0 {
			break
		}
		offset += next
		if ps.CheckPackHeader(b[offset:]) == nil {
			return offset, nil
		}
		offset++
	}
	return 0, first
}

// limitedReader paces reads to a rate limiter, for uploads over a thin link.
type limitedReader struct {
	ctx     context.Context
	r       io.Reader
	limiter *rate.Limiter
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if burst := l.limiter.Burst(); len(p) > burst {
		p = p[:burst]
	}

	n, err := l.r.Read(p)
	if n > 0 {
		if waitErr := l.limiter.WaitN(l.ctx, n); waitErr != nil {
			return n, waitErr
		}
	}
	return n, err
}
