package camsim

import (
	"fmt"
	"time"

	"github.com/hikarchive/hikarchive/internal/ps"
)

// muxFrame returns clip frame pos as the program stream bytes of frame n.
func (c *Camera) muxFrame(pos int, n int64) ([]byte, error) {
	pts := c.pts(n)
	au := c.frames[pos]
	b, err := c.muxer.AppendFrame(nil, ps.Frame{Data: au.Data, PTS: pts, DTS: pts, SCR: pts, Key: au.IDR})
	if err != nil {
		return nil, fmt.Errorf("camsim: mux clip frame %d: %w", pos, err)
	}
	return b, nil
}

// pts returns the PTS of frame n: the camera clock on the 90 kHz PS clock,
// modulo 2^33 like every PTS.
func (c *Camera) pts(n int64) uint64 {
	return (c.ptsBase + uint64(n)*ticksPerFrame) % (ps.MaxTimestamp + 1)
}

// wallAt returns the camera clock reading at the start of frame n.
func (c *Camera) wallAt(n int64) time.Time {
	return c.wall.Add(frameTime(n))
}

// frameTime returns the camera time from the start of recording to frame n.
func frameTime(n int64) time.Duration {
	return time.Duration(n) * frameInterval
}

// streamTime converts a 90 kHz PTS to the 45 kHz stream time of the index.
// The real index's stream times tick at 45 kHz; halving the 33-bit PTS gives
// exactly 32 bits.
func streamTime(pts uint64) uint32 {
	return uint32(pts >> 1)
}

// infoSize estimates the bytes of the info block of a segment of duration d.
// In the real index every block is a multiple of 56 bytes, and a linear fit
// over its closed segments gives about 150 bytes plus 31 bytes per second.
// The estimate here is 3 records plus one per started 2 s. The content of
// the blocks is unknown, so the simulator reserves their space in the hiv
// file but writes nothing there.
func infoSize(d time.Duration) uint32 {
	records := 3 + (d+2*time.Second-1)/(2*time.Second)
	return uint32(56 * records)
}

func alignUp(n, to int64) int64 {
	return (n + to - 1) / to * to
}
