package thumbnail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/camsim"
	"github.com/hikarchive/hikarchive/internal/index"
)

// pictureCamera records 40 s of 3 s segments with one 640x360 event picture
// per segment, 1 s after its start, in two pic files of 128 KiB. A file
// holds about six pictures, so the picture ring wraps.
func pictureCamera(t *testing.T) *camsim.Camera {
	t.Helper()
	cam, err := camsim.New(camsim.Config{
		Dir:             filepath.Join(t.TempDir(), "sd"),
		Files:           4,
		FileSize:        1 << 20,
		SegmentDuration: 3 * time.Second,
		Pictures:        camsim.PictureConfig{Files: 2, FileSize: 128 << 10},
	})
	require.NoError(t, err)
	t.Cleanup(func() { cam.Close() })
	require.NoError(t, cam.Advance(40*time.Second))
	return cam
}

// segmentOf returns the index segment the camera recorded as r.
func segmentOf(r camsim.Recorded) index.Segment {
	return index.Segment{
		Channel: r.Channel, File: r.File, Slot: uint16(r.Slot), Start: r.Start, End: r.End,
		StartOffset: r.StartOffset, EndOffset: r.EndOffset, Open: r.Open,
	}
}

// newestPicture returns the newest picture of a closed segment and that
// segment.
func newestPicture(t *testing.T, cam *camsim.Camera) (camsim.PictureRecord, index.Segment) {
	t.Helper()
	pictures := cam.Pictures()
	segments := cam.Record()
	for i := len(pictures) - 1; i >= 0; i-- {
		if s := segments[pictures[i].Segment]; !s.Open {
			return pictures[i], segmentOf(s)
		}
	}
	t.Fatal("the camera took no picture during a closed segment")
	return camsim.PictureRecord{}, index.Segment{}
}

func TestFromCameraPictureEverySegment(t *testing.T) {
	cam := pictureCamera(t)
	segments := cam.Record()

	checked := 0
	for _, p := range cam.Pictures() {
		s := segments[p.Segment]
		if p.Overwritten || s.Open {
			continue
		}

		thumb, source, err := FromCameraPicture(context.Background(), cam.Dir(), segmentOf(s), Options{Width: 160})
		require.NoError(t, err, "segment %d", p.Segment)

		width, height := decodeJPEG(t, thumb)
		assert.Equal(t, 160, width)
		assert.Equal(t, 90, height, "16:9 like the 640x360 picture")
		assert.Equal(t, SourceCamera, source.Kind)
		assert.Equal(t, index.PicName(p.File), source.PicFile)
		assert.Equal(t, p.StartOffset, source.Offset)
		assert.Equal(t, int64(p.EndOffset-p.StartOffset), source.Size)
		assert.Equal(t, p.Time, source.Time)
		assert.Equal(t, 640, source.Width)
		assert.Equal(t, 360, source.Height)
		checked++
	}
	require.Greater(t, checked, 5)
}

func TestFromCameraPictureOddWidth(t *testing.T) {
	cam := pictureCamera(t)
	_, segment := newestPicture(t, cam)

	thumb, _, err := FromCameraPicture(context.Background(), cam.Dir(), segment, Options{Width: 101})
	require.NoError(t, err)
	width, height := decodeJPEG(t, thumb)
	assert.Equal(t, 101, width)
	assert.Equal(t, 56, height, "101*360/640 = 56.8, rounded down to even")
}

func TestFromCameraPictureNoPictureIndex(t *testing.T) {
	cam, err := camsim.New(camsim.Config{Dir: t.TempDir(), Files: 2, FileSize: 1 << 20, SegmentDuration: 3 * time.Second})
	require.NoError(t, err)
	defer cam.Close()
	require.NoError(t, cam.Advance(4*time.Second))

	_, _, err = FromCameraPicture(context.Background(), cam.Dir(), segmentOf(cam.Record()[0]), Options{Width: 160})
	require.ErrorIs(t, err, ErrNoPictureIndex)

	// Newer firmware keeps pictures in SQLite. A file cut short within the
	// SQLite header cannot be read, and the error names it.
	require.NoError(t, os.WriteFile(filepath.Join(cam.Dir(), index.EventDBName), []byte("SQLite format 3\x00"), 0o644))
	_, _, err = FromCameraPicture(context.Background(), cam.Dir(), segmentOf(cam.Record()[0]), Options{Width: 160})
	require.ErrorIs(t, err, ErrInvalidPictureIndex)
	assert.Contains(t, err.Error(), index.EventDBName)
}

