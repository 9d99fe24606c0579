// Package camsim simulates the storage folder of a Hikvision camera that
// records continuously: pre-allocated hivNNNNN.mp4 files written as a ring,
// each holding segments of MPEG-2 program stream video, and the binary index
// index00.bin with its copy index01.bin. Time is simulated, so a test can
// record hours of camera time in a second and go round the ring many times.
//
// The video is an embedded H.264 clip (320x180, 25 fps) looped with
// continuous PTS and SCR. Every segment starts with an IDR frame preceded by
// pack header, system header and program stream map. When a segment closes,
// the next one restarts the clip at its next IDR frame, as a camera forces a
// key frame at a segment start.
//
// The index follows the rules observed on a real camera (index version 2,
// one channel, 55 files, several times round its ring):
//
//   - A segment opens in the next slot of the current hiv file, at the first
//     16 KiB boundary at or after the end of the previous segment. Every
//     closed segment of the real index starts at exactly that offset. It
//     opens at slot 0 of the next file of the ring instead when the current
//     file has no slot left or no room for the first frame.
//   - A file's table entry is written when the camera moves on to the next
//     file: segRecNums is the index of its last slot (not a count), start
//     and end are the seconds of slot 0's start and the last slot's end.
//     Until then the entry keeps its content from the previous cycle, or
//     stays unused (channel 0xFFFF) on the first cycle.
//   - Slots are never cleared when a file is recycled. Slots of earlier
//     cycles stay after the current cycle's last slot.
//   - The header's current-file record with index Channel names the file
//     being written and the slot of its open segment. Then come the start
//     seconds of the file's slot 0 and the end seconds of its newest closed
//     slot (0 if none), then 0 and the channel.
//   - lastFileRecNo is the file being written. nextFileRecNo is the oldest
//     file, the one the camera recycles next. Until the ring has wrapped
//     once, that is file 0: it holds the oldest recording and is recycled
//     after the last file fills. Before the first segment both are 0 and no
//     current-file record is in use.
//   - An open slot holds its start seconds with microseconds 0, end time 0,
//     end offset 0, and key-frame time and 45 kHz stream times copied from
//     the previous closed segment. Closing it writes all times in full. The
//     real index's one open slot looks like this.
//
// The index is written twice per segment boundary, each time to a temporary
// file in Dir that is renamed over index00.bin and then index01.bin, with
// modifyTimes one higher each time. The first write closes the segment: its
// slot gets its end, and the current-file record still names that slot,
// now closed, so for a moment no segment is open. The second write, after
// the first frame of the next segment is on disk, opens the next slot. A
// file's table entry changes with that second write when the camera moves
// on to a new file.
//
// With Config.Channels above 1 the simulator records several channels into
// one storage folder, as an NVR does on a NAS datadir. The channels write
// frame by frame in turn and share the ring: a channel whose file is full
// takes the file after lastFileRecNo, the one any channel started last, so
// lastFileRecNo and nextFileRecNo describe the shared ring. Each channel has
// its own current-file record (record index = channel) and its own file
// being written, and a finished file's table entry names its channel.
//
// A real camera writes the index in place, so a reader can see a torn index.
// The default renames never show one. Config.IndexWrite selects in-place
// writes in chunks, header first or last, to test readers against that.
package camsim

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/hikarchive/hikarchive/internal/camsim/h264"
	"github.com/hikarchive/hikarchive/internal/index"
	"github.com/hikarchive/hikarchive/internal/ps"
)

// Defaults of Config fields left zero.
const (
	DefaultFileSize = 256 << 20 // bytes per hiv file, as on real cameras
	DefaultChannel  = 1
	DefaultVersion  = 2
)

// DefaultStart is the camera clock reading when Config.Start is zero.
var DefaultStart = time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)

// Index file names in the storage folder.
const (
	IndexName     = "index00.bin"
	IndexCopyName = "index01.bin"
)

