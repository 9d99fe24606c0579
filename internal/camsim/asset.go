package camsim

import (
	_ "embed"
	"fmt"
	"sync"
	"time"

	"github.com/hikarchive/hikarchive/internal/camsim/h264"
)

// The clip is made by scripts/gen-sim-video.sh: 2 s of the ffmpeg testsrc2
// pattern, 320x180, H.264 main profile, an IDR frame with SPS and PPS every
// 25 frames, no B-frames, Annex B.
//
//go:embed assets/testsrc2-320x180-25fps.h264
var clip []byte

// Timing of the clip. The Annex B stream carries no frame rate that the
// simulator reads, so these must match the testsrc2 options of the script.
const (
	clipFrameRate = 25
	frameInterval = time.Second / clipFrameRate
	ticksPerFrame = 90000 / clipFrameRate // PTS ticks (90 kHz) per frame
	clipWidth     = 320
	clipHeight    = 180
)

var (
	clipOnce   sync.Once
	clipFrames []h264.AccessUnit
	clipErr    error
)

// loadClip splits the embedded clip into access units once. The result must
// start with an IDR frame, because the simulator loops it and restarts
// segments at IDR frames.
func loadClip() ([]h264.AccessUnit, error) {
	clipOnce.Do(func() {
		units, err := h264.SplitAccessUnits(clip)
		if err != nil {
			clipErr = fmt.Errorf("embedded clip: %w; regenerate it with scripts/gen-sim-video.sh", err)
			return
		}
		if len(units) == 0 || !units[0].IDR {
			clipErr = fmt.Errorf("embedded clip: the first of %d frames is not an IDR frame; regenerate it with scripts/gen-sim-video.sh", len(units))
			return
		}
		clipFrames = units
	})
	return clipFrames, clipErr
}

// nextIDR returns the index of the first IDR frame at or after pos, going
// round the loop. The first frame is an IDR frame, so one always exists.
func nextIDR(frames []h264.AccessUnit, pos int) int {
	for i := range frames {
		j := (pos + i) % len(frames)
		if frames[j].IDR {
			return j
		}
	}
	return 0
}