func TestFromCameraPictureEmptyPictureIndex(t *testing.T) {
	cam, err := camsim.New(camsim.Config{
		Dir: t.TempDir(), Files: 2, FileSize: 1 << 20, SegmentDuration: 3 * time.Second,
		Pictures: camsim.PictureConfig{Files: 1, Delay: 2900 * time.Millisecond},
	})
	require.NoError(t, err)
	defer cam.Close()

	// The first picture is due 2.9 s in. At 2 s the index lists none, and
	// the open first segment is passed as if it had closed then.
	require.NoError(t, cam.Advance(2*time.Second))
	require.Empty(t, cam.Pictures())
	segment := segmentOf(cam.Record()[0])
	segment.Open, segment.End, segment.EndOffset = false, index.PackWall(segment.Start.Wall().Add(2*time.Second)), segment.StartOffset+1

	_, _, err = FromCameraPicture(context.Background(), cam.Dir(), segment, Options{Width: 160})
	require.ErrorIs(t, err, ErrNoPicture)
	assert.Contains(t, err.Error(), "lists no picture yet")
}

func TestFromCameraPictureNoneInSegment(t *testing.T) {
	cam := pictureCamera(t)
	_, segment := newestPicture(t, cam)

	// The same segment a minute later: no picture was taken then.
	later := segment
	later.Start = index.PackWall(segment.Start.Wall().Add(time.Minute))
	later.End = index.PackWall(segment.End.Wall().Add(time.Minute))
	_, _, err := FromCameraPicture(context.Background(), cam.Dir(), later, Options{Width: 160})
	require.ErrorIs(t, err, ErrNoPicture)

	open := segment
	open.Open, open.End = true, 0
	_, _, err = FromCameraPicture(context.Background(), cam.Dir(), open, Options{Width: 160})
	require.ErrorIs(t, err, ErrNoPicture)
	assert.Contains(t, err.Error(), "still being recorded")
}

func TestFromCameraPictureGarbageIndex(t *testing.T) {
	cam := pictureCamera(t)
	picture, segment := newestPicture(t, cam)
	garbage := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}

	// A damaged index00p.bin: the copy index01p.bin is read instead.
	primary := filepath.Join(cam.Dir(), camsim.PictureIndexName)
	require.NoError(t, os.WriteFile(primary, garbage, 0o644))
	_, source, err := FromCameraPicture(context.Background(), cam.Dir(), segment, Options{Width: 160})
	require.NoError(t, err)
	assert.Equal(t, picture.StartOffset, source.Offset)

	// Both damaged.
	require.NoError(t, os.WriteFile(filepath.Join(cam.Dir(), camsim.PictureIndexCopyName), garbage[:700], 0o644))
	_, _, err = FromCameraPicture(context.Background(), cam.Dir(), segment, Options{Width: 160})
	require.ErrorIs(t, err, ErrInvalidPictureIndex)
	assert.Contains(t, err.Error(), "index00p.bin")
	assert.Contains(t, err.Error(), "index01p.bin")
}

// setPictureRange rewrites the byte range of a picture's slot in both
// picture indexes, in the 80-byte layout the simulator writes.
func setPictureRange(t *testing.T, dir string, picture camsim.PictureRecord, files int, start, end uint32) {
	t.Helper()
	for _, name := range []string{camsim.PictureIndexName, camsim.PictureIndexCopyName} {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		slot := index.HeaderSize + files*index.FileRecordSize + (int(picture.File)*index.SlotsPerFile+picture.Slot)*index.SlotSize
		binary.LittleEndian.PutUint32(data[slot+40:], start)
		binary.LittleEndian.PutUint32(data[slot+44:], end)
		require.NoError(t, os.WriteFile(path, data, 0o644))
	}
}

func TestFromCameraPictureInvalidPicture(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string, picture camsim.PictureRecord)
		want   string
	}{
		{"truncated pic file", func(t *testing.T, dir string, p camsim.PictureRecord) {
			require.NoError(t, os.Truncate(filepath.Join(dir, index.PicName(p.File)), int64(p.StartOffset)+100))
		}, "ends past the end of the file"},
		{"range past the file", func(t *testing.T, dir string, p camsim.PictureRecord) {
			setPictureRange(t, dir, p, 2, 190<<10, 200<<10)
		}, "ends past the end of the file"},
		{"end offset inside the picture", func(t *testing.T, dir string, p camsim.PictureRecord) {
			setPictureRange(t, dir, p, 2, p.StartOffset, p.StartOffset+(p.EndOffset-p.StartOffset)/2)
		}, "short Huffman data"},
		{"not a JPEG", func(t *testing.T, dir string, p camsim.PictureRecord) {
			overwrite(t, dir, p, []byte{0, 0, 1, 0xba})
		}, "not a JPEG"},
		{"JPEG that ends at once", func(t *testing.T, dir string, p camsim.PictureRecord) {
			overwrite(t, dir, p, []byte{0xff, 0xd8, 0xff, 0xd9})
		}, "invalid JPEG format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cam := pictureCamera(t)
			picture, segment := newestPicture(t, cam)
			tt.damage(t, cam.Dir(), picture)

			_, _, err := FromCameraPicture(context.Background(), cam.Dir(), segment, Options{Width: 160})
			require.ErrorIs(t, err, ErrInvalidPicture)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), index.PicName(picture.File))
		})
	}
}

