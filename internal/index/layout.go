// Package index reads the recording index that Hikvision cameras keep beside
// their hiv files (index00.bin) and turns it into a snapshot of the camera's
// ring: which segments are live and closed, which one is open, which file is
// the oldest and which is being written.
//
// The layout is little-endian and has three regions back to back: a 1280-byte
// header, a file table of avFiles 32-byte records, and a segment table of
// avFiles*256 slots of 80 bytes. Slots are never cleared when the camera
// recycles a file, so most non-empty slots on a card that has gone round its
// ring describe video that no longer exists. Snapshot applies the liveness
// rules that tell the two apart.
package index

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Sizes and offsets of the binary index, in bytes.
const (
	HeaderSize     = 1280
	FileRecordSize = 32
	SlotSize       = 80
	SlotsPerFile   = 256

	// The header's current-file region holds 49 records of 24 bytes from
	// offset 24. In the real sample record 1 is used and its channel field
	// is 1, so the record index is taken to be the channel.
	currentRecordOffset = 24
	currentRecordSize   = 24
	CurrentRecordCount  = 49

	unknownOffset  = 1200
	checksumOffset = 1276

	// UnusedChannel marks a file-table record that never held a recording.
	UnusedChannel = 0xFFFF

	// unusedCurrentRecord starts a current-file record that is not in use.
	unusedCurrentRecord = 0xFFFF
)

// Versions lists the index versions whose layout this package parses.
var Versions = []uint32{2, 3}

// PackedTime is a slot timestamp: the low 32 bits are Unix seconds of the
// camera's wall clock written as if it were UTC, the high 32 bits are
// microseconds (observed below 1,000,000).
type PackedTime uint64

// PackTime builds a PackedTime from camera wall-clock seconds and microseconds.
func PackTime(seconds, micros uint32) PackedTime {
	return PackedTime(uint64(micros)<<32 | uint64(seconds))
}

// PackWall builds a PackedTime from a camera wall-clock reading. The
// reading's location is ignored, because the camera writes its local clock
// as if it were UTC.
func PackWall(wall time.Time) PackedTime {
	reading := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), time.UTC)
	return PackTime(uint32(reading.Unix()), uint32(reading.Nanosecond()/1000))
}

// Seconds returns the Unix seconds part.
func (p PackedTime) Seconds() uint32 { return uint32(p) }

// Micros returns the microseconds part.
func (p PackedTime) Micros() uint32 { return uint32(p >> 32) }

// IsZero reports whether no time was written.
func (p PackedTime) IsZero() bool { return p.Seconds() == 0 }

// Wall returns the camera's wall-clock reading as a time in UTC. It is not
// the real instant: see Snapshot.Location and RealTime for that.
func (p PackedTime) Wall() time.Time {
	return time.Unix(int64(p.Seconds()), int64(p.Micros())*1000).UTC()
}

// Header is the first 1280 bytes of index00.bin.
type Header struct {
	ModifyTimes   uint64 // grows on every index write
	Version       uint32
	AVFiles       uint32 // number of hiv files
	NextFileRecNo uint32 // the file the camera recycles next, the oldest one
	LastFileRecNo uint32 // the file being written now
	Current       [CurrentRecordCount]CurrentFile
	Unknown1200   [76]byte // meaning unknown; the real sample has non-zero bytes here
	Checksum      uint32   // algorithm unknown, kept for round trips
}

// CurrentFile is one record of the header's current-file region: the hiv file
// a channel is writing and the slot of its open segment.
type CurrentFile struct {
	Used           bool
	FileNo         uint16
	Slot           uint16 // index of the slot being written
	StartTime      uint32 // camera seconds, start of slot 0 of this file
	LastClosedTime uint32 // camera seconds, end of the newest closed slot, 0 if none
	Reserved       uint32
	Channel        uint32
	Tail           uint32
}

// FileRecord is one 32-byte entry of the file table.
type FileRecord struct {
	FileNo       uint32
	Channel      uint16 // UnusedChannel if the file never held a recording
	SegRecNums   uint16 // index of the last live slot, not a count
	StartTime    uint32 // camera seconds
	EndTime      uint32 // camera seconds
	Status       uint8
	Unknown17    uint8
	LockedSegNum uint16
	Unknown20    uint32
	InfoTypes    uint64
}

// Unused reports whether the record describes a file that never held video.
func (f FileRecord) Unused() bool {
	return f.Channel == UnusedChannel || (f.StartTime == 0 && f.EndTime == 0)
}

