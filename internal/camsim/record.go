package camsim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"time"

	"github.com/hikarchive/hikarchive/internal/index"
)

// Layout constants observed in the real index, see the package comment.
const (
	// segmentAlignment is the boundary each segment's start offset is
	// rounded up to. It is a multiple of 512, the disk sector size.
	segmentAlignment = 16 << 10

	// infoAlignment is the boundary each segment's info block starts below:
	// the next block starts at the previous block's end rounded down to it.
	infoAlignment = 512

	// hikvisionPackStuffing is the pack header stuffing length that
	// published Hikvision stream dumps show.
	hikvisionPackStuffing = 6
)

// Recorded describes one segment the camera wrote, for tests to compare
// with what an archiver copied.
type Recorded struct {
	Channel uint16
	File    uint32 // hiv file number, see index.HivName
	Slot    int    // slot of the segment in File's part of the segment table

	// Start is the camera clock at the first frame, End at the end of the
	// last frame (zero while open). While the segment is open its index
	// slot holds Start without microseconds.
	Start index.PackedTime
	End   index.PackedTime

	StartOffset uint32 // byte offset in the hiv file
	EndOffset   uint32 // exclusive end offset; zero while open
	Size        int64  // bytes written from StartOffset; EndOffset-StartOffset once closed
	Frames      int

	// SHA256 is the hex SHA-256 of the Size bytes from StartOffset, as
	// written. Once Overwritten is set the file no longer holds them.
	SHA256 string

	Open bool // the segment is still being recorded

	// Overwritten is set for every segment of a file's earlier cycle once
	// the camera starts writing that file again.
	Overwritten bool
}

// segment is the state of the open segment.
type segment struct {
	record     int // index in Camera.records
	firstFrame int64
	end        int64 // write offset: StartOffset plus bytes written
	infoStart  uint32
	hash       hash.Hash
	next       []byte // program stream bytes of the frame that comes next
}

// Advance records d of camera time: it writes every frame that starts before
// the new camera time, closing and opening segments and recycling files as
// a camera does. After an error the storage folder may be inconsistent and
// the camera should not be used further.
func (c *Camera) Advance(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("camsim: Advance(%v): camera time cannot go backwards", d)
	}

	c.mu.Lock()
	closed, err := c.advance(d)
	c.mu.Unlock()

	if c.cfg.OnSegmentClosed != nil {
		for _, r := range closed {
			c.cfg.OnSegmentClosed(r)
		}
	}
	return err
}

func (c *Camera) advance(d time.Duration) ([]Recorded, error) {
	target := c.elapsed + d
	var closed []Recorded
	for frameTime(c.written) < target {
		r, err := c.writeFrame()
		if r != nil {
			closed = append(closed, *r)
		}
		if err != nil {
			return closed, err
		}
	}
	c.elapsed = target
	return closed, nil
}

// writeFrame writes the next frame, opening a segment first if none is open,
// and closes the segment when it is full. It returns the closed segment.
func (c *Camera) writeFrame() (*Recorded, error) {
	if c.open == nil {
		if err := c.openSegment(); err != nil {
			return nil, err
		}
	} else if err := c.appendFrame(c.open.next); err != nil {
		return nil, err
	}

	full, err := c.segmentFull()
	if err != nil || !full {
		return nil, err
	}
	r, err := c.closeSegment()
	return &r, err
}

// openSegment places a new segment, writes its first frame and then the
// index that shows it open.
func (c *Camera) openSegment() error {
	c.clipPos = nextIDR(c.frames, c.clipPos)
	first, err := c.muxFrame(c.clipPos, c.written)
	if err != nil {
		return err
	}

	offset, err := c.placeSegment(int64(len(first)))
	if err != nil {
		return err
	}
	file := c.file
	start := c.wallAt(c.written)
	c.open = &segment{
		record:     len(c.records),
		firstFrame: c.written,
		end:        offset,
		infoStart:  file.infoNext,
		hash:       sha256.New(),
	}
	c.records = append(c.records, Recorded{
		Channel:     c.cfg.Channel,
		File:        uint32(file.number),
		Slot:        file.slot,
		Start:       index.PackWall(start),
		StartOffset: uint32(offset),
		Open:        true,
	})

	if err := c.appendFrame(first); err != nil {
		return err
	}

	c.table.Slots[file.number][file.slot] = c.openSlot(start, uint32(offset))
	c.table.Header.LastFileRecNo = uint32(file.number)
	c.table.Header.NextFileRecNo = 0
	if c.wrapped {
		c.table.Header.NextFileRecNo = uint32((file.number + 1) % c.cfg.Files)
	}
	c.setCurrentRecord()
	return c.writeIndex()
}