// overwrite writes b over the start of picture in its pic file.
func overwrite(t *testing.T, dir string, picture camsim.PictureRecord, b []byte) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, index.PicName(picture.File)), os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteAt(b, int64(picture.StartOffset))
	require.NoError(t, err)
}

func TestFromCameraPictureSkipsOverwrittenSlot(t *testing.T) {
	cam := pictureCamera(t)
	pictures := cam.Pictures()
	segments := cam.Record()

	// Pictures of an earlier cycle of a recycled pic file keep their
	// slots, so the index still lists them. One may be used only while no
	// newer picture covers its bytes.
	skipped := 0
	for _, p := range pictures {
		if !p.Overwritten || segments[p.Segment].Open {
			continue
		}
		_, source, err := FromCameraPicture(context.Background(), cam.Dir(), segmentOf(segments[p.Segment]), Options{Width: 160})
		if err != nil {
			require.ErrorIs(t, err, ErrNoPicture)
			skipped++
			continue
		}
		require.Equal(t, p.Time, source.Time)
		assert.Equal(t, p.SHA256, picFileSHA256(t, cam.Dir(), p), "picture of segment %d was used after it was overwritten", p.Segment)
	}
	require.Greater(t, skipped, 0, "no overwritten picture was skipped")
}

// picFileSHA256 returns the hex SHA-256 of the bytes of picture's range in
// its pic file as they are now.
func picFileSHA256(t *testing.T, dir string, picture camsim.PictureRecord) string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, index.PicName(picture.File)))
	require.NoError(t, err)
	defer f.Close()
	data := make([]byte, picture.EndOffset-picture.StartOffset)
	_, err = f.ReadAt(data, int64(picture.StartOffset))
	require.NoError(t, err)
	digest := sha256.Sum256(data)
	return hex.EncodeToString(digest[:])
}

func TestFromCameraPictureInvalidWidth(t *testing.T) {
	cam := pictureCamera(t)
	_, segment := newestPicture(t, cam)
	_, _, err := FromCameraPicture(context.Background(), cam.Dir(), segment, Options{Width: 0})
	require.ErrorContains(t, err, "invalid width 0")
}

func TestFromCameraPictureCanceled(t *testing.T) {
	cam := pictureCamera(t)
	_, segment := newestPicture(t, cam)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := FromCameraPicture(ctx, cam.Dir(), segment, Options{Width: 160})
	require.ErrorIs(t, err, context.Canceled)
}

// eventDBTime is the camera time of the segment in the event_db_index00
// tests, 2023-11-14 22:13:20.
const eventDBTime = 1_700_000_000

// eventDBDatadir creates a datadir that holds only event_db_index00, with a
// picture table that mirrors record_segment_idx_tb, and hiv00000.pic, with a
// 320x180 JPEG at byte 4096 taken 10 s into the segment. It returns the
// datadir, the database's path and the JPEG's size.
func eventDBDatadir(t *testing.T, statements ...string) (string, string, int) {
	t.Helper()
	dir := t.TempDir()

	img := image.NewRGBA(image.Rect(0, 0, 320, 180))
	for x := range 320 {
		img.Set(x, 90, color.RGBA{R: 200, A: 255})
	}
	var picture bytes.Buffer
	require.NoError(t, jpeg.Encode(&picture, img, nil))
	pic := append(make([]byte, 4096), picture.Bytes()...)
	pic = append(pic, make([]byte, 4096)...)
	require.NoError(t, os.WriteFile(filepath.Join(dir, index.PicName(0)), pic, 0o644))

	path := filepath.Join(dir, index.EventDBName)
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	if statements == nil {
		statements = []string{
			`CREATE TABLE pic_segment_idx_tb (id INTEGER PRIMARY KEY, file_no INTEGER, start_offset INTEGER, end_offset INTEGER,
				start_time_tv_sec INTEGER, end_time_tv_sec INTEGER, record_type INTEGER)`,
			`INSERT INTO pic_segment_idx_tb (file_no, start_offset, end_offset, start_time_tv_sec, end_time_tv_sec, record_type)
				VALUES (0, 0, 0, 0, 0, 0)`,
			fmt.Sprintf(`INSERT INTO pic_segment_idx_tb (file_no, start_offset, end_offset, start_time_tv_sec, end_time_tv_sec, record_type)
				VALUES (0, 4096, %d, %d, %d, 1)`, 4096+picture.Len(), eventDBTime+10, eventDBTime+10),
		}
	}
	for _, statement := range statements {
		_, err := db.Exec(statement)
		require.NoError(t, err, statement)
	}
	return dir, path, picture.Len()
}

