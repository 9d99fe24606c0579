package camsim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/hikarchive/hikarchive/internal/index"
)

// Defaults of PictureConfig fields left zero when pictures are enabled.
const (
	DefaultPictureFileSize = 1 << 20 // bytes per pic file, about 50 default pictures of 20 KB
	DefaultPictureDelay    = time.Second
	DefaultPictureWidth    = 640
	DefaultPictureHeight   = 360
)

// Picture index file names in the storage folder.
const (
	PictureIndexName     = index.PictureIndexName
	PictureIndexCopyName = "index01p.bin"
)

// pictureQuality is the JPEG quality of the simulated pictures, 1..100.
const pictureQuality = 80

// PictureConfig enables event pictures: one JPEG per segment, taken Delay
// after the segment starts, as a camera takes an event picture during a
// recording. The pictures go back to back into pre-allocated hivNNNNN.pic
// files written as a ring, and index00p.bin (with its copy index01p.bin)
// lists them.
//
// The picture index has the video index's 1280-byte header and 32-byte file
// records, then 256 slots of 80 bytes per pic file. The slots follow the
// layout that index.PictureLayouts calls "80-byte video-like". A slot holds
// the packed capture time at byte 8 (and again at 16), the start offset at
// 40 and the exclusive end offset at 44, and zeros elsewhere. Like the video
// index, slots are not cleared when a pic file is recycled.
type PictureConfig struct {
	Files int // number of pic files; 0 disables pictures

	// FileSize is the size of each pic file in bytes, at most 4 GiB - 1.
	// Default DefaultPictureFileSize. It must hold at least two pictures.
	FileSize int64

	// Delay is the camera time from a segment's first frame to its
	// picture, rounded down to a frame. It must be shorter than
	// SegmentDuration. Default DefaultPictureDelay, or half the segment
	// duration when that is shorter. A segment that closes before Delay
	// (its file filled up) has no picture.
	Delay time.Duration

	// Width and Height are the picture size in pixels. Default
	// DefaultPictureWidth x DefaultPictureHeight.
	Width, Height int
}

// PictureRecord describes one picture the camera wrote, for tests to
// compare with what a reader finds.
type PictureRecord struct {
	Channel uint16
	Segment int // index in Record of the segment during which it was taken

	File uint32 // pic file number, see index.PicName
	Slot int    // slot of the picture in File's part of the slot table

	Time        index.PackedTime // camera clock at the frame it shows
	StartOffset uint32           // byte offset in the pic file
	EndOffset   uint32           // exclusive end offset
	SHA256      string           // hex SHA-256 of the JPEG bytes

	// Overwritten is set once the camera starts writing File again.
	Overwritten bool
}

// pictures is the picture state of a camera.
type pictures struct {
	cfg         PictureConfig
	delayFrames int64
	table       *index.Table
	file        int   // pic file being written, -1 before the first picture
	slot        int   // slot of the newest picture in file
	end         int64 // end of the newest picture in file
	wrapped     bool  // the ring of pic files has gone round at least once
	records     []PictureRecord
}

// pictureDefaults fills in the defaults of cfg.Pictures and checks them.
func pictureDefaults(cfg Config) (Config, error) {
	p := &cfg.Pictures
	if p.Files == 0 {
		return cfg, nil
	}

	if p.FileSize == 0 {
		p.FileSize = DefaultPictureFileSize
	}
	if p.Delay == 0 {
		p.Delay = min(DefaultPictureDelay, cfg.SegmentDuration/2)
	}
	if p.Width == 0 {
		p.Width = DefaultPictureWidth
	}
	if p.Height == 0 {
		p.Height = DefaultPictureHeight
	}

	switch {
	case p.Files < 0 || p.Files > math.MaxUint16:
		return cfg, fmt.Errorf("camsim: Pictures.Files is %d; use 0 (no pictures) to %d", p.Files, math.MaxUint16)
	case p.FileSize < 0 || p.FileSize > 1<<32-1:
		return cfg, fmt.Errorf("camsim: Pictures.FileSize %d out of range; the picture index stores 32-bit offsets", p.FileSize)
	case p.Delay < 0 || p.Delay >= cfg.SegmentDuration:
		return cfg, fmt.Errorf("camsim: Pictures.Delay %v must be at least 0 and shorter than SegmentDuration %v", p.Delay, cfg.SegmentDuration)
	case p.Width < 16 || p.Height < 16 || p.Width > 4096 || p.Height > 4096:
		return cfg, fmt.Errorf("camsim: picture size %dx%d out of range; use 16..4096 pixels each way", p.Width, p.Height)
	}
	return cfg, nil
}

