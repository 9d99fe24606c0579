package index

import (
	"fmt"
	"time"
)

// Key identifies one recording for good: the slot's position alone is reused
// every time the camera goes round its ring, but not together with the start
// time the camera wrote into it.
type Key struct {
	Channel uint16     `json:"channel"`
	File    uint32     `json:"file"`
	Slot    uint16     `json:"slot"`
	Start   PackedTime `json:"start"`
}

// String returns a form of k that is safe in NATS message ids, subjects and
// object keys: channel, hiv file, slot and start time in Unix microseconds.
func (k Key) String() string {
	return fmt.Sprintf("ch%02d-hiv%05d-slot%03d-%d%06d", k.Channel, k.File, k.Slot, k.Start.Seconds(), k.Start.Micros())
}

// Segment is a live recording segment: a byte range of one hiv file.
type Segment struct {
	Channel     uint16     `json:"channel"`
	File        uint32     `json:"file"`
	Slot        uint16     `json:"slot"`
	Type        uint8      `json:"type"`
	Start       PackedTime `json:"start"`
	End         PackedTime `json:"end"`          // zero while open
	StartOffset uint32     `json:"start_offset"` // bytes into the hiv file
	EndOffset   uint32     `json:"end_offset"`   // exclusive; zero while open
	Open        bool       `json:"open,omitempty"`
}

// Key returns the segment's identity.
func (s Segment) Key() Key {
	return Key{Channel: s.Channel, File: s.File, Slot: s.Slot, Start: s.Start}
}

// Size returns the segment's length in bytes, 0 while it is open.
func (s Segment) Size() int64 {
	if s.Open || s.EndOffset < s.StartOffset {
		return 0
	}
	return int64(s.EndOffset) - int64(s.StartOffset)
}

// Duration returns the time between start and end as the camera wrote them.
func (s Segment) Duration() time.Duration {
	if s.Open {
		return 0
	}
	return s.End.Wall().Sub(s.Start.Wall())
}

// HivName returns the name of the hiv file that holds the segment.
func (s Segment) HivName() string { return HivName(s.File) }

// Snapshot is the state of a camera's ring as one read of its index shows it.
type Snapshot struct {
	File        string    // path of the index file read
	ModifyTimes uint64    // the header's write counter
	Version     uint32    // index version
	Files       int       // number of hiv files in the ring (avFiles)
	OldestFile  uint32    // nextFileRecNo: the file the camera recycles next
	CurrentFile uint32    // lastFileRecNo: the file being written
	Closed      []Segment // live closed segments in the order the camera wrote them
	Open        *Segment  // the segment being recorded, nil if none
}

// Find returns the live segment, closed or open, with key k.
func (s *Snapshot) Find(k Key) (Segment, bool) {
	for i := len(s.Closed) - 1; i >= 0; i-- {
		if s.Closed[i].Key() == k {
			return s.Closed[i], true
		}
	}
	if s.Open != nil && s.Open.Key() == k {
		return *s.Open, true
	}
	return Segment{}, false
}

// position returns the index in s.Closed of the segment with key k, or -1.
func (s *Snapshot) position(k Key) int {
	for i := len(s.Closed) - 1; i >= 0; i-- {
		if s.Closed[i].Key() == k {
			return i
		}
	}
	return -1
}

// Build parses the binary index in data into a snapshot, keeping only live
// segments. name is the file's path, used in errors.
//
// The rules, which hold on every file of a real camera's index that has gone
// round its ring several times:
//   - the ring runs from nextFileRecNo (oldest) to lastFileRecNo (being
//     written); files outside that range were never written;
//   - a finished file i has live slots 0..segRecNums, inclusive, with offsets
//     that grow; later slots are stale leftovers of earlier cycles;
//   - the file-table record of the file being written is stale. The header's
//     current-file record gives its open slot, and only the slots before it
//     are closed and live. Between closing a segment and opening the next,
//     the record's slot holds the segment just closed, whose end matches the
//     record's last closed time.
//
// Live slots must not overlap and must have times and a non-empty byte range;
// a snapshot that breaks those rules is rejected with a FormatError rather
// than guessed at.
func Build(name string, data []byte) (*Snapshot, error) {
	h, err := checkRegions(name, data)
	if err != nil {
		return nil, err
	}

	s := &Snapshot{
		File:        name,
		ModifyTimes: h.ModifyTimes,
		Version:     h.Version,
		Files:       int(h.AVFiles),
		OldestFile:  h.NextFileRecNo,
		CurrentFile: h.LastFileRecNo,
	}

	if err := s.addFinishedFiles(name, data); err != nil {
		return nil, err
	}
	if err := s.addCurrentFile(name, data, &h); err != nil {
		return nil, err
	}
	return s, nil
}