// eventDBSegment is a closed 60 s segment starting at eventDBTime.
func eventDBSegment() index.Segment {
	return index.Segment{
		Channel: 1, File: 0, Start: index.PackTime(eventDBTime, 0), End: index.PackTime(eventDBTime+60, 0),
		StartOffset: 0, EndOffset: 1 << 20,
	}
}

func TestFromCameraPictureEventDB(t *testing.T) {
	dir, _, size := eventDBDatadir(t)

	thumb, source, err := FromCameraPicture(context.Background(), dir, eventDBSegment(), Options{Width: 160})

	require.NoError(t, err)
	width, height := decodeJPEG(t, thumb)
	assert.Equal(t, 160, width)
	assert.Equal(t, 90, height)
	assert.Equal(t, SourceCamera, source.Kind)
	assert.Equal(t, "hiv00000.pic", source.PicFile)
	assert.Equal(t, uint32(4096), source.Offset)
	assert.Equal(t, int64(size), source.Size)
	assert.Equal(t, index.PackTime(eventDBTime+10, 0), source.Time)
	assert.Equal(t, 320, source.Width)
	assert.Equal(t, 180, source.Height)
}

func TestFromCameraPictureEventDBNoneInSegment(t *testing.T) {
	dir, path, _ := eventDBDatadir(t)
	later := eventDBSegment()
	later.Start = index.PackTime(eventDBTime+3600, 0)
	later.End = index.PackTime(eventDBTime+3660, 0)

	_, _, err := FromCameraPicture(context.Background(), dir, later, Options{Width: 160})

	require.ErrorIs(t, err, ErrNoPicture)
	assert.Contains(t, err.Error(), path)
}

func TestFromCameraPictureEventDBEmpty(t *testing.T) {
	dir, _, _ := eventDBDatadir(t, `CREATE TABLE pic_segment_idx_tb (file_no, start_offset, end_offset, start_time_tv_sec, record_type)`)

	_, _, err := FromCameraPicture(context.Background(), dir, eventDBSegment(), Options{Width: 160})

	require.ErrorIs(t, err, ErrNoPicture)
	assert.Contains(t, err.Error(), "lists no picture yet")
}

func TestFromCameraPictureEventDBUnknownSchema(t *testing.T) {
	dir, path, _ := eventDBDatadir(t, `CREATE TABLE event_log_tb (id, channel, event_time, pic_path)`)

	_, _, err := FromCameraPicture(context.Background(), dir, eventDBSegment(), Options{Width: 160})

	require.ErrorIs(t, err, ErrInvalidPictureIndex)
	require.ErrorIs(t, err, index.ErrUnsupported)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "event_log_tb(id, channel, event_time, pic_path)")
}

func TestFromCameraPictureEventDBGarbage(t *testing.T) {
	dir, path, _ := eventDBDatadir(t)
	garbage := make([]byte, 8192)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	require.NoError(t, os.WriteFile(path, garbage, 0o644))

	_, _, err := FromCameraPicture(context.Background(), dir, eventDBSegment(), Options{Width: 160})

	require.ErrorIs(t, err, ErrInvalidPictureIndex)
	require.ErrorIs(t, err, index.ErrFormat)
	assert.Contains(t, err.Error(), path)
}

func TestFromCameraPictureBinaryIndexFirst(t *testing.T) {
	// A binary picture index left beside event_db_index00 is read first,
	// even when it is damaged.
	dir, _, _ := eventDBDatadir(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, index.PictureIndexName), make([]byte, 100), 0o644))

	_, _, err := FromCameraPicture(context.Background(), dir, eventDBSegment(), Options{Width: 160})

	require.ErrorIs(t, err, ErrInvalidPictureIndex)
	assert.Contains(t, err.Error(), index.PictureIndexName)
}
