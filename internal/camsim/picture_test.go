package camsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/index"
)

// pictureConfig is smallConfig with two pic files of 128 KiB, a few
// pictures each, so the picture ring wraps within a minute of camera time.
func pictureConfig(t *testing.T) Config {
	cfg := smallConfig(t)
	cfg.Pictures = PictureConfig{Files: 2, FileSize: 128 << 10}
	return cfg
}

func TestPicturesOffByDefault(t *testing.T) {
	cfg := smallConfig(t)
	cam, err := New(cfg)
	require.NoError(t, err)
	defer cam.Close()
	require.NoError(t, cam.Advance(10*time.Second))

	assert.Empty(t, cam.Pictures())
	_, err = os.Stat(filepath.Join(cfg.Dir, PictureIndexName))
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = os.Stat(filepath.Join(cfg.Dir, index.PicName(0)))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestPicturesOnePerSegment(t *testing.T) {
	cfg := pictureConfig(t)
	cam, err := New(cfg)
	require.NoError(t, err)
	defer cam.Close()

	for i := range cfg.Pictures.Files {
		info, err := os.Stat(filepath.Join(cfg.Dir, index.PicName(uint32(i))))
		require.NoError(t, err)
		assert.Equal(t, cfg.Pictures.FileSize, info.Size(), "pic file %d size", i)
	}

	require.NoError(t, cam.Advance(90*time.Second))
	segments := cam.Record()
	pictures := cam.Pictures()
	require.NotEmpty(t, pictures)

	overwritten := 0
	perSegment := map[int]int{}
	for _, p := range pictures {
		perSegment[p.Segment]++
		s := segments[p.Segment]
		assert.Equal(t, s.Channel, p.Channel)
		assert.Equal(t, s.Start.Wall().Add(time.Second), p.Time.Wall(), "picture of segment %d is taken 1 s after its start", p.Segment)
		if !s.Open {
			assert.True(t, p.Time.Wall().Before(s.End.Wall()), "picture of segment %d is taken before its end", p.Segment)
		}
		if p.Overwritten {
			overwritten++
			continue
		}

		data := readPicture(t, cfg.Dir, p)
		digest := sha256.Sum256(data)
		assert.Equal(t, p.SHA256, hex.EncodeToString(digest[:]))
		img, err := jpeg.Decode(bytes.NewReader(data))
		require.NoError(t, err)
		assert.Equal(t, DefaultPictureWidth, img.Bounds().Dx())
		assert.Equal(t, DefaultPictureHeight, img.Bounds().Dy())
	}
	assert.Greater(t, overwritten, 0, "the picture ring wrapped")
	for i, s := range segments {
		want := 1
		if s.Frames <= 25 {
			want = 0 // closed (file full) or still open before its picture was due
		}
		assert.Equal(t, want, perSegment[i], "pictures of segment %d with %d frames", i, s.Frames)
	}

	checkPictureIndex(t, cfg, pictures)
}

// checkPictureIndex reads index00p.bin and index01p.bin both with its own
// reading of the documented layout and with index.ParsePictureIndex, and
// compares them with the pictures that are not overwritten.
func checkPictureIndex(t *testing.T, cfg Config, pictures []PictureRecord) {
	t.Helper()
	le := binary.LittleEndian

	data, err := os.ReadFile(filepath.Join(cfg.Dir, PictureIndexName))
	require.NoError(t, err)
	copyData, err := os.ReadFile(filepath.Join(cfg.Dir, PictureIndexCopyName))
	require.NoError(t, err)
	assert.Equal(t, data, copyData, "index01p.bin is a copy of index00p.bin")
	assert.Equal(t, uint32(cfg.Pictures.Files), le.Uint32(data[12:]), "avFiles")

	parsed, err := index.ParsePictureIndex(PictureIndexName, data)
	require.NoError(t, err)
	assert.Equal(t, "80-byte video-like", parsed.Layout.Name)

	for _, p := range pictures {
		if p.Overwritten {
			continue
		}
		slot := data[index.HeaderSize+cfg.Pictures.Files*index.FileRecordSize+(int(p.File)*256+p.Slot)*80:]
		assert.Equal(t, uint64(p.Time), le.Uint64(slot[8:]), "time of picture in file %d slot %d", p.File, p.Slot)
		assert.Equal(t, p.StartOffset, le.Uint32(slot[40:]))
		assert.Equal(t, p.EndOffset, le.Uint32(slot[44:]))

		assert.Contains(t, parsed.Pictures, index.Picture{
			File: p.File, Slot: p.Slot, Time: p.Time, StartOffset: p.StartOffset, EndOffset: p.EndOffset,
		})
	}
}

func readPicture(t *testing.T, dir string, p PictureRecord) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, index.PicName(p.File)))
	require.NoError(t, err)
	defer f.Close()

	data := make([]byte, p.EndOffset-p.StartOffset)
	_, err = f.ReadAt(data, int64(p.StartOffset))
	require.NoError(t, err)
	return data
}

func TestPicturesDelayZeroShowsFirstFrame(t *testing.T) {
	cfg := pictureConfig(t)
	cfg.Pictures.Delay = time.Millisecond // rounds down to the first frame
	cam, err := New(cfg)
	require.NoError(t, err)
	defer cam.Close()
	require.NoError(t, cam.Advance(10*time.Second))

	segments := cam.Record()
	pictures := cam.Pictures()
	require.Len(t, pictures, len(segments))
	for _, p := range pictures {
		assert.Equal(t, segments[p.Segment].Start, p.Time)
	}
}

func TestPicturesRejectInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(*PictureConfig)
		want string
	}{
		{"delay as long as a segment", func(p *PictureConfig) { p.Delay = 3 * time.Second }, "Pictures.Delay"},
		{"negative files", func(p *PictureConfig) { p.Files = -1 }, "Pictures.Files"},
		{"file too small", func(p *PictureConfig) { p.FileSize = 1000 }, "too small"},
		{"tiny picture", func(p *PictureConfig) { p.Width = 8 }, "picture size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := pictureConfig(t)
			tt.edit(&cfg.Pictures)
			_, err := New(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
