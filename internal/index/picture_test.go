package index

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// pictureIndex returns an index00p.bin with one pic file whose slots use
// layout, holding a picture per entry of ranges at one-minute intervals.
func pictureIndex(layout PictureLayout, files int, ranges [][2]uint32) []byte {
	table := NewTable(3, files)
	table.Header.ModifyTimes = 7
	data := make([]byte, HeaderSize+files*FileRecordSize+files*layout.SlotsPerFile*layout.SlotSize)
	encodeHeader(data, &table.Header)
	for i := range table.Files {
		// Some firmware leaves the picture file table all 0xFF.
		copy(data[fileRecordOffset(i):], bytes.Repeat([]byte{0xFF}, FileRecordSize))
	}

	base := HeaderSize + files*FileRecordSize
	for j, r := range ranges {
		slot := data[base+j*layout.SlotSize:]
		slot[0] = 1
		seconds := uint32(baseTime + 60*j)
		if layout.PackedTime {
			le.PutUint64(slot[layout.TimeOffset:], uint64(PackTime(seconds, 500_000)))
		} else {
			le.PutUint32(slot[layout.TimeOffset:], seconds)
		}
		le.PutUint32(slot[layout.StartField:], r[0])
		le.PutUint32(slot[layout.EndField:], r[1])
	}
	return data
}

var pictureRanges = [][2]uint32{{0, 40_000}, {40_960, 90_000}, {90_112, 150_000}}

func TestParsePictureIndexEachLayout(t *testing.T) {
	for _, layout := range PictureLayouts {
		t.Run(layout.Name, func(t *testing.T) {
			index, err := ParsePictureIndex("cam/index00p.bin", pictureIndex(layout, 1, pictureRanges))

			require.NoError(t, err)
			require.Equal(t, layout.Name, index.Layout.Name)
			require.Len(t, index.Pictures, 3)
			require.Equal(t, uint32(40_960), index.Pictures[1].StartOffset)
			require.Equal(t, uint32(90_000), index.Pictures[1].EndOffset)
			require.Equal(t, uint32(baseTime+60), index.Pictures[1].Time.Seconds())
			require.Equal(t, "hiv00000.pic", index.Pictures[1].PicName())
		})
	}
}

func TestParsePictureIndexSecondFile(t *testing.T) {
	layout := PictureLayouts[0]
	data := pictureIndex(layout, 2, nil)
	slot := data[HeaderSize+2*FileRecordSize+(layout.SlotsPerFile+4)*layout.SlotSize:]
	le.PutUint64(slot[8:], uint64(PackTime(baseTime, 0)))
	le.PutUint32(slot[40:], 1000)
	le.PutUint32(slot[44:], 5000)

	index, err := ParsePictureIndex("cam/index00p.bin", data)

	require.NoError(t, err)
	require.Len(t, index.Pictures, 1)
	require.Equal(t, uint32(1), index.Pictures[0].File)
	require.Equal(t, 4, index.Pictures[0].Slot)
}

func TestParsePictureIndexNoLayoutFits(t *testing.T) {
	data := pictureIndex(PictureLayouts[0], 1, pictureRanges)
	// A slot whose time is 1970 and whose range is reversed in every layout.
	slot := data[HeaderSize+FileRecordSize+5*80:]
	for i := range 96 {
		slot[i] = byte(i)
	}

	_, err := ParsePictureIndex("cam/index00p.bin", data)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "cam/index00p.bin")
	require.ErrorContains(t, err, "no known slot layout fits")
	require.ErrorContains(t, err, "80-byte video-like: slot 5 of file 0")
}

func TestParsePictureIndexEmpty(t *testing.T) {
	_, err := ParsePictureIndex("cam/index00p.bin", pictureIndex(PictureLayouts[0], 1, nil))

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "no slot is in use")
}

func TestParsePictureIndexOversizedPicture(t *testing.T) {
	data := pictureIndex(PictureLayouts[0], 1, [][2]uint32{{0, 0xFFFFFFF0}})

	_, err := ParsePictureIndex("cam/index00p.bin", data)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "more than 16777216 bytes for one picture")
}

func TestParsePictureIndexBadHeader(t *testing.T) {
	data := pictureIndex(PictureLayouts[0], 1, pictureRanges)
	le.PutUint32(data[12:], 0xFFFFFFFF)

	_, err := ParsePictureIndex("cam/index00p.bin", data)

	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "avFiles is 4294967295")
}

func TestCheckPicture(t *testing.T) {
	pic := make([]byte, 100_000)
	copy(pic[40_960:], []byte{0xFF, 0xD8, 0xFF, 0xE0})

	good := Picture{File: 3, StartOffset: 40_960, EndOffset: 90_000}
	require.NoError(t, CheckPicture(bytes.NewReader(pic), good))

	overwritten := Picture{File: 3, StartOffset: 0, EndOffset: 40_000}
	err := CheckPicture(bytes.NewReader(pic), overwritten)
	require.ErrorContains(t, err, "hiv00003.pic")
	require.ErrorContains(t, err, "not a JPEG")

	pastEnd := Picture{File: 3, StartOffset: 200_000, EndOffset: 210_000}
	require.Error(t, CheckPicture(bytes.NewReader(pic), pastEnd))
}

// pictureFuzzSize is the size the fuzz target pads its input to with zeros:
// one pic file in the largest layout. Inputs stay a few KB, because the fuzz
// engine minimizes every new input and takes minutes on large ones.
const pictureFuzzSize = HeaderSize + FileRecordSize + 4096*80

// FuzzParsePictureIndex checks that no input makes ParsePictureIndex panic or
// accept a picture that breaks the slot checks.
func FuzzParsePictureIndex(f *testing.F) {
	for _, layout := range PictureLayouts {
		f.Add(bytes.TrimRight(pictureIndex(layout, 1, pictureRanges[:1]), "\x00"))
	}
	f.Add(make([]byte, HeaderSize))

	f.Fuzz(func(t *testing.T, input []byte) {
		data := make([]byte, max(len(input), pictureFuzzSize))
		copy(data, input)

		index, err := ParsePictureIndex("fuzz", data)
		if err != nil {
			return
		}
		for _, p := range index.Pictures {
			if reason := checkPictureSlot(p); reason != "" {
				t.Fatalf("accepted a picture that %s", reason)
			}
			if int64(p.File) >= int64(index.Header.AVFiles) || p.Slot >= index.Layout.SlotsPerFile {
				t.Fatalf("picture at file %d slot %d is outside the index", p.File, p.Slot)
			}
		}
	})
}