// Slot is one 80-byte segment slot.
type Slot struct {
	Type                uint8
	Status              uint8
	Reserved2           uint16
	Resolution          uint32
	Start               PackedTime
	End                 PackedTime // zero while the segment is being recorded
	KeyFrame            PackedTime
	KeyFrameStreamTime  uint32 // 45 kHz ticks in the real sample
	LastFrameStreamTime uint32 // 45 kHz ticks in the real sample
	StartOffset         uint32 // byte offset in the hiv file
	EndOffset           uint32 // exclusive byte offset in the hiv file
	Reserved48          uint32
	InfoNum             uint32
	InfoTypes           uint64
	InfoStartTime       uint32
	InfoEndTime         uint32
	InfoStartOffset     uint32
	InfoEndOffset       uint32
}

// Empty reports whether the slot was never written.
func (s Slot) Empty() bool { return s.Start.IsZero() && s.End.IsZero() }

// Table is a whole decoded index: header, file table and segment table.
type Table struct {
	Header Header
	Files  []FileRecord
	Slots  [][SlotsPerFile]Slot // Slots[i][j] is slot j of hiv file i
}

// Size returns the number of bytes the three regions of t take.
func (t *Table) Size() int {
	return RegionSize(len(t.Files))
}

// RegionSize returns the bytes that header, file table and segment table take
// for the given number of hiv files.
func RegionSize(files int) int {
	return HeaderSize + files*FileRecordSize + files*SlotsPerFile*SlotSize
}

// fileRecordOffset returns the byte offset of file-table record i.
func fileRecordOffset(i int) int {
	return HeaderSize + i*FileRecordSize
}

// SlotOffset returns the byte offset of slot j of hiv file i in an index with
// avFiles files.
func SlotOffset(avFiles, i, j int) int {
	return HeaderSize + avFiles*FileRecordSize + (i*SlotsPerFile+j)*SlotSize
}

// HivName returns the file name of hiv file n, as the camera names it.
func HivName(n uint32) string {
	return fmt.Sprintf("hiv%05d.mp4", n)
}

var le = binary.LittleEndian

func decodeHeader(b []byte) Header {
	h := Header{
		ModifyTimes:   le.Uint64(b[0:]),
		Version:       le.Uint32(b[8:]),
		AVFiles:       le.Uint32(b[12:]),
		NextFileRecNo: le.Uint32(b[16:]),
		LastFileRecNo: le.Uint32(b[20:]),
		Checksum:      le.Uint32(b[checksumOffset:]),
	}
	copy(h.Unknown1200[:], b[unknownOffset:checksumOffset])
	for i := range h.Current {
		r := b[currentRecordOffset+i*currentRecordSize:]
		h.Current[i] = CurrentFile{
			Used:           le.Uint16(r[0:]) != unusedCurrentRecord,
			FileNo:         le.Uint16(r[0:]),
			Slot:           le.Uint16(r[2:]),
			StartTime:      le.Uint32(r[4:]),
			LastClosedTime: le.Uint32(r[8:]),
			Reserved:       le.Uint32(r[12:]),
			Channel:        le.Uint32(r[16:]),
			Tail:           le.Uint32(r[20:]),
		}
	}
	return h
}

func encodeHeader(b []byte, h *Header) {
	le.PutUint64(b[0:], h.ModifyTimes)
	le.PutUint32(b[8:], h.Version)
	le.PutUint32(b[12:], h.AVFiles)
	le.PutUint32(b[16:], h.NextFileRecNo)
	le.PutUint32(b[20:], h.LastFileRecNo)
	for i, c := range h.Current {
		r := b[currentRecordOffset+i*currentRecordSize:]
		if !c.Used {
			le.PutUint16(r[0:], unusedCurrentRecord)
			continue
		}
		le.PutUint16(r[0:], c.FileNo)
		le.PutUint16(r[2:], c.Slot)
		le.PutUint32(r[4:], c.StartTime)
		le.PutUint32(r[8:], c.LastClosedTime)
		le.PutUint32(r[12:], c.Reserved)
		le.PutUint32(r[16:], c.Channel)
		le.PutUint32(r[20:], c.Tail)
	}
	copy(b[unknownOffset:checksumOffset], h.Unknown1200[:])
	le.PutUint32(b[checksumOffset:], h.Checksum)
}

