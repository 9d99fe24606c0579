package index

import (
	"cmp"
	"fmt"
	"slices"
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
//
// A camera or NVR that records several channels into one datadir shares the
// ring of hiv files between them. The snapshot of the whole index then lists
// the closed segments of every channel, in ring order, and Channels holds one
// view per channel: that channel's own closed segments in write order and
// its own open segment. Cursors, diffs and events work on channel views.
type Snapshot struct {
	File        string    // path of the index file read
	ModifyTimes uint64    // the header's write counter
	Version     uint32    // index version
	Files       int       // number of hiv files in the ring (avFiles)
	OldestFile  uint32    // nextFileRecNo: the file the camera recycles next
	CurrentFile uint32    // lastFileRecNo, or in a channel view the file that channel is writing
	Closed      []Segment // live closed segments in the order the camera wrote them
	// Open is the segment being recorded, nil if none. In the snapshot of a
	// multi-channel index it is nil: each channel view holds its own.
	Open *Segment

	// Channel is the channel of a channel view, 0 in the snapshot of the
	// whole index.
	Channel uint16
	// Channels holds one view per channel that has live segments or a
	// current-file record, by ascending channel. It is empty for an index
	// that has recorded nothing, and for snapshots built from the SQLite
	// index (see ChannelViews).
	Channels []*Snapshot
}

// ChannelViews returns the per-channel views of s. A snapshot without
// Channels but with segments (the SQLite index names no channel) is its own
// single view.
func (s *Snapshot) ChannelViews() []*Snapshot {
	if len(s.Channels) > 0 {
		return s.Channels
	}
	if len(s.Closed) == 0 && s.Open == nil {
		return nil
	}

	view := *s
	if len(s.Closed) > 0 {
		view.Channel = s.Closed[0].Channel
	} else {
		view.Channel = s.Open.Channel
	}
	return []*Snapshot{&view}
}

// ChannelView returns the view of one channel, or nil when s has none.
func (s *Snapshot) ChannelView(channel uint16) *Snapshot {
	for _, view := range s.ChannelViews() {
		if view.Channel == channel {
			return view
		}
	}
	return nil
}

// Find returns the live segment, closed or open, with key k, on any channel.
func (s *Snapshot) Find(k Key) (Segment, bool) {
	for i := len(s.Closed) - 1; i >= 0; i-- {
		if s.Closed[i].Key() == k {
			return s.Closed[i], true
		}
	}
	if s.Open != nil && s.Open.Key() == k {
		return *s.Open, true
	}
	for _, view := range s.Channels {
		if view.Open != nil && view.Open.Key() == k {
			return *view.Open, true
		}
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
//   - the ring runs from nextFileRecNo (oldest) to lastFileRecNo (the file
//     the camera started last); files outside that range were never written;
//   - a finished file i has live slots 0..segRecNums, inclusive, with offsets
//     that grow; later slots are stale leftovers of earlier cycles. Its
//     file-table start and end repeat the start of slot 0 and the end of
//     slot segRecNums;
//   - the file-table record of a file being written is stale. The header's
//     current-file record gives its open slot, and only the slots before it
//     are closed and live. Between closing a segment and opening the next,
//     the record's slot holds the segment just closed, whose end matches the
//     record's last closed time.
//
// Several channels share one ring: each used current-file record names the
// file one channel is writing, a finished file belongs to the channel of its
// file-table record, and lastFileRecNo is the file written by the channel
// that moved to a new file last. docs/formats.md gives the reasoning.
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

	writing, err := writingFiles(name, &h)
	if err != nil {
		return nil, err
	}
	if len(writing) == 0 {
		if s.anyFileUsed(data) {
			return nil, formatError(name, currentRecordOffset, "current-file records", "no current-file record names lastFileRecNo %d", h.LastFileRecNo)
		}
		return s, nil // freshly formatted storage: nothing recorded yet
	}

	if err := s.walkRing(name, data, writing); err != nil {
		return nil, err
	}
	if len(s.Channels) == 1 {
		s.Open = s.Channels[0].Open
	}
	return s, nil
}

// writingRecord is a used current-file record and its byte offset.
type writingRecord struct {
	record CurrentFile
	offset int
}

// writingFiles returns the used current-file records by the file each one
// names. Every record must name a distinct file, and one of them must name
// lastFileRecNo, the file the camera started last.
func writingFiles(name string, h *Header) (map[int]writingRecord, error) {
	writing := make(map[int]writingRecord)
	channels := make(map[uint32]bool)
	for i, c := range h.Current {
		if !c.Used {
			continue
		}
		offset := currentRecordOffset + i*currentRecordSize

		if uint32(c.FileNo) >= h.AVFiles {
			return nil, formatError(name, offset, "current file", "current-file record %d names file %d, beyond avFiles %d", i, c.FileNo, h.AVFiles)
		}
		if c.Channel == 0 || c.Channel >= UnusedChannel {
			return nil, formatError(name, offset+16, "current channel", "current-file record %d gives channel %d; expected 1 to %d", i, c.Channel, UnusedChannel-1)
		}
		if other, taken := writing[int(c.FileNo)]; taken {
			return nil, formatError(name, offset, "current file", "current-file records %d and %d both name file %d", (other.offset-currentRecordOffset)/currentRecordSize, i, c.FileNo)
		}
		if channels[c.Channel] {
			return nil, formatError(name, offset+16, "current channel", "two current-file records give channel %d", c.Channel)
		}
		if c.Slot >= SlotsPerFile {
			return nil, formatError(name, offset+2, "current slot", "current-file record gives slot %d, beyond the %d slots of a file", c.Slot, SlotsPerFile)
		}

		writing[int(c.FileNo)] = writingRecord{record: c, offset: offset}
		channels[c.Channel] = true
	}

	if _, ok := writing[int(h.LastFileRecNo)]; len(writing) > 0 && !ok {
		return nil, formatError(name, 20, "lastFileRecNo", "no current-file record names lastFileRecNo %d", h.LastFileRecNo)
	}
	return writing, nil
}

// ringWalk holds the channel views while walkRing builds them.
type ringWalk struct {
	name        string
	data        []byte
	whole       *Snapshot
	views       map[uint16]*Snapshot
	writingFile map[uint16]int // file each channel is writing, once the walk passed it
}

// walkRing visits the files of the ring from the oldest to lastFileRecNo and
// adds each file's live segments to its channel's view and to s.Closed.
//
// A channel's files are started in ring order, so once the walk reaches the
// file a channel is writing, no later file of the ring can be a finished
// file of that channel; one that claims to be is rejected.
func (s *Snapshot) walkRing(name string, data []byte, writing map[int]writingRecord) error {
	walk := &ringWalk{name: name, data: data, whole: s, views: make(map[uint16]*Snapshot), writingFile: make(map[uint16]int)}

	for k := 0; k < s.Files; k++ {
		file := (int(s.OldestFile) + k) % s.Files
		if err := walk.addFile(file, writing); err != nil {
			return err
		}
		if file == int(s.CurrentFile) {
			break
		}
	}

	for file, w := range writing {
		if _, ok := walk.writingFile[uint16(w.record.Channel)]; !ok {
			return formatError(name, w.offset, "current file", "current-file record of channel %d names file %d, outside the ring from file %d to file %d", w.record.Channel, file, s.OldestFile, s.CurrentFile)
		}
	}

	for _, v := range walk.views {
		s.Channels = append(s.Channels, v)
	}
	slices.SortFunc(s.Channels, func(a, b *Snapshot) int { return cmp.Compare(a.Channel, b.Channel) })
	return nil
}

// addFile adds the live segments of one file of the ring to its channel.
func (w *ringWalk) addFile(file int, writing map[int]writingRecord) error {
	if current, ok := writing[file]; ok {
		channel := uint16(current.record.Channel)
		v := w.view(channel)
		before := len(v.Closed)
		v.CurrentFile = uint32(file)
		w.writingFile[channel] = file
		if err := v.addCurrentFile(w.name, w.data, file, current); err != nil {
			return err
		}
		w.whole.Closed = append(w.whole.Closed, v.Closed[before:]...)
		return nil
	}

	recordOffset := fileRecordOffset(file)
	record := decodeFileRecord(w.data[recordOffset:])
	if record.Unused() {
		// The camera fills the ring in order, so every file between the
		// oldest and the newest has held video. An unused record here was
		// read before the camera wrote it.
		return formatError(w.name, recordOffset+4, "channel", "file %d lies in the ring from file %d to file %d but its file-table record is unused", file, w.whole.OldestFile, w.whole.CurrentFile)
	}
	if current, done := w.writingFile[record.Channel]; done {
		return formatError(w.name, recordOffset+4, "channel", "finished file %d gives channel %d, which is writing the older file %d", file, record.Channel, current)
	}

	v := w.view(record.Channel)
	before := len(v.Closed)
	if err := v.addFinishedFile(w.name, w.data, file, record); err != nil {
		return err
	}
	w.whole.Closed = append(w.whole.Closed, v.Closed[before:]...)
	return nil
}

// view returns the view of a channel, creating it on first use.
func (w *ringWalk) view(channel uint16) *Snapshot {
	v, ok := w.views[channel]
	if !ok {
		s := w.whole
		v = &Snapshot{File: s.File, ModifyTimes: s.ModifyTimes, Version: s.Version, Files: s.Files,
			OldestFile: s.OldestFile, CurrentFile: s.CurrentFile, Channel: channel}
		w.views[channel] = v
	}
	return v
}

// addFinishedFile appends the live slots 0..segRecNums of a finished file and
// checks that its file-table record repeats their start and end.
func (s *Snapshot) addFinishedFile(name string, data []byte, file int, record FileRecord) error {
	recordOffset := fileRecordOffset(file)
	if record.SegRecNums >= SlotsPerFile {
		return formatError(name, recordOffset+6, "segRecNums", "file %d has segRecNums %d, beyond its %d slots", file, record.SegRecNums, SlotsPerFile)
	}

	before := len(s.Closed)
	if err := s.addClosedSlots(name, data, file, record.Channel, int(record.SegRecNums)+1); err != nil {
		return err
	}

	// The camera writes the record when it moves on to the next file, so a
	// record that does not match the slots comes from another write: the
	// index was read while the camera rewrote it.
	added := s.Closed[before:]
	if first := added[0].Start.Seconds(); first != record.StartTime {
		return formatError(name, recordOffset+8, "startTime", "file %d starts at %d by its file-table record but its slot 0 starts at %d", file, record.StartTime, first)
	}
	if last := added[len(added)-1].End.Seconds(); last != record.EndTime {
		return formatError(name, recordOffset+12, "endTime", "file %d ends at %d by its file-table record but its slot %d ends at %d", file, record.EndTime, record.SegRecNums, last)
	}
	return nil
}

// addCurrentFile appends the closed slots of the file a channel is writing
// and sets the open segment, both taken from the header's current-file
// record. The record's slot must hold either the open segment or the segment
// just closed: anything else means that header and segment table come from
// different writes.
func (s *Snapshot) addCurrentFile(name string, data []byte, file int, w writingRecord) error {
	record := w.record
	channel := uint16(record.Channel)
	closedBefore := len(s.Closed)
	if err := s.addClosedSlots(name, data, file, channel, int(record.Slot)); err != nil {
		return err
	}

	if closed, ok := justClosed(data, s.Files, file, channel, record, s.Closed[closedBefore:]); ok {
		s.Closed = append(s.Closed, closed)
	} else {
		s.Open = openSegment(data, s.Files, file, channel, int(record.Slot), s.Closed[closedBefore:])
		if s.Open == nil {
			if err := checkNotClosedUnseen(name, data, s.Files, file, record); err != nil {
				return err
			}
		} else if record.LastClosedTime > s.Open.Start.Seconds() {
			return formatError(name, w.offset+8, "current last closed time", "current-file record of channel %d says a segment closed at %d, after the open slot %d of file %d started at %d", channel, record.LastClosedTime, record.Slot, file, s.Open.Start.Seconds())
		}
	}

	return checkCurrentRecord(name, w.offset, record, s.Closed[closedBefore:])
}

// checkNotClosedUnseen rejects a current slot that holds a closed segment of
// this cycle which the current-file record does not know about: the header
// is older than the segment table. Such a slot starts at or after both the
// file's start and the record's last closed time. A stale slot of an earlier
// cycle starts before them, and an empty slot has no start; both mean only
// that the next segment is not open yet.
func checkNotClosedUnseen(name string, data []byte, files, file int, record CurrentFile) error {
	offset := SlotOffset(files, file, int(record.Slot))
	slot := decodeSlot(data[offset:])
	if slot.Start.IsZero() || slot.End.IsZero() {
		return nil
	}
	if slot.Start.Seconds() < record.StartTime || slot.Start.Seconds() < record.LastClosedTime {
		return nil
	}
	return formatError(name, offset+16, "current slot", "current-file record of channel %d says slot %d of file %d is open, but the slot holds a segment of this cycle that closed at %d", record.Channel, record.Slot, file, slot.End.Seconds())
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