// Config sets the storage layout and clock of a simulated camera.
type Config struct {
	Dir   string // storage folder; created if missing, must not hold an index yet
	Files int    // number of hiv files in the ring, 1..65535

	// FileSize is the size of each hiv file in bytes, at most 4 GiB - 1
	// because the index stores 32-bit offsets. Default DefaultFileSize.
	FileSize int64

	// SegmentDuration is the camera time after which a segment closes, at
	// least one frame (40 ms). Segments end on frame boundaries, so a
	// duration that is not a multiple of 40 ms is rounded up.
	SegmentDuration time.Duration

	// Start is the camera's wall clock when recording starts. Its clock
	// reading is stored as if it were UTC, whatever its location, as cameras
	// do. Default DefaultStart.
	Start time.Time

	Channel uint16 // 1..48, the current-file record used is this index; default 1
	Version uint32 // index version written to the header, 2 or 3; default 2

	// Channels is the number of channels recorded into this one storage
	// folder, as an NVR records several cameras to one NAS datadir. They are
	// Channel, Channel+1, ... and share the ring of hiv files, each writing
	// its own file. Default 1. Files must exceed Channels.
	Channels int

	// IndexWrite selects how the index files are rewritten. The default
	// IndexAtomic replaces them by rename, so a reader never sees a torn
	// index. The in-place modes write like a camera does.
	IndexWrite IndexWriteMode

	// IndexChunk is the size in bytes of each write of an in-place index
	// write; default 4096. IndexChunkDelay is slept after each chunk, to
	// stretch a write so that readers catch it half done.
	IndexChunk      int
	IndexChunkDelay time.Duration

	// OnIndexWrite, if set, is called before each write of the index with
	// the modifyTimes value being written, the bytes written and the
	// segments as that write shows them (a copy of Record). It is called
	// with the camera's lock held, so it must not call the camera's
	// methods, and must not modify data.
	OnIndexWrite func(modifyTimes uint64, data []byte, records []Recorded)

	// IndexSize is the size of the index files in bytes, zero-padded after
	// the segment table, like the pre-allocated 16 MiB index of a real
	// camera. Default and minimum: index.RegionSize(Files).
	IndexSize int

	// OnSegmentClosed, if set, is called with each segment after its close
	// is in the index. Calls come from the goroutine that runs Advance,
	// after the camera's lock is released, so the function may call Record.
	OnSegmentClosed func(Recorded)

	// Pictures enables event pictures in hivNNNNN.pic files and
	// index00p.bin; see PictureConfig. Off by default.
	Pictures PictureConfig
}

// Camera is a simulated camera. Its methods are safe for concurrent use.
type Camera struct {
	mu     sync.Mutex
	cfg    Config
	wall   time.Time // cfg.Start's clock reading, as UTC
	frames []h264.AccessUnit
	muxer  *ps.Muxer
	table  *index.Table

	elapsed  time.Duration // camera time recorded so far
	ptsBase  uint64        // PTS of frame 0, 90 kHz
	wrapped  bool          // the ring has gone round at least once
	lastFile int           // file any channel started last, -1 before the first

	channels []*channel
	records  []Recorded // every segment ever opened, in order
	pics     *pictures  // nil when Config.Pictures is off
}

// channel is the recording state of one channel.
type channel struct {
	number   uint16
	written  int64       // frames written so far; frame n starts at n*frameInterval
	clipPos  int         // clip frame that comes next in the open segment
	closedAt *index.Slot // newest closed slot, whose key-frame fields an open slot copies
	file     *hivFile    // hiv file being written, nil before the first segment
	open     *segment    // open segment, nil between a close and the next open
}

// hivFile is the state of the hiv file being written.
type hivFile struct {
	number   int
	f        *os.File
	slot     int    // slot of the open or newest closed segment
	dataEnd  int64  // end of the newest segment's data
	infoNext uint32 // info region offset for the next segment, growing down
	closed   int    // number of closed segments of this cycle
}

// New creates the storage folder of cfg with pre-allocated hiv files and an
// empty index, as a freshly formatted card.
func New(cfg Config) (*Camera, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}

	frames, err := loadClip()
	if err != nil {
		return nil, err
	}
	muxer, err := ps.NewMuxer(ps.MuxerConfig{PackStuffing: hikvisionPackStuffing})
	if err != nil {
		return nil, fmt.Errorf("camsim: %w", err)
	}

	c := &Camera{
		cfg:    cfg,
		wall:   wallAsUTC(cfg.Start),
		frames: frames,
		muxer:  muxer,
		table:  index.NewTable(cfg.Version, cfg.Files),

		lastFile: -1,
	}
	for i := range cfg.Channels {
		c.channels = append(c.channels, &channel{number: cfg.Channel + uint16(i)})
	}
	c.ptsBase = uint64(c.wall.UnixNano()/1e5*9) % (ps.MaxTimestamp + 1)

	if err := c.checkFileSize(); err != nil {
		return nil, err
	}
	if err := c.createStorage(); err != nil {
		return nil, err
	}
	if c.pics, err = newPictures(cfg); err != nil {
		return nil, err
	}
	if err := c.writeIndex(); err != nil {
		return nil, err
	}
	return c, nil
}