// addFinishedFiles appends the live slots of every file from the oldest up to,
// not including, the file being written.
func (s *Snapshot) addFinishedFiles(name string, data []byte) error {
	for k := 0; k < s.Files; k++ {
		file := (int(s.OldestFile) + k) % s.Files
		if file == int(s.CurrentFile) {
			return nil
		}

		recordOffset := fileRecordOffset(file)
		record := decodeFileRecord(data[recordOffset:])
		if record.Unused() {
			continue
		}
		if record.SegRecNums >= SlotsPerFile {
			return formatError(name, recordOffset+6, "segRecNums", "file %d has segRecNums %d, beyond its %d slots", file, record.SegRecNums, SlotsPerFile)
		}

		if err := s.addClosedSlots(name, data, file, record.Channel, int(record.SegRecNums)+1); err != nil {
			return err
		}
	}
	return nil
}

// addCurrentFile appends the closed slots of the file being written and sets
// the open segment, both taken from the header's current-file record.
func (s *Snapshot) addCurrentFile(name string, data []byte, h *Header) error {
	record, offset, found := currentRecord(h)
	if !found {
		if s.anyFileUsed(data) {
			return formatError(name, currentRecordOffset, "current-file records", "no current-file record names lastFileRecNo %d", h.LastFileRecNo)
		}
		return nil // freshly formatted storage: nothing recorded yet
	}

	if record.Slot >= SlotsPerFile {
		return formatError(name, offset+2, "current slot", "current-file record gives slot %d, beyond the %d slots of a file", record.Slot, SlotsPerFile)
	}

	file := int(h.LastFileRecNo)
	channel := uint16(record.Channel)
	closedBefore := len(s.Closed)
	if err := s.addClosedSlots(name, data, file, channel, int(record.Slot)); err != nil {
		return err
	}

	if closed, ok := justClosed(data, s.Files, file, channel, record, s.Closed[closedBefore:]); ok {
		s.Closed = append(s.Closed, closed)
	} else {
		s.Open = openSegment(data, s.Files, file, channel, int(record.Slot), s.Closed[closedBefore:])
	}

	return checkCurrentRecord(name, offset, record, s.Closed[closedBefore:])
}

// justClosed returns the segment in the current-file record's slot when the
// camera has closed it and not yet opened the next one: its end matches the
// record's last closed time and its bytes follow the closed slots. A stale
// slot from an earlier cycle fails that test, because its times are older.
func justClosed(data []byte, files, file int, channel uint16, record CurrentFile, closed []Segment) (Segment, bool) {
	j := int(record.Slot)
	slot := decodeSlot(data[SlotOffset(files, file, j):])
	if slot.Start.IsZero() || slot.End.IsZero() || slot.End.Seconds() != record.LastClosedTime {
		return Segment{}, false
	}
	if slot.EndOffset <= slot.StartOffset || slot.Start.Seconds() < record.StartTime {
		return Segment{}, false
	}
	if n := len(closed); n > 0 && slot.StartOffset < closed[n-1].EndOffset {
		return Segment{}, false
	}
	if len(closed) == 0 && slot.Start.Seconds() != record.StartTime {
		return Segment{}, false
	}

	return Segment{
		Channel:     channel,
		File:        uint32(file),
		Slot:        uint16(j),
		Type:        slot.Type,
		Start:       slot.Start,
		End:         slot.End,
		StartOffset: slot.StartOffset,
		EndOffset:   slot.EndOffset,
	}, true
}

