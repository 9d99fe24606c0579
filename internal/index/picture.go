package index

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
)

// PictureIndexName is the binary picture index of a datadir.
const PictureIndexName = "index00p.bin"

// PicName returns the file name of picture file n, as the camera names it.
func PicName(n uint32) string {
	return fmt.Sprintf("hiv%05d.pic", n)
}

// jpegStart is the start of every JPEG: the SOI marker and the first byte of
// the next marker.
var jpegStart = []byte{0xFF, 0xD8, 0xFF}

// maxPictureSize bounds the byte range of one picture. Camera snapshots are
// tens to hundreds of KB.
//
// NOTE: 16 MiB is a judgement, not a measured limit. It only has to be far
// above any real JPEG and far below the size of a pic file.
const maxPictureSize = 16 << 20

// PictureLayout is one candidate layout of the slots of index00p.bin. Public
// tools disagree on it, so ParsePictureIndex tries every candidate and keeps
// the one whose slots are consistent.
type PictureLayout struct {
	Name         string
	SlotSize     int // bytes per slot: 80 or 96
	SlotsPerFile int
	TimeOffset   int  // byte offset of the capture time in a slot
	PackedTime   bool // the time is a PackedTime (8 bytes), not uint32 seconds
	StartField   int  // byte offset of the start offset into the pic file
	EndField     int  // byte offset of the exclusive end offset
}

// PictureLayouts lists the candidate layouts.
//
// NOTE: no real index00p.bin has been checked. The first two follow two
// public extractors, one that reads picture slots like video slots and one
// that reads a uint32 capture time at 24 and offsets at 56 and 60 with 4096
// slots per file. The 96-byte layout is a guess: the video slot fields
// followed by 16 unknown bytes.
var PictureLayouts = []PictureLayout{
	{Name: "80-byte video-like", SlotSize: 80, SlotsPerFile: SlotsPerFile, TimeOffset: 8, PackedTime: true, StartField: 40, EndField: 44},
	{Name: "80-byte capture-date", SlotSize: 80, SlotsPerFile: 4096, TimeOffset: 24, StartField: 56, EndField: 60},
	{Name: "96-byte video-like", SlotSize: 96, SlotsPerFile: SlotsPerFile, TimeOffset: 8, PackedTime: true, StartField: 40, EndField: 44},
}

// Picture is one picture listed by index00p.bin: a JPEG in a pic file.
type Picture struct {
	File        uint32     `json:"file"`
	Slot        int        `json:"slot"`
	Time        PackedTime `json:"time"`
	StartOffset uint32     `json:"start_offset"`
	EndOffset   uint32     `json:"end_offset"` // exclusive
}

// PicName returns the name of the pic file that holds p.
func (p Picture) PicName() string { return PicName(p.File) }

// Size returns the picture's length in bytes.
func (p Picture) Size() int64 { return int64(p.EndOffset) - int64(p.StartOffset) }

// PictureIndex is a parsed index00p.bin.
type PictureIndex struct {
	File     string
	Header   Header
	Layout   PictureLayout
	Pictures []Picture // ordered by time, then by file and slot
}

// ParsePictureIndex parses the picture index in data. name is the file's
// path, used in errors.
//
// It tries every layout in PictureLayouts whose regions fit in data. A
// layout is consistent when every non-empty slot has a plausible time and a
// non-empty byte range of at most 16 MiB. The index is rejected when no
// layout is consistent, or when several are and they list different
// pictures.
//
// Slots are not cleared when the camera recycles a pic file, so stale
// entries can appear. Check each picture's bytes with CheckPicture before
// using it.
func ParsePictureIndex(name string, data []byte) (*PictureIndex, error) {
	h, err := checkPictureHeader(name, data)
	if err != nil {
		return nil, err
	}

	var found []*PictureIndex
	var reasons []string
	for _, layout := range PictureLayouts {
		pictures, reason := parsePictureSlots(data, int(h.AVFiles), layout)
		if reason != "" {
			reasons = append(reasons, layout.Name+": "+reason)
			continue
		}
		found = append(found, &PictureIndex{File: name, Header: h, Layout: layout, Pictures: pictures})
	}

	switch {
	case len(found) == 0:
		return nil, formatError(name, HeaderSize, "picture slots", "no known slot layout fits (%s); please send a copy of the file so its layout can be added", strings.Join(reasons, "; "))
	case len(found) > 1:
		for _, other := range found[1:] {
			if !slices.Equal(other.Pictures, found[0].Pictures) {
				return nil, formatError(name, HeaderSize, "picture slots", "layouts %q and %q both fit but list different pictures; please send a copy of the file so its layout can be settled", found[0].Layout.Name, other.Layout.Name)
			}
		}
	}
	return found[0], nil
}