// placeSegment chooses where a segment whose first frame is size bytes goes:
// the next slot of the current file if slot and room are left, else slot 0
// of the next file of the ring. It returns the start offset.
func (c *Camera) placeSegment(size int64) (int64, error) {
	if f := c.file; f != nil {
		offset := alignUp(f.dataEnd, segmentAlignment)
		room := int64(f.infoNext) - int64(infoSize(frameInterval))
		if f.slot+1 < index.SlotsPerFile && offset+size <= room {
			f.slot++
			return offset, nil
		}
		if err := c.finishFile(); err != nil {
			return 0, err
		}
	}

	if err := c.startFile(); err != nil {
		return 0, err
	}
	return 0, nil
}

// finishFile writes the file table entry of the current file and closes it.
func (c *Camera) finishFile() error {
	f := c.file
	slots := &c.table.Slots[f.number]
	c.table.Files[f.number] = index.FileRecord{
		FileNo:     uint32(f.number),
		Channel:    c.cfg.Channel,
		SegRecNums: uint16(f.slot),
		StartTime:  slots[0].Start.Seconds(),
		EndTime:    slots[f.slot].End.Seconds(),
		InfoTypes:  fileInfoTypes,
	}

	if f.f == nil {
		return nil
	}
	err := f.f.Close()
	f.f = nil
	if err != nil {
		return fmt.Errorf("camsim: close %s: %w", c.hivPath(f.number), err)
	}
	return nil
}

// startFile moves to the next file of the ring and marks the segments of its
// earlier cycle overwritten.
func (c *Camera) startFile() error {
	number := 0
	if c.file != nil {
		number = (c.file.number + 1) % c.cfg.Files
		if number == 0 {
			c.wrapped = true
		}
	}

	for i := range c.records {
		if c.records[i].File == uint32(number) {
			c.records[i].Overwritten = true
		}
	}

	c.file = &hivFile{number: number, infoNext: uint32(c.cfg.FileSize)}
	return c.openHiv()
}

// openHiv opens the current hiv file for writing if it is not open.
func (c *Camera) openHiv() error {
	if c.file.f != nil {
		return nil
	}
	f, err := os.OpenFile(c.hivPath(c.file.number), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("camsim: open hiv file for writing: %w", err)
	}
	c.file.f = f
	return nil
}

// appendFrame writes one frame's program stream bytes at the end of the open
// segment.
func (c *Camera) appendFrame(b []byte) error {
	if err := c.openHiv(); err != nil {
		return err
	}
	if _, err := c.file.f.WriteAt(b, c.open.end); err != nil {
		return fmt.Errorf("camsim: write frame at offset %d of %s: %w", c.open.end, c.hivPath(c.file.number), err)
	}
	c.open.hash.Write(b)
	c.open.end += int64(len(b))
	c.file.dataEnd = c.open.end
	c.written++
	c.clipPos = (c.clipPos + 1) % len(c.frames)

	r := &c.records[c.open.record]
	r.Frames++
	r.Size = c.open.end - int64(r.StartOffset)
	return nil
}

// segmentFull reports whether the open segment must close: it has reached
// SegmentDuration, or the next frame and the grown info block would not fit
// below the info region. It keeps the next frame's bytes for appendFrame.
func (c *Camera) segmentFull() (bool, error) {
	duration := frameTime(c.written - c.open.firstFrame)
	if duration >= c.cfg.SegmentDuration {
		return true, nil
	}

	next, err := c.muxFrame(c.clipPos, c.written)
	if err != nil {
		return false, err
	}
	room := int64(c.open.infoStart) - int64(infoSize(duration+frameInterval))
	if c.open.end+int64(len(next)) > room {
		return true, nil
	}
	c.open.next = next
	return false, nil
}

// closeSegment writes the end of the open segment into its slot and the
// index, and returns what was recorded.
func (c *Camera) closeSegment() (Recorded, error) {
	seg, file := c.open, c.file
	start := c.wallAt(seg.firstFrame)
	end := c.wallAt(c.written)
	infoEnd := seg.infoStart - infoSize(end.Sub(start))

	slot := c.openSlot(start, c.records[seg.record].StartOffset)
	slot.Start = index.PackWall(start)
	slot.End = index.PackWall(end)
	slot.KeyFrame = slot.Start
	slot.KeyFrameStreamTime = streamTime(c.pts(seg.firstFrame))
	slot.LastFrameStreamTime = streamTime(c.pts(c.written))
	slot.EndOffset = uint32(seg.end)
	slot.InfoStartTime = slot.Start.Seconds()
	slot.InfoEndTime = slot.End.Seconds()
	slot.InfoEndOffset = infoEnd
	c.table.Slots[file.number][file.slot] = slot
	c.closedAt = &slot

	file.infoNext = infoEnd / infoAlignment * infoAlignment
	file.closed++

	r := &c.records[seg.record]
	r.End = slot.End
	r.EndOffset = slot.EndOffset
	r.SHA256 = hex.EncodeToString(seg.hash.Sum(nil))
	r.Open = false
	c.open = nil

	c.setCurrentRecord()
	return *r, c.writeIndex()
}