// newPictures creates the pic files and an empty picture index, or returns
// nil when pictures are disabled.
func newPictures(cfg Config) (*pictures, error) {
	pc := cfg.Pictures
	if pc.Files == 0 {
		return nil, nil
	}

	sample, err := pictureJPEG(pc.Width, pc.Height, cfg.Start)
	if err != nil {
		return nil, err
	}
	// A picture with more detail than the sample can be larger; twice the
	// sample leaves room for that.
	if pc.FileSize < 2*int64(len(sample)) {
		return nil, fmt.Errorf("camsim: Pictures.FileSize %d is too small for two %dx%d pictures of about %d bytes; use at least %d",
			pc.FileSize, pc.Width, pc.Height, len(sample), 2*len(sample))
	}

	for i := range pc.Files {
		path := filepath.Join(cfg.Dir, index.PicName(uint32(i)))
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("camsim: create pic file: %w", err)
		}
		err = f.Truncate(pc.FileSize)
		if closeErr := f.Close(); err == nil {
			err = closeErr
		}
		if err != nil {
			return nil, fmt.Errorf("camsim: pre-allocate %s to %d bytes: %w", path, pc.FileSize, err)
		}
	}

	p := &pictures{
		cfg:         pc,
		delayFrames: int64(pc.Delay / frameInterval),
		table:       index.NewTable(cfg.Version, pc.Files),
		file:        -1,
	}
	return p, p.writeIndex(cfg.Dir)
}

// pictureIfDue takes the picture of the channel's open segment when the
// frame just written is the one Delay after the segment's first frame.
func (c *Camera) pictureIfDue(ch *channel) error {
	p := c.pics
	if p == nil || ch.open == nil || ch.written-1-ch.open.firstFrame != p.delayFrames {
		return nil
	}

	capturedAt := c.wallAt(ch.written - 1)
	jpegBytes, err := pictureJPEG(p.cfg.Width, p.cfg.Height, capturedAt)
	if err != nil {
		return err
	}

	offset, err := p.place(int64(len(jpegBytes)))
	if err != nil {
		return err
	}
	path := filepath.Join(c.cfg.Dir, index.PicName(uint32(p.file)))
	if err := writeAt(path, jpegBytes, offset); err != nil {
		return err
	}

	when := index.PackWall(capturedAt)
	end := uint32(offset) + uint32(len(jpegBytes))
	p.table.Slots[p.file][p.slot] = index.Slot{Start: when, End: when, StartOffset: uint32(offset), EndOffset: end}
	slots := &p.table.Slots[p.file]
	p.table.Files[p.file] = index.FileRecord{
		FileNo:     uint32(p.file),
		Channel:    ch.number,
		SegRecNums: uint16(p.slot),
		StartTime:  slots[0].Start.Seconds(),
		EndTime:    when.Seconds(),
	}
	p.table.Header.LastFileRecNo = uint32(p.file)
	p.table.Header.NextFileRecNo = 0
	if p.wrapped {
		p.table.Header.NextFileRecNo = uint32((p.file + 1) % p.cfg.Files)
	}

	digest := sha256.Sum256(jpegBytes)
	p.records = append(p.records, PictureRecord{
		Channel:     ch.number,
		Segment:     ch.open.record,
		File:        uint32(p.file),
		Slot:        p.slot,
		Time:        when,
		StartOffset: uint32(offset),
		EndOffset:   end,
		SHA256:      hex.EncodeToString(digest[:]),
	})
	return p.writeIndex(c.cfg.Dir)
}

// place chooses where a picture of size bytes goes: right after the newest
// picture if its file has a slot and room left, else at the start of the
// next pic file of the ring. It returns the start offset.
func (p *pictures) place(size int64) (int64, error) {
	if size > p.cfg.FileSize {
		return 0, fmt.Errorf("camsim: a picture of %d bytes does not fit a pic file of %d bytes; raise Pictures.FileSize", size, p.cfg.FileSize)
	}
	if p.file >= 0 && p.slot+1 < index.SlotsPerFile && p.end+size <= p.cfg.FileSize {
		p.slot++
		offset := p.end
		p.end += size
		return offset, nil
	}

	p.file = (p.file + 1) % p.cfg.Files
	if p.file == 0 && len(p.records) > 0 {
		p.wrapped = true
	}
	for i := range p.records {
		if p.records[i].File == uint32(p.file) {
			p.records[i].Overwritten = true
		}
	}
	p.slot = 0
	p.end = size
	return 0, nil
}