func decodeFileRecord(b []byte) FileRecord {
	return FileRecord{
		FileNo:       le.Uint32(b[0:]),
		Channel:      le.Uint16(b[4:]),
		SegRecNums:   le.Uint16(b[6:]),
		StartTime:    le.Uint32(b[8:]),
		EndTime:      le.Uint32(b[12:]),
		Status:       b[16],
		Unknown17:    b[17],
		LockedSegNum: le.Uint16(b[18:]),
		Unknown20:    le.Uint32(b[20:]),
		InfoTypes:    le.Uint64(b[24:]),
	}
}

func encodeFileRecord(b []byte, f *FileRecord) {
	le.PutUint32(b[0:], f.FileNo)
	le.PutUint16(b[4:], f.Channel)
	le.PutUint16(b[6:], f.SegRecNums)
	le.PutUint32(b[8:], f.StartTime)
	le.PutUint32(b[12:], f.EndTime)
	b[16] = f.Status
	b[17] = f.Unknown17
	le.PutUint16(b[18:], f.LockedSegNum)
	le.PutUint32(b[20:], f.Unknown20)
	le.PutUint64(b[24:], f.InfoTypes)
}

func decodeSlot(b []byte) Slot {
	return Slot{
		Type:                b[0],
		Status:              b[1],
		Reserved2:           le.Uint16(b[2:]),
		Resolution:          le.Uint32(b[4:]),
		Start:               PackedTime(le.Uint64(b[8:])),
		End:                 PackedTime(le.Uint64(b[16:])),
		KeyFrame:            PackedTime(le.Uint64(b[24:])),
		KeyFrameStreamTime:  le.Uint32(b[32:]),
		LastFrameStreamTime: le.Uint32(b[36:]),
		StartOffset:         le.Uint32(b[40:]),
		EndOffset:           le.Uint32(b[44:]),
		Reserved48:          le.Uint32(b[48:]),
		InfoNum:             le.Uint32(b[52:]),
		InfoTypes:           le.Uint64(b[56:]),
		InfoStartTime:       le.Uint32(b[64:]),
		InfoEndTime:         le.Uint32(b[68:]),
		InfoStartOffset:     le.Uint32(b[72:]),
		InfoEndOffset:       le.Uint32(b[76:]),
	}
}

func encodeSlot(b []byte, s *Slot) {
	b[0] = s.Type
	b[1] = s.Status
	le.PutUint16(b[2:], s.Reserved2)
	le.PutUint32(b[4:], s.Resolution)
	le.PutUint64(b[8:], uint64(s.Start))
	le.PutUint64(b[16:], uint64(s.End))
	le.PutUint64(b[24:], uint64(s.KeyFrame))
	le.PutUint32(b[32:], s.KeyFrameStreamTime)
	le.PutUint32(b[36:], s.LastFrameStreamTime)
	le.PutUint32(b[40:], s.StartOffset)
	le.PutUint32(b[44:], s.EndOffset)
	le.PutUint32(b[48:], s.Reserved48)
	le.PutUint32(b[52:], s.InfoNum)
	le.PutUint64(b[56:], s.InfoTypes)
	le.PutUint32(b[64:], s.InfoStartTime)
	le.PutUint32(b[68:], s.InfoEndTime)
	le.PutUint32(b[72:], s.InfoStartOffset)
	le.PutUint32(b[76:], s.InfoEndOffset)
}

// NewTable returns an empty table for a freshly formatted storage with the
// given number of hiv files: every file record unused, every slot empty.
func NewTable(version uint32, files int) *Table {
	t := &Table{
		Header: Header{Version: version, AVFiles: uint32(files)},
		Files:  make([]FileRecord, files),
		Slots:  make([][SlotsPerFile]Slot, files),
	}
	for i := range t.Files {
		t.Files[i] = FileRecord{FileNo: uint32(i), Channel: UnusedChannel}
	}
	return t
}

// Encode returns the binary form of t, zero-padded to size bytes when size is
// larger than the three regions (cameras pre-allocate the index file).
func Encode(t *Table, size int) []byte {
	n := t.Size()
	if size < n {
		size = n
	}
	b := make([]byte, size)

	h := t.Header
	h.AVFiles = uint32(len(t.Files))
	encodeHeader(b, &h)

	for i := range t.Files {
		encodeFileRecord(b[fileRecordOffset(i):], &t.Files[i])
	}

	for i := range t.Slots {
		for j := range t.Slots[i] {
			encodeSlot(b[SlotOffset(len(t.Files), i, j):], &t.Slots[i][j])
		}
	}
	return b
}
