package camsim

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/index"
)

// decodeIndex decodes an index file with its own reading of the layout,
// independent of the index package's decoder. The layout is little-endian:
// a 1280-byte header, 32-byte file records and 80-byte slots. Encoding the
// result with index.Encode must give the same bytes back.
func decodeIndex(t *testing.T, b []byte) *index.Table {
	t.Helper()
	le := binary.LittleEndian
	require.GreaterOrEqual(t, len(b), index.HeaderSize, "index shorter than its header")

	files := int(le.Uint32(b[12:]))
	require.GreaterOrEqual(t, len(b), index.RegionSize(files), "index shorter than its regions")

	tb := &index.Table{
		Header: index.Header{
			ModifyTimes:   le.Uint64(b[0:]),
			Version:       le.Uint32(b[8:]),
			AVFiles:       uint32(files),
			NextFileRecNo: le.Uint32(b[16:]),
			LastFileRecNo: le.Uint32(b[20:]),
			Checksum:      le.Uint32(b[1276:]),
		},
		Files: make([]index.FileRecord, files),
		Slots: make([][index.SlotsPerFile]index.Slot, files),
	}
	for i := range tb.Header.Current {
		r := b[24+24*i:]
		tb.Header.Current[i] = index.CurrentFile{
			Used:           le.Uint16(r) != 0xFFFF,
			FileNo:         le.Uint16(r),
			Slot:           le.Uint16(r[2:]),
			StartTime:      le.Uint32(r[4:]),
			LastClosedTime: le.Uint32(r[8:]),
			Reserved:       le.Uint32(r[12:]),
			Channel:        le.Uint32(r[16:]),
			Tail:           le.Uint32(r[20:]),
		}
	}
	for i := range files {
		r := b[index.HeaderSize+32*i:]
		tb.Files[i] = index.FileRecord{
			FileNo:       le.Uint32(r),
			Channel:      le.Uint16(r[4:]),
			SegRecNums:   le.Uint16(r[6:]),
			StartTime:    le.Uint32(r[8:]),
			EndTime:      le.Uint32(r[12:]),
			Status:       r[16],
			Unknown17:    r[17],
			LockedSegNum: le.Uint16(r[18:]),
			Unknown20:    le.Uint32(r[20:]),
			InfoTypes:    le.Uint64(r[24:]),
		}
		for j := range index.SlotsPerFile {
			s := b[index.HeaderSize+32*files+80*(i*index.SlotsPerFile+j):]
			tb.Slots[i][j] = index.Slot{
				Type:                s[0],
				Status:              s[1],
				Reserved2:           le.Uint16(s[2:]),
				Resolution:          le.Uint32(s[4:]),
				Start:               index.PackedTime(le.Uint64(s[8:])),
				End:                 index.PackedTime(le.Uint64(s[16:])),
				KeyFrame:            index.PackedTime(le.Uint64(s[24:])),
				KeyFrameStreamTime:  le.Uint32(s[32:]),
				LastFrameStreamTime: le.Uint32(s[36:]),
				StartOffset:         le.Uint32(s[40:]),
				EndOffset:           le.Uint32(s[44:]),
				Reserved48:          le.Uint32(s[48:]),
				InfoNum:             le.Uint32(s[52:]),
				InfoTypes:           le.Uint64(s[56:]),
				InfoStartTime:       le.Uint32(s[64:]),
				InfoEndTime:         le.Uint32(s[68:]),
				InfoStartOffset:     le.Uint32(s[72:]),
				InfoEndOffset:       le.Uint32(s[76:]),
			}
		}
	}
	return tb
}

// readIndexes reads index00.bin and index01.bin, requires them to be equal
// and decodes them.
func readIndexes(t *testing.T, dir string) ([]byte, *index.Table) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, IndexName))
	require.NoError(t, err)
	copyBytes, err := os.ReadFile(filepath.Join(dir, IndexCopyName))
	require.NoError(t, err)
	require.Equal(t, b, copyBytes, "index01.bin must equal index00.bin")

	tb := decodeIndex(t, b)
	require.Equal(t, b, index.Encode(tb, len(b)), "index must round-trip through index.Encode")
	return b, tb
}

// liveSlot is a slot that the liveness rules count as a real recording.
type liveSlot struct {
	file, slot int
	s          index.Slot
}

// liveSlots applies the liveness rules to tb: a finished file has live
// slots 0..segRecNums, and the file being written has live slots up to the
// current-file record's slot. Files never written have none.
func liveSlots(tb *index.Table, channel uint16) []liveSlot {
	cur := tb.Header.Current[channel]
	if !cur.Used {
		return nil
	}
	n := len(tb.Files)
	oldest := int(tb.Header.NextFileRecNo)
	last := int(tb.Header.LastFileRecNo)

	var live []liveSlot
	for k := range n {
		i := (oldest + k) % n
		if i == last {
			for j := 0; j <= int(cur.Slot); j++ {
				live = append(live, liveSlot{i, j, tb.Slots[i][j]})
			}
			break
		}
		if tb.Files[i].Unused() {
			continue
		}
		for j := 0; j <= int(tb.Files[i].SegRecNums); j++ {
			live = append(live, liveSlot{i, j, tb.Slots[i][j]})
		}
	}
	return live
}
