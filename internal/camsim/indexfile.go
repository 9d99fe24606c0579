package camsim

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hikarchive/hikarchive/internal/index"
)

// Slot field values that every slot of the real index holds. Their meaning
// is unknown; the simulator copies them so that its slots look the same.
const (
	slotType       = 13
	slotReserved2  = 389
	slotResolution = 0x62
	slotReserved48 = 0x04010005
	slotInfoTypes  = 1
	fileInfoTypes  = 1
)

// openSlot returns the slot of a segment that has just opened. Like the real
// camera it copies key-frame time and stream times from the newest closed
// segment and leaves the microseconds of its start at 0.
func (c *Camera) openSlot(ch *channel, start time.Time, offset uint32) index.Slot {
	s := index.Slot{
		Type:            slotType,
		Reserved2:       slotReserved2,
		Resolution:      slotResolution,
		Start:           index.PackTime(uint32(start.Unix()), 0),
		StartOffset:     offset,
		Reserved48:      slotReserved48,
		InfoTypes:       slotInfoTypes,
		InfoStartOffset: ch.file.infoNext,
		InfoEndOffset:   ch.file.infoNext,
	}
	if ch.closedAt != nil {
		s.KeyFrame = ch.closedAt.KeyFrame
		s.KeyFrameStreamTime = ch.closedAt.KeyFrameStreamTime
		s.LastFrameStreamTime = ch.closedAt.LastFrameStreamTime
	}
	return s
}

// setCurrentRecord writes the header's current-file record of the channel.
func (c *Camera) setCurrentRecord(ch *channel) {
	f := ch.file
	slots := &c.table.Slots[f.number]
	rec := index.CurrentFile{
		Used:      true,
		FileNo:    uint16(f.number),
		Slot:      uint16(f.slot),
		StartTime: slots[0].Start.Seconds(),
		Channel:   uint32(ch.number),
	}
	if f.closed > 0 {
		newest := f.slot
		if ch.open != nil {
			newest--
		}
		rec.LastClosedTime = slots[newest].End.Seconds()
	}
	c.table.Header.Current[ch.number] = rec
}

// IndexWriteMode selects how the simulator rewrites index00.bin and
// index01.bin.
type IndexWriteMode string

// Index write modes.
const (
	// IndexAtomic writes a temporary file and renames it over the index.
	IndexAtomic IndexWriteMode = ""
	// IndexInPlaceHeaderFirst overwrites the index in place: the 1280-byte
	// header first, then file table and segment table in chunks.
	IndexInPlaceHeaderFirst IndexWriteMode = "in-place-header-first"
	// IndexInPlaceHeaderLast overwrites file table and segment table in
	// chunks first and the header last.
	IndexInPlaceHeaderLast IndexWriteMode = "in-place-header-last"
)

// writeIndex increments modifyTimes and rewrites index00.bin and then
// index01.bin with the encoded table, as Config.IndexWrite selects.
func (c *Camera) writeIndex() error {
	c.table.Header.ModifyTimes++
	b := index.Encode(c.table, c.cfg.IndexSize)
	if c.cfg.OnIndexWrite != nil {
		records := make([]Recorded, len(c.records))
		copy(records, c.records)
		c.cfg.OnIndexWrite(c.table.Header.ModifyTimes, b, records)
	}

	for _, name := range []string{IndexName, IndexCopyName} {
		var err error
		if c.cfg.IndexWrite == IndexAtomic {
			err = writeFileAtomic(c.cfg.Dir, name, b)
		} else {
			err = c.writeInPlace(name, b)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// writeInPlace overwrites the index file name with b in chunks of
// IndexChunk bytes, pausing IndexChunkDelay after each, with the header
// first or last. A reader running meanwhile sees a mix of the old and the
// new index, as it can on a real camera.
func (c *Camera) writeInPlace(name string, b []byte) error {
	path := filepath.Join(c.cfg.Dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("camsim: open %s for an in-place write: %w", path, err)
	}

	header := [][2]int{{0, index.HeaderSize}}
	var body [][2]int
	for offset := index.HeaderSize; offset < len(b); offset += c.cfg.IndexChunk {
		body = append(body, [2]int{offset, min(offset+c.cfg.IndexChunk, len(b))})
	}
	chunks := append(header, body...)
	if c.cfg.IndexWrite == IndexInPlaceHeaderLast {
		chunks = append(body, header...)
	}

	for _, chunk := range chunks {
		if _, err = f.WriteAt(b[chunk[0]:chunk[1]], int64(chunk[0])); err != nil {
			break
		}
		if c.cfg.IndexChunkDelay > 0 {
			time.Sleep(c.cfg.IndexChunkDelay)
		}
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("camsim: write %s in place: %w", path, err)
	}
	return nil
}

// writeFileAtomic writes b to a temporary file in dir and renames it to name,
// so a reader sees either the old or the new content. It does not sync:
// the simulator needs atomic replacement, not durability. The file gets mode
// 0644 like the hiv files, because CreateTemp makes it 0600.
func writeFileAtomic(dir, name string, b []byte) error {
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("camsim: write %s: %w", name, err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("camsim: write %s: %w", name, err)
	}
	return nil
}