// currentRecord returns the used current-file record for lastFileRecNo and
// its byte offset.
func currentRecord(h *Header) (CurrentFile, int, bool) {
	for i, c := range h.Current {
		if c.Used && uint32(c.FileNo) == h.LastFileRecNo {
			return c, currentRecordOffset + i*currentRecordSize, true
		}
	}
	return CurrentFile{}, 0, false
}

// checkCurrentRecord cross-checks the header's current-file record against the
// closed slots of the file being written. The record repeats the start of
// slot 0 and the end of the newest closed slot, so a mismatch means that the
// header and the segment table come from different writes.
func checkCurrentRecord(name string, offset int, record CurrentFile, closed []Segment) error {
	if len(closed) == 0 {
		return nil
	}
	if first := closed[0].Start.Seconds(); first != record.StartTime {
		return formatError(name, offset+4, "current start time", "current-file record says file %d started at %d but its slot 0 starts at %d", record.FileNo, record.StartTime, first)
	}
	if last := closed[len(closed)-1].End.Seconds(); last != record.LastClosedTime {
		return formatError(name, offset+8, "current last closed time", "current-file record says the newest closed segment of file %d ended at %d but slot %d ends at %d", record.FileNo, record.LastClosedTime, len(closed)-1, last)
	}
	return nil
}

// openSegment returns the segment being recorded in slot j of file, or nil
// when that slot does not hold an open segment that follows the closed ones.
func openSegment(data []byte, files, file int, channel uint16, j int, closed []Segment) *Segment {
	slot := decodeSlot(data[SlotOffset(files, file, j):])
	if slot.Start.IsZero() || !slot.End.IsZero() || slot.EndOffset != 0 {
		return nil
	}
	if n := len(closed); n > 0 && slot.StartOffset < closed[n-1].EndOffset {
		return nil
	}
	return &Segment{
		Channel:     channel,
		File:        uint32(file),
		Slot:        uint16(j),
		Type:        slot.Type,
		Start:       slot.Start,
		StartOffset: slot.StartOffset,
		Open:        true,
	}
}

// addClosedSlots appends slots 0..count-1 of file, checking that each has
// times and a byte range that follows the previous one.
func (s *Snapshot) addClosedSlots(name string, data []byte, file int, channel uint16, count int) error {
	var previousEnd uint32
	for j := 0; j < count; j++ {
		offset := SlotOffset(s.Files, file, j)
		slot := decodeSlot(data[offset:])

		if slot.Start.IsZero() || slot.End.IsZero() {
			return formatError(name, offset+8, "startTime/endTime", "live slot %d of file %d has start %d and end %d; a closed segment has both", j, file, slot.Start.Seconds(), slot.End.Seconds())
		}
		if slot.EndOffset <= slot.StartOffset {
			return formatError(name, offset+40, "startOffset/endOffset", "live slot %d of file %d has byte range [%d, %d), which is empty or reversed", j, file, slot.StartOffset, slot.EndOffset)
		}
		if slot.StartOffset < previousEnd {
			return formatError(name, offset+40, "startOffset", "live slot %d of file %d starts at byte %d, inside the previous segment that ends at %d", j, file, slot.StartOffset, previousEnd)
		}
		previousEnd = slot.EndOffset

		s.Closed = append(s.Closed, Segment{
			Channel:     channel,
			File:        uint32(file),
			Slot:        uint16(j),
			Type:        slot.Type,
			Start:       slot.Start,
			End:         slot.End,
			StartOffset: slot.StartOffset,
			EndOffset:   slot.EndOffset,
		})
	}
	return nil
}

// anyFileUsed reports whether any file-table record describes a recording.
func (s *Snapshot) anyFileUsed(data []byte) bool {
	for i := 0; i < s.Files; i++ {
		if !decodeFileRecord(data[fileRecordOffset(i):]).Unused() {
			return true
		}
	}
	return false
}
