package index

import (
	"fmt"
)

// HivFileSize is the size of every pre-allocated hiv file seen so far, in
// bytes (256 MiB).
const HivFileSize = 256 << 20

// CheckBounds returns an error matching ErrFormat for the first live segment,
// closed or open, whose byte range does not fit in a hiv file of hivSize
// bytes. Build checks that ranges are non-empty and do not overlap, but not
// where they end, so a corrupt slot can claim up to 4 GiB. Callers pass
// HivFileSize, or the real size of the hiv file when they have it.
func (s *Snapshot) CheckBounds(hivSize int64) error {
	for _, seg := range s.Closed {
		if int64(seg.EndOffset) > hivSize {
			return fmt.Errorf("%s: segment %s claims bytes [%d, %d) of %s, past the end of a %d-byte hiv file; the index is corrupt or from an unknown firmware: %w",
				s.File, seg.Key(), seg.StartOffset, seg.EndOffset, seg.HivName(), hivSize, ErrFormat)
		}
	}

	if s.Open != nil && int64(s.Open.StartOffset) >= hivSize {
		return fmt.Errorf("%s: open segment %s starts at byte %d of %s, past the end of a %d-byte hiv file; the index is corrupt or from an unknown firmware: %w",
			s.File, s.Open.Key(), s.Open.StartOffset, s.Open.HivName(), hivSize, ErrFormat)
	}
	return nil
}
