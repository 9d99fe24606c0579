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

// advance writes the frames of every channel up to the target time, frame
// by frame across channels, so that their files fill and recycle in the
// order a camera would fill them.
func (c *Camera) advance(d time.Duration) ([]Recorded, error) {
	target := c.elapsed + d
	var closed []Recorded
	for frameTime(c.channels[0].written) < target {
		for _, ch := range c.channels {
			r, err := c.writeFrame(ch)
			if r != nil {
				closed = append(closed, *r)
			}
			if err != nil {
				return closed, err
			}
		}
	}
	c.elapsed = target
	return closed, nil
}

// writeFrame writes the next frame, opening a segment first if none is open,
// and closes the segment when it is full. It returns the closed segment.
func (c *Camera) writeFrame(ch *channel) (*Recorded, error) {
	if ch.open == nil {
		if err := c.openSegment(ch); err != nil {
			return nil, err
		}
	} else if err := c.appendFrame(ch, ch.open.next); err != nil {
		return nil, err
	}

	full, err := c.segmentFull(ch)
	if err != nil || !full {
		return nil, err
	}
	r, err := c.closeSegment(ch)
	return &r, err
}

// openSegment places a new segment, writes its first frame and then the
// index that shows it open.
func (c *Camera) openSegment(ch *channel) error {
	ch.clipPos = nextIDR(c.frames, ch.clipPos)
	first, err := c.muxFrame(ch.clipPos, ch.written)
	if err != nil {
		return err
	}

	offset, err := c.placeSegment(ch, int64(len(first)))
	if err != nil {
		return err
	}
	file := ch.file
	start := c.wallAt(ch.written)
	ch.open = &segment{
		record:     len(c.records),
		firstFrame: ch.written,
		end:        offset,
		infoStart:  file.infoNext,
		hash:       sha256.New(),
	}
	c.records = append(c.records, Recorded{
		Channel:     ch.number,
		File:        uint32(file.number),
		Slot:        file.slot,
		Start:       index.PackWall(start),
		StartOffset: uint32(offset),
		Open:        true,
	})

	if err := c.appendFrame(ch, first); err != nil {
		return err
	}

	c.table.Slots[file.number][file.slot] = c.openSlot(ch, start, uint32(offset))
	c.table.Header.LastFileRecNo = uint32(c.lastFile)
	c.table.Header.NextFileRecNo = 0
	if c.wrapped {
		c.table.Header.NextFileRecNo = uint32((c.lastFile + 1) % c.cfg.Files)
	}
	c.setCurrentRecord(ch)
	return c.writeIndex()
}

// placeSegment chooses where a segment whose first frame is size bytes goes:
// the next slot of the current file if slot and room are left, else slot 0
// of the next file of the ring. It returns the start offset.
func (c *Camera) placeSegment(ch *channel, size int64) (int64, error) {
	if f := ch.file; f != nil {
		offset := alignUp(f.dataEnd, segmentAlignment)
		room := int64(f.infoNext) - int64(infoSize(frameInterval))
		if f.slot+1 < index.SlotsPerFile && offset+size <= room {
			f.slot++
			return offset, nil
		}
		if err := c.finishFile(ch); err != nil {
			return 0, err
		}
	}

	if err := c.startFile(ch); err != nil {
		return 0, err
	}
	return 0, nil
}

