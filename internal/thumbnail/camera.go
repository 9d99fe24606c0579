package thumbnail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/image/draw"

	"github.com/hikarchive/hikarchive/internal/index"
)

// Reasons why FromCameraPicture made no thumbnail. Errors wrap exactly one
// of them, so a caller can fall back to Extract and record the reason.
var (
	ErrNoPictureIndex      = errors.New("the storage folder has no picture index (index00p.bin, index01p.bin or event_db_index00)")
	ErrInvalidPictureIndex = errors.New("the picture index cannot be read")
	ErrNoPicture           = errors.New("the camera took no picture during the segment")
	ErrInvalidPicture      = errors.New("the camera's picture is not a valid JPEG")
)

// SourceCamera is the Source.Kind of a thumbnail made from a camera picture.
const SourceCamera = "camera"

const (
	// pictureIndexCopyName is the copy of index00p.bin that cameras keep,
	// like index01.bin for the video index.
	pictureIndexCopyName = "index01p.bin"

	// maxPictureIndexSize bounds the bytes read from a picture index. The
	// video index of a real camera is pre-allocated to 16 MiB, and the
	// picture index is assumed to be no larger than four times that.
	maxPictureIndexSize = 64 << 20

	// maxPicturePixels bounds the decoded size of a camera picture, so a
	// damaged JPEG header cannot make the decoder allocate gigabytes. It is
	// above the 32 megapixels of the largest camera sensors sold today
	// (an estimate, not a measured limit).
	maxPicturePixels = 50_000_000

	// maxCandidates is the number of pictures in the segment tried before
	// giving up: a camera can take several per segment, and the first may
	// have been overwritten.
	maxCandidates = 3

	// cameraJPEGQuality is the quality of the scaled JPEG, 1..100.
	cameraJPEGQuality = 85
)

// Source describes the camera picture a thumbnail was made from.
type Source struct {
	Kind    string           // SourceCamera
	PicFile string           // hivNNNNN.pic
	Offset  uint32           // byte offset of the JPEG in PicFile
	Size    int64            // bytes of the JPEG
	Time    index.PackedTime // camera clock when the picture was taken
	Width   int              // pixels of the camera picture
	Height  int
}

// FromCameraPicture makes a thumbnail of segment from an event picture that
// the camera stored in datadir, instead of decoding the video. It reads
// index00p.bin (or its copy index01p.bin when that one cannot be read), or
// event_db_index00 on newer firmware when neither exists. It takes the
// picture taken during the segment that is closest to its start.
// The picture must be a JPEG, lie within its pic file and decode. It is
// scaled to opts.Width, the height following its aspect ratio rounded down to
// an even number, and encoded as a JPEG. Only opts.Width is used.
//
// Camera files are opened read-only. Errors wrap ErrNoPictureIndex,
// ErrInvalidPictureIndex, ErrNoPicture or ErrInvalidPicture, or are
// ctx.Err() when ctx ends first.
//
// NOTE: the picture index stores no channel, so in a storage folder that
// several channels record into, a picture of another channel taken during
// the segment can be chosen. Use it only for single-channel storage.
func FromCameraPicture(ctx context.Context, datadir string, segment index.Segment, opts Options) ([]byte, Source, error) {
	if opts.Width < 1 {
		return nil, Source{}, fmt.Errorf("thumbnail: invalid width %d: use a width of at least 1 pixel", opts.Width)
	}
	if segment.Open || segment.End.IsZero() {
		return nil, Source{}, fmt.Errorf("thumbnail: segment %s is still being recorded, so its time range is not known: %w", segment.Key(), ErrNoPicture)
	}

	pictures, err := readPictureIndex(datadir)
	if err != nil {
		return nil, Source{}, err
	}

	candidates := picturesDuring(pictures, segment)
	if len(candidates) == 0 {
		return nil, Source{}, fmt.Errorf("thumbnail: none of the %d pictures in %s was taken between %s and %s: %w",
			len(pictures.Pictures), pictures.File,
			segment.Start.Wall().Format("2006-01-02 15:04:05.000"), segment.End.Wall().Format("2006-01-02 15:04:05.000"), ErrNoPicture)
	}

	var errs []error
	for _, picture := range candidates[:min(len(candidates), maxCandidates)] {
		if err := ctx.Err(); err != nil {
			return nil, Source{}, err
		}

		thumb, source, err := scalePicture(datadir, picture, opts.Width)
		if err == nil {
			return thumb, source, nil
		}
		errs = append(errs, err)
	}
	return nil, Source{}, fmt.Errorf("thumbnail: %w: %w", ErrInvalidPicture, errors.Join(errs...))
}

// readPictureIndex parses index00p.bin, or index01p.bin when index00p.bin is
// missing or cannot be parsed. When both are missing it reads
// event_db_index00. An old binary index left beside event_db_index00 after a
// firmware upgrade would be read first.
func readPictureIndex(datadir string) (*index.PictureIndex, error) {
	var errs []error
	missing := 0
	for _, name := range []string{index.PictureIndexName, pictureIndexCopyName} {
		path := filepath.Join(datadir, name)
		data, err := readFileMax(path, maxPictureIndexSize)
		if errors.Is(err, fs.ErrNotExist) {
			missing++
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}

		if listsNoPicture(data) {
			return nil, fmt.Errorf("thumbnail: %s lists no picture yet: %w", path, ErrNoPicture)
		}
		pictures, err := index.ParsePictureIndex(path, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return pictures, nil
	}

	if missing == 2 {
		return readEventDB(datadir)
	}
	return nil, fmt.Errorf("thumbnail: %w: %w", ErrInvalidPictureIndex, errors.Join(errs...))
}

// readEventDB reads event_db_index00 of datadir into a PictureIndex whose
// Header and Layout are zero.
func readEventDB(datadir string) (*index.PictureIndex, error) {
	path := filepath.Join(datadir, index.EventDBName)
	pictures, err := index.ReadEventDB(path)

	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("thumbnail: %s: %w", datadir, ErrNoPictureIndex)
	case err != nil:
		return nil, fmt.Errorf("thumbnail: %w: %w", ErrInvalidPictureIndex, err)
	case len(pictures) == 0:
		return nil, fmt.Errorf("thumbnail: %s lists no picture yet: %w", path, ErrNoPicture)
	}
	return &index.PictureIndex{File: path, Pictures: pictures}, nil
}