// writeIndex increments modifyTimes and replaces index00p.bin and then
// index01p.bin by rename.
func (p *pictures) writeIndex(dir string) error {
	p.table.Header.ModifyTimes++
	b := index.Encode(p.table, 0)
	for _, name := range []string{PictureIndexName, PictureIndexCopyName} {
		if err := writeFileAtomic(dir, name, b); err != nil {
			return err
		}
	}
	return nil
}

// Pictures returns every picture the camera has taken, oldest first,
// including overwritten ones. It is empty when pictures are disabled.
func (c *Camera) Pictures() []PictureRecord {
	c.mu.Lock()
	defer c.mu.Unlock()

	if c.pics == nil {
		return nil
	}
	out := make([]PictureRecord, len(c.pics.records))
	copy(out, c.pics.records)
	return out
}

// writeAt writes b at offset of the existing file path.
func writeAt(path string, b []byte, offset int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("camsim: open pic file for writing: %w", err)
	}
	_, err = f.WriteAt(b, offset)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("camsim: write picture at offset %d of %s: %w", offset, path, err)
	}
	return nil
}

// pictureJPEG draws a test pattern of width x height pixels with the camera
// clock's time of day written in large block digits, and encodes it as a
// JPEG. The pattern changes with every second, so pictures of different
// segments differ.
func pictureJPEG(width, height int, wall time.Time) ([]byte, error) {
	img := image.NewYCbCr(image.Rect(0, 0, width, height), image.YCbCrSubsampleRatio420)
	shift := wall.Second() * 4
	for y := range height {
		for x := range width {
			r := uint8((x*255/width + shift) % 256)
			g := uint8(y * 255 / height)
			b := uint8(255 - (x+y)*255/(width+height))
			setRGB(img, x, y, r, g, b)
		}
	}

	text := wall.Format("15:04:05")
	block := max(1, min(width/(len(text)*4+2), height/7))
	left := (width - block*(len(text)*4-1)) / 2
	top := (height - block*5) / 2
	fillRect(img, left-block, top-block, block*(len(text)*4+1), block*7, 0, 0, 0)
	for i, ch := range text {
		glyph := digitGlyphs[ch]
		for row := range 5 {
			for col := range 3 {
				if glyph[row]>>(2-col)&1 == 1 {
					fillRect(img, left+(i*4+col)*block, top+row*block, block, block, 255, 255, 255)
				}
			}
		}
	}

	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: pictureQuality}); err != nil {
		return nil, fmt.Errorf("camsim: encode picture: %w", err)
	}
	return buf.Bytes(), nil
}

// digitGlyphs are 3x5 bitmaps of the characters of a time of day: each row
// is 3 bits, the high bit leftmost.
var digitGlyphs = map[rune][5]uint8{
	'0': {7, 5, 5, 5, 7}, '1': {2, 6, 2, 2, 7}, '2': {7, 1, 7, 4, 7},
	'3': {7, 1, 7, 1, 7}, '4': {5, 5, 7, 1, 1}, '5': {7, 4, 7, 1, 7},
	'6': {7, 4, 7, 5, 7}, '7': {7, 1, 1, 1, 1}, '8': {7, 5, 7, 5, 7},
	'9': {7, 5, 7, 1, 7}, ':': {0, 2, 0, 2, 0},
}

func fillRect(img *image.YCbCr, x0, y0, w, h int, r, g, b uint8) {
	for y := max(y0, 0); y < min(y0+h, img.Rect.Dy()); y++ {
		for x := max(x0, 0); x < min(x0+w, img.Rect.Dx()); x++ {
			setRGB(img, x, y, r, g, b)
		}
	}
}

func setRGB(img *image.YCbCr, x, y int, r, g, b uint8) {
	yy, cb, cr := color.RGBToYCbCr(r, g, b)
	img.Y[img.YOffset(x, y)] = yy
	img.Cb[img.COffset(x, y)] = cb
	img.Cr[img.COffset(x, y)] = cr
}