// finishFile writes the file table entry of the current file and closes it.
func (c *Camera) finishFile(ch *channel) error {
	f := ch.file
	slots := &c.table.Slots[f.number]
	c.table.Files[f.number] = index.FileRecord{
		FileNo:     uint32(f.number),
		Channel:    ch.number,
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

// startFile moves the channel to the next file of the ring, the one after
// the file any channel started last, and marks the segments of its earlier
// cycle overwritten. Channels share the ring, so the file must not be one
// that another channel is still writing.
func (c *Camera) startFile(ch *channel) error {
	number := 0
	if c.lastFile >= 0 {
		number = (c.lastFile + 1) % c.cfg.Files
		if number == 0 {
			c.wrapped = true
		}
	}
	for _, other := range c.channels {
		if other != ch && other.file != nil && other.file.number == number {
			return fmt.Errorf("camsim: channel %d needs file %d, which channel %d is still writing: use more files than channels (Files %d, %d channels)",
				ch.number, number, other.number, c.cfg.Files, len(c.channels))
		}
	}

	for i := range c.records {
		if c.records[i].File == uint32(number) {
			c.records[i].Overwritten = true
		}
	}

	c.lastFile = number
	ch.file = &hivFile{number: number, infoNext: uint32(c.cfg.FileSize)}
	return c.openHiv(ch)
}

// openHiv opens the channel's hiv file for writing if it is not open.
func (c *Camera) openHiv(ch *channel) error {
	if ch.file.f != nil {
		return nil
	}
	f, err := os.OpenFile(c.hivPath(ch.file.number), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("camsim: open hiv file for writing: %w", err)
	}
	ch.file.f = f
	return nil
}

// appendFrame writes one frame's program stream bytes at the end of the open
// segment.
func (c *Camera) appendFrame(ch *channel, b []byte) error {
	if err := c.openHiv(ch); err != nil {
		return err
	}
	if _, err := ch.file.f.WriteAt(b, ch.open.end); err != nil {
		return fmt.Errorf("camsim: write frame at offset %d of %s: %w", ch.open.end, c.hivPath(ch.file.number), err)
	}
	ch.open.hash.Write(b)
	ch.open.end += int64(len(b))
	ch.file.dataEnd = ch.open.end
	ch.written++
	ch.clipPos = (ch.clipPos + 1) % len(c.frames)

	r := &c.records[ch.open.record]
	r.Frames++
	r.Size = ch.open.end - int64(r.StartOffset)
	return c.pictureIfDue(ch)
}

// segmentFull reports whether the open segment must close: it has reached
// SegmentDuration, or the next frame and the grown info block would not fit
// below the info region. It keeps the next frame's bytes for appendFrame.
func (c *Camera) segmentFull(ch *channel) (bool, error) {
	duration := frameTime(ch.written - ch.open.firstFrame)
	if duration >= c.cfg.SegmentDuration {
		return true, nil
	}

	next, err := c.muxFrame(ch.clipPos, ch.written)
	if err != nil {
		return false, err
	}
	room := int64(ch.open.infoStart) - int64(infoSize(duration+frameInterval))
	if ch.open.end+int64(len(next)) > room {
		return true, nil
	}
	ch.open.next = next
	return false, nil
}

// closeSegment writes the end of the open segment into its slot and the
// index, and returns what was recorded.
func (c *Camera) closeSegment(ch *channel) (Recorded, error) {
	seg, file := ch.open, ch.file
	start := c.wallAt(seg.firstFrame)
	end := c.wallAt(ch.written)
	infoEnd := seg.infoStart - infoSize(end.Sub(start))

	slot := c.openSlot(ch, start, c.records[seg.record].StartOffset)
	slot.Start = index.PackWall(start)
	slot.End = index.PackWall(end)
	slot.KeyFrame = slot.Start
	slot.KeyFrameStreamTime = streamTime(c.pts(seg.firstFrame))
	slot.LastFrameStreamTime = streamTime(c.pts(ch.written))
	slot.EndOffset = uint32(seg.end)
	slot.InfoStartTime = slot.Start.Seconds()
	slot.InfoEndTime = slot.End.Seconds()
	slot.InfoEndOffset = infoEnd
	c.table.Slots[file.number][file.slot] = slot
	ch.closedAt = &slot

	file.infoNext = infoEnd / infoAlignment * infoAlignment
	file.closed++

	r := &c.records[seg.record]
	r.End = slot.End
	r.EndOffset = slot.EndOffset
	r.SHA256 = hex.EncodeToString(seg.hash.Sum(nil))
	r.Open = false
	ch.open = nil

	c.setCurrentRecord(ch)
	return *r, c.writeIndex()
}
