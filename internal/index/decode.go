package index

import (
	"slices"
)

// checkRegions validates the header fields that size the file and returns the
// decoded header. name is used in errors only.
func checkRegions(name string, data []byte) (Header, error) {
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

	// avFiles sizes every allocation below, so it is checked against the
	// bytes actually present before anything is allocated.
	maxFiles := (len(data) - HeaderSize) / (FileRecordSize + SlotsPerFile*SlotSize)
	if h.AVFiles == 0 || int64(h.AVFiles) > int64(maxFiles) {
		return Header{}, formatError(name, 12, "avFiles", "avFiles is %d but the file's %d bytes hold at most %d files", h.AVFiles, len(data), maxFiles)
	}

	if h.NextFileRecNo >= h.AVFiles {
		return Header{}, formatError(name, 16, "nextFileRecNo", "nextFileRecNo %d is not below avFiles %d", h.NextFileRecNo, h.AVFiles)
	}
	if h.LastFileRecNo >= h.AVFiles {
		return Header{}, formatError(name, 20, "lastFileRecNo", "lastFileRecNo %d is not below avFiles %d", h.LastFileRecNo, h.AVFiles)
	}
	return h, nil
}

// Decode parses a whole binary index held in data. name is the file's path,
// used in errors. Decode checks only the layout: Snapshot applies the
// liveness rules.
func Decode(name string, data []byte) (*Table, error) {
	h, err := checkRegions(name, data)
	if err != nil {
		return nil, err
	}

	files := int(h.AVFiles)
	t := &Table{
		Header: h,
		Files:  make([]FileRecord, files),
		Slots:  make([][SlotsPerFile]Slot, files),
	}
	for i := range t.Files {
		t.Files[i] = decodeFileRecord(data[fileRecordOffset(i):])
	}
	for i := range t.Slots {
		for j := range t.Slots[i] {
			t.Slots[i][j] = decodeSlot(data[SlotOffset(files, i, j):])
		}
	}
	return t, nil
}
