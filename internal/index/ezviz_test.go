package index

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// ezvizIndex returns an index with count OFNI slots from byte 4096 on, as the
// EZVIZ layout is found by searching rather than at a fixed offset.
func ezvizIndex(count int) []byte {
	data := make([]byte, 4096+count*ezvizSlotSize+1024)
	for i := range count {
		slot := data[4096+i*ezvizSlotSize:]
		copy(slot, ezvizSignature)
		le.PutUint32(slot[8:], baseTime+uint32(60*i))
		le.PutUint32(slot[24:], uint32(i)*1_000_000)
		le.PutUint32(slot[28:], uint32(i)*1_000_000+900_000)
	}
	return data
}

func TestDetectEZVIZ(t *testing.T) {
	err := DetectEZVIZ("sd/index00.bin", ezvizIndex(3))

	require.ErrorIs(t, err, ErrUnsupported)
	require.ErrorContains(t, err, "sd/index00.bin")
	require.ErrorContains(t, err, "found 3 EZVIZ index slots")
	require.ErrorContains(t, err, "first at byte 4096")
	require.ErrorContains(t, err, "not supported yet")
}

func TestDetectEZVIZHikvisionIndex(t *testing.T) {
	require.NoError(t, DetectEZVIZ("index00.bin", encodeTable(ringTable())))
}

func TestDetectEZVIZCorpus(t *testing.T) {
	require.NoError(t, DetectEZVIZ("corpus", loadCorpusIndex(t)))
}

func TestDetectEZVIZChanceMatch(t *testing.T) {
	// One OFNI inside a valid Hikvision index is a coincidence.
	data := encodeTable(ringTable())
	copy(data[SlotOffset(3, 1, 200):], ezvizSignature)

	require.NoError(t, DetectEZVIZ("index00.bin", data))
}

func TestDetectEZVIZUnaligned(t *testing.T) {
	// Signatures that are not 80 bytes apart do not form slots.
	data := make([]byte, 2048)
	copy(data[100:], ezvizSignature)
	copy(data[150:], ezvizSignature)

	require.Equal(t, []int{100}, EZVIZSlots(data))
}

func TestReadDatadirAnyEZVIZ(t *testing.T) {
	dir := t.TempDir()
	path := writeIndex(t, dir, PrimaryName, ezvizIndex(5))

	var r Reader
	_, err := r.ReadDatadirAny(dir)

	require.ErrorIs(t, err, ErrUnsupported)
	require.ErrorContains(t, err, path)
}

func TestReadDatadirAnyEZVIZPictures(t *testing.T) {
	// The extractor that documents OFNI found it in index00p.bin.
	dir := t.TempDir()
	writeIndex(t, dir, PrimaryName, make([]byte, 4096))
	path := writeIndex(t, dir, PictureIndexName, ezvizIndex(2))

	var r Reader
	_, err := r.ReadDatadirAny(dir)

	require.ErrorIs(t, err, ErrUnsupported)
	require.ErrorContains(t, err, path)
}

// FuzzDetectEZVIZ checks that no input makes DetectEZVIZ panic, and that it
// reports every input with two aligned OFNI slots.
func FuzzDetectEZVIZ(f *testing.F) {
	f.Add(ezvizIndex(2)[4000:])
	f.Add([]byte("OFNI"))
	f.Add(make([]byte, HeaderSize))

	f.Fuzz(func(t *testing.T, data []byte) {
		err := DetectEZVIZ("fuzz", data)
		slots := EZVIZSlots(data)
		for i, offset := range slots {
			if (offset-slots[0])%ezvizSlotSize != 0 {
				t.Fatalf("slot %d at byte %d is not aligned with the first at %d", i, offset, slots[0])
			}
		}
		if len(slots) >= 2 && err == nil {
			t.Fatalf("%d aligned OFNI slots not reported", len(slots))
		}
	})
}
