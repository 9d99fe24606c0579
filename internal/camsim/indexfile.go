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
func (c *Camera) openSlot(start time.Time, offset uint32) index.Slot {
	s := index.Slot{
		Type:            slotType,
		Reserved2:       slotReserved2,
		Resolution:      slotResolution,
		Start:           index.PackTime(uint32(start.Unix()), 0),
		StartOffset:     offset,
		Reserved48:      slotReserved48,
		InfoTypes:       slotInfoTypes,
		InfoStartOffset: c.file.infoNext,
		InfoEndOffset:   c.file.infoNext,
	}
	if c.closedAt != nil {
		s.KeyFrame = c.closedAt.KeyFrame
		s.KeyFrameStreamTime = c.closedAt.KeyFrameStreamTime
		s.LastFrameStreamTime = c.closedAt.LastFrameStreamTime
	}
	return s
}

// setCurrentRecord writes the header's current-file record of the channel.
func (c *Camera) setCurrentRecord() {
	f := c.file
	slots := &c.table.Slots[f.number]
	rec := index.CurrentFile{
		Used:      true,
		FileNo:    uint16(f.number),
		Slot:      uint16(f.slot),
		StartTime: slots[0].Start.Seconds(),
		Channel:   uint32(c.cfg.Channel),
	}
	if f.closed > 0 {
		newest := f.slot
		if c.open != nil {
			newest--
		}
		rec.LastClosedTime = slots[newest].End.Seconds()
	}
	c.table.Header.Current[c.cfg.Channel] = rec
}

// writeIndex increments modifyTimes and replaces index00.bin and then
// index01.bin with the encoded table.
func (c *Camera) writeIndex() error {
	c.table.Header.ModifyTimes++
	b := index.Encode(c.table, c.cfg.IndexSize)
	for _, name := range []string{IndexName, IndexCopyName} {
		if err := writeFileAtomic(c.cfg.Dir, name, b); err != nil {
			return err
		}
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