// checkPictureHeader checks the header fields that do not depend on the slot
// layout.
func checkPictureHeader(name string, data []byte) (Header, error) {
	if len(data) < HeaderSize {
		return Header{}, formatError(name, len(data), "header", "file is %d bytes, shorter than the %d-byte header", len(data), HeaderSize)
	}
	h := decodeHeader(data)

	if h.ModifyTimes == 0 && h.Version == 0 && h.AVFiles == 0 {
		return Header{}, formatError(name, 0, "header", "header is zero-filled: the camera has not written this index")
	}
	if !slices.Contains(Versions, h.Version) {
		return Header{}, formatError(name, 8, "version", "index version %d is not supported (known: 2, 3); please send a sample of this file so the layout can be added", h.Version)
	}

	// The smallest candidate slot region bounds avFiles before any loop.
	maxFiles := (len(data) - HeaderSize) / (FileRecordSize + SlotsPerFile*80)
	if h.AVFiles == 0 || int64(h.AVFiles) > int64(maxFiles) {
		return Header{}, formatError(name, 12, "avFiles", "avFiles is %d but the file's %d bytes hold at most %d picture files", h.AVFiles, len(data), maxFiles)
	}
	return h, nil
}

// parsePictureSlots reads every non-empty slot with layout, or returns why
// the layout does not fit.
func parsePictureSlots(data []byte, files int, layout PictureLayout) ([]Picture, string) {
	base := HeaderSize + files*FileRecordSize
	need := int64(base) + int64(files)*int64(layout.SlotsPerFile)*int64(layout.SlotSize)
	if need > int64(len(data)) {
		return nil, fmt.Sprintf("needs %d bytes, the file has %d", need, len(data))
	}

	var pictures []Picture
	for file := 0; file < files; file++ {
		for slot := 0; slot < layout.SlotsPerFile; slot++ {
			offset := base + (file*layout.SlotsPerFile+slot)*layout.SlotSize
			b := data[offset : offset+layout.SlotSize]
			if isBlank(b) {
				continue
			}

			p := Picture{
				File:        uint32(file),
				Slot:        slot,
				StartOffset: le.Uint32(b[layout.StartField:]),
				EndOffset:   le.Uint32(b[layout.EndField:]),
			}
			if layout.PackedTime {
				p.Time = PackedTime(le.Uint64(b[layout.TimeOffset:]))
			} else {
				p.Time = PackTime(le.Uint32(b[layout.TimeOffset:]), 0)
			}

			if reason := checkPictureSlot(p); reason != "" {
				return nil, fmt.Sprintf("slot %d of file %d at byte %d %s", slot, file, offset, reason)
			}
			pictures = append(pictures, p)
		}
	}
	if len(pictures) == 0 {
		return nil, "no slot is in use"
	}

	slices.SortStableFunc(pictures, func(a, b Picture) int {
		return a.Time.Wall().Compare(b.Time.Wall())
	})
	return pictures, ""
}

// isBlank reports whether a slot was never written: all zeros or all 0xFF.
func isBlank(b []byte) bool {
	return bytes.Count(b, []byte{0}) == len(b) || bytes.Count(b, []byte{0xFF}) == len(b)
}

// checkPictureSlot returns why p cannot be a real picture, or "".
func checkPictureSlot(p Picture) string {
	switch {
	case p.Time.Micros() >= 1_000_000:
		return fmt.Sprintf("has %d microseconds in its time", p.Time.Micros())
	case p.Time.Wall().Year() < earliestPlausibleYear || p.Time.Wall().Year() > 2100:
		return fmt.Sprintf("has time %s", p.Time.Wall().Format("2006-01-02 15:04:05"))
	case p.EndOffset <= p.StartOffset:
		return fmt.Sprintf("has byte range [%d, %d), which is empty or reversed", p.StartOffset, p.EndOffset)
	case p.Size() > maxPictureSize:
		return fmt.Sprintf("has byte range [%d, %d), more than %d bytes for one picture", p.StartOffset, p.EndOffset, maxPictureSize)
	}
	return ""
}

// CheckPicture checks that the bytes of p in its pic file, read through pic,
// start like a JPEG. A picture whose bytes do not was overwritten, or comes
// from a stale slot.
func CheckPicture(pic io.ReaderAt, p Picture) error {
	head := make([]byte, len(jpegStart))
	if _, err := pic.ReadAt(head, int64(p.StartOffset)); err != nil {
		return fmt.Errorf("read %s at byte %d: %w", p.PicName(), p.StartOffset, err)
	}
	if !bytes.Equal(head, jpegStart) {
		return fmt.Errorf("picture at byte %d of %s starts with % x, not a JPEG (ff d8 ff): the camera has overwritten it or the slot is stale", p.StartOffset, p.PicName(), head)
	}
	return nil
}