// withDefaults fills in the defaults of cfg and checks every field.
func withDefaults(cfg Config) (Config, error) {
	if cfg.FileSize == 0 {
		cfg.FileSize = DefaultFileSize
	}
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart
	}
	if cfg.Channel == 0 {
		cfg.Channel = DefaultChannel
	}
	if cfg.Version == 0 {
		cfg.Version = DefaultVersion
	}
	if cfg.IndexSize == 0 {
		cfg.IndexSize = index.RegionSize(cfg.Files)
	}
	if cfg.Channels == 0 {
		cfg.Channels = 1
	}
	if cfg.IndexChunk == 0 {
		cfg.IndexChunk = 4096
	}

	switch {
	case cfg.Dir == "":
		return cfg, errors.New("camsim: Config.Dir is empty; set the storage folder to create")
	case cfg.Files < 1 || cfg.Files > math.MaxUint16:
		return cfg, fmt.Errorf("camsim: Files is %d; use 1..%d", cfg.Files, math.MaxUint16)
	case cfg.FileSize < 0 || cfg.FileSize > math.MaxUint32:
		return cfg, fmt.Errorf("camsim: FileSize %d out of range; the index stores 32-bit offsets, so use at most %d bytes", cfg.FileSize, uint64(math.MaxUint32))
	case cfg.SegmentDuration < frameInterval:
		return cfg, fmt.Errorf("camsim: SegmentDuration %v is shorter than one frame (%v)", cfg.SegmentDuration, frameInterval)
	case cfg.Channel >= index.CurrentRecordCount:
		return cfg, fmt.Errorf("camsim: Channel %d out of range 1..%d: the header has %d current-file records and channel n uses record n",
			cfg.Channel, index.CurrentRecordCount-1, index.CurrentRecordCount)
	case cfg.Channels < 1 || int(cfg.Channel)+cfg.Channels > index.CurrentRecordCount:
		return cfg, fmt.Errorf("camsim: Channels %d from Channel %d goes past channel %d, the last current-file record", cfg.Channels, cfg.Channel, index.CurrentRecordCount-1)
	case cfg.Channels > 1 && cfg.Channels >= cfg.Files:
		return cfg, fmt.Errorf("camsim: Channels %d needs more than %d Files: each channel writes its own file and the ring needs one more to recycle", cfg.Channels, cfg.Files)
	case cfg.IndexChunk < 0:
		return cfg, fmt.Errorf("camsim: IndexChunk %d must be positive", cfg.IndexChunk)
	case !slices.Contains([]IndexWriteMode{IndexAtomic, IndexInPlaceHeaderFirst, IndexInPlaceHeaderLast}, cfg.IndexWrite):
		return cfg, fmt.Errorf("camsim: IndexWrite %q is not one of %q, %q, %q", cfg.IndexWrite, IndexAtomic, IndexInPlaceHeaderFirst, IndexInPlaceHeaderLast)
	case !slices.Contains(index.Versions, cfg.Version):
		return cfg, fmt.Errorf("camsim: index Version %d is not one of %v", cfg.Version, index.Versions)
	case cfg.IndexSize < index.RegionSize(cfg.Files):
		return cfg, fmt.Errorf("camsim: IndexSize %d is below the %d bytes that header, file table and segment table of %d files take",
			cfg.IndexSize, index.RegionSize(cfg.Files), cfg.Files)
	}

	cfg, err := pictureDefaults(cfg)
	if err != nil {
		return cfg, err
	}

	wall := wallAsUTC(cfg.Start).Unix()
	if wall <= 0 || wall > math.MaxUint32 {
		return cfg, fmt.Errorf("camsim: Start %v does not fit the index's 32-bit Unix seconds", cfg.Start)
	}
	return cfg, nil
}

// checkFileSize rejects hiv files too small for a segment of one key frame,
// the largest unit the camera must be able to write at offset 0.
func (c *Camera) checkFileSize() error {
	need := int64(0)
	for i, au := range c.frames {
		if !au.IDR {
			continue
		}
		b, err := c.muxFrame(i, 0)
		if err != nil {
			return err
		}
		need = max(need, int64(len(b))+int64(infoSize(frameInterval)))
	}
	if c.cfg.FileSize < need {
		return fmt.Errorf("camsim: FileSize %d is too small: a segment of one key frame and its info block needs %d bytes", c.cfg.FileSize, need)
	}
	return nil
}

// createStorage creates Dir and pre-allocates the hiv files as sparse files.
func (c *Camera) createStorage() error {
	if err := os.MkdirAll(c.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("camsim: create storage folder: %w", err)
	}
	if _, err := os.Stat(filepath.Join(c.cfg.Dir, IndexName)); err == nil {
		return fmt.Errorf("camsim: %s already contains %s; the simulator starts from an empty card, so remove the folder or choose another",
			c.cfg.Dir, IndexName)
	}

	for i := range c.cfg.Files {
		path := c.hivPath(i)
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("camsim: create hiv file: %w", err)
		}
		err = f.Truncate(c.cfg.FileSize)
		if closeErr := f.Close(); err == nil {
			err = closeErr
		}
		if err != nil {
			return fmt.Errorf("camsim: pre-allocate %s to %d bytes: %w", path, c.cfg.FileSize, err)
		}
	}
	return nil
}

// Dir returns the storage folder.
func (c *Camera) Dir() string { return c.cfg.Dir }

// Config returns the configuration with its defaults filled in.
func (c *Camera) Config() Config { return c.cfg }

// Close closes the hiv file being written. The storage folder stays as it is.
// Advance after Close reopens the file.
func (c *Camera) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()

	var errs []error
	for _, ch := range c.channels {
		if ch.file == nil || ch.file.f == nil {
			continue
		}
		err := ch.file.f.Close()
		ch.file.f = nil
		if err != nil {
			errs = append(errs, fmt.Errorf("camsim: close %s: %w", c.hivPath(ch.file.number), err))
		}
	}
	return errors.Join(errs...)
}

func (c *Camera) hivPath(n int) string {
	return filepath.Join(c.cfg.Dir, index.HivName(uint32(n)))
}

// wallAsUTC returns the clock reading of t as a time in UTC: 19:38 in UTC-3
// becomes 19:38 UTC. index.PackWall needs this, because it converts the
// instant, not the clock reading.
func wallAsUTC(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