// readFileMax reads the file at path, which must be at most limit bytes.
func readFileMax(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes, too large for a picture index; check that it is one", path, limit)
	}
	return data, nil
}

// listsNoPicture reports whether a picture index has a valid-looking header
// but every byte after its file table is zero, as on a card where the camera
// has not taken a picture yet. index.ParsePictureIndex rejects such an index
// because no slot layout can be confirmed.
func listsNoPicture(data []byte) bool {
	if len(data) < index.HeaderSize {
		return false
	}

	files := int64(data[12]) | int64(data[13])<<8 | int64(data[14])<<16 | int64(data[15])<<24
	slotsStart := int64(index.HeaderSize) + files*index.FileRecordSize
	if files == 0 || slotsStart+files*index.SlotsPerFile*index.SlotSize > int64(len(data)) {
		return false
	}
	for _, b := range data[slotsStart:] {
		if b != 0 {
			return false
		}
	}
	return true
}

// picturesDuring returns the pictures taken from the segment's start up to
// its end, earliest first, leaving out those that a later picture in the same
// pic file overlaps: the camera has written over them.
func picturesDuring(pictures *index.PictureIndex, segment index.Segment) []index.Picture {
	start, end := segment.Start.Wall(), segment.End.Wall()

	var out []index.Picture
	for _, p := range pictures.Pictures {
		taken := p.Time.Wall()
		if taken.Before(start) || !taken.Before(end) {
			continue
		}
		if overwritten(pictures.Pictures, p) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// overwritten reports whether a picture taken after p lies in the same pic
// file over some of p's bytes.
func overwritten(pictures []index.Picture, p index.Picture) bool {
	for _, other := range pictures {
		if other.File != p.File || !other.Time.Wall().After(p.Time.Wall()) {
			continue
		}
		if other.StartOffset < p.EndOffset && p.StartOffset < other.EndOffset {
			return true
		}
	}
	return false
}

// scalePicture reads picture from its pic file, decodes it and returns it
// scaled to width as a JPEG.
func scalePicture(datadir string, picture index.Picture, width int) ([]byte, Source, error) {
	source := Source{
		Kind:    SourceCamera,
		PicFile: picture.PicName(),
		Offset:  picture.StartOffset,
		Size:    picture.Size(),
		Time:    picture.Time,
	}

	data, err := readPicture(filepath.Join(datadir, picture.PicName()), picture)
	if err != nil {
		return nil, source, err
	}

	config, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, source, fmt.Errorf("picture at byte %d of %s: %w", picture.StartOffset, picture.PicName(), err)
	}
	if config.Width < 1 || config.Height < 1 || int64(config.Width)*int64(config.Height) > maxPicturePixels {
		return nil, source, fmt.Errorf("picture at byte %d of %s is %dx%d pixels, outside 1 to %d pixels", picture.StartOffset, picture.PicName(), config.Width, config.Height, maxPicturePixels)
	}
	decoded, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, source, fmt.Errorf("picture at byte %d of %s: %w", picture.StartOffset, picture.PicName(), err)
	}
	source.Width, source.Height = config.Width, config.Height

	thumb, err := scaleJPEG(decoded, width)
	if err != nil {
		return nil, source, err
	}
	return thumb, source, nil
}

// readPicture reads the bytes of picture from the pic file at path and
// checks that they lie within the file and start like a JPEG.
func readPicture(path string, picture index.Picture) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open pic file: %w", err)
	}
	defer f.Close()

	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat pic file: %w", err)
	}
	if int64(picture.EndOffset) > info.Size() {
		return nil, fmt.Errorf("picture at bytes %d to %d of %s ends past the end of the file (%d bytes); the index or the file is damaged",
			picture.StartOffset, picture.EndOffset, path, info.Size())
	}
	if err := index.CheckPicture(f, picture); err != nil {
		return nil, err
	}

	data := make([]byte, picture.Size())
	if _, err := f.ReadAt(data, int64(picture.StartOffset)); err != nil {
		return nil, fmt.Errorf("read picture at byte %d of %s: %w", picture.StartOffset, path, err)
	}
	return data, nil
}

// scaleJPEG scales img to width pixels, the height following its aspect
// ratio rounded down to an even number (at least 2), as Extract does, and
// encodes the result as a JPEG.
func scaleJPEG(img image.Image, width int) ([]byte, error) {
	bounds := img.Bounds()
	height := max(2, width*bounds.Dy()/bounds.Dx()/2*2)
	if int64(width)*int64(height) > maxPicturePixels {
		return nil, fmt.Errorf("a thumbnail %d pixels wide would be %dx%d pixels; use a smaller width", width, width, height)
	}

	scaled := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.CatmullRom.Scale(scaled, scaled.Bounds(), img, bounds, draw.Src, nil)

	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, scaled, &jpeg.Options{Quality: cameraJPEGQuality}); err != nil {
		return nil, fmt.Errorf("encode thumbnail: %w", err)
	}
	return buf.Bytes(), nil
}
