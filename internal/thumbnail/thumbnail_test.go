package thumbnail

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireFFmpeg skips the test when ffmpeg is not installed.
func requireFFmpeg(t *testing.T) {
	t.Helper()

	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not in PATH; install it (apt-get install ffmpeg) to run the thumbnail tests")
	}
}

// encodeProgramStream returns a clip of ffmpeg's test pattern encoded with
// libx264 and muxed as an MPEG-2 Program Stream (ffmpeg's "vob" muxer),
// like the contents of a hiv file. extra goes before the output options.
func encodeProgramStream(t *testing.T, size string, seconds int, extra ...string) []byte {
	t.Helper()
	requireFFmpeg(t)

	args := []string{
		"-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc=size=" + size + ":rate=25",
		"-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-pix_fmt", "yuv420p", "-threads", "1",
	}
	args = append(args, extra...)
	args = append(args, "-f", "vob", "pipe:1")

	var stdout, stderr bytes.Buffer
	cmd := exec.Command("ffmpeg", args...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), "making the test stream failed: %s", stderr.String())
	require.NotZero(t, stdout.Len())

	return stdout.Bytes()
}

// cutAtPack returns data from the first pack header (00 00 01 BA) at or
// after offset, as a segment cut out of the middle of a hiv file starts.
func cutAtPack(t *testing.T, data []byte, offset int) []byte {
	t.Helper()

	index := bytes.Index(data[offset:], []byte{0, 0, 1, 0xba})
	require.GreaterOrEqual(t, index, 0, "no pack header after offset %d", offset)

	return data[offset+index:]
}

// decodeJPEG checks the JPEG marker and decodes the image size.
func decodeJPEG(t *testing.T, image []byte) (width, height int) {
	t.Helper()

	require.GreaterOrEqual(t, len(image), 3)
	assert.Equal(t, []byte{0xff, 0xd8, 0xff}, image[:3])

	config, err := jpeg.DecodeConfig(bytes.NewReader(image))
	require.NoError(t, err)

	decoded, err := jpeg.Decode(bytes.NewReader(image))
	require.NoError(t, err)
	assert.Equal(t, config.Width, decoded.Bounds().Dx())

	return config.Width, config.Height
}

func TestExtractWidths(t *testing.T) {
	stream := encodeProgramStream(t, "640x360", 2, "-g", "25")

	tests := []struct {
		width, height int
	}{
		{320, 180},
		{160, 90},
		{64, 36},
		{101, 56}, // 101 / (16/9) = 56.8, rounded down to even
		{1280, 720},
	}

	for _, test := range tests {
		t.Run(strconv.Itoa(test.width)+"px", func(t *testing.T) {
			image, err := Extract(context.Background(), Options{Width: test.width}, bytes.NewReader(stream))
			require.NoError(t, err)

			width, height := decodeJPEG(t, image)
			assert.Equal(t, test.width, width)
			assert.Equal(t, test.height, height)
		})
	}
}

func TestExtractNonSquarePixels(t *testing.T) {
	// 704x576 with 12:11 pixels is a 4:3 picture (PAL 4CIF).
	stream := encodeProgramStream(t, "704x576", 1, "-vf", "setsar=12/11")

	image, err := Extract(context.Background(), Options{Width: 320}, bytes.NewReader(stream))
	require.NoError(t, err)

	width, height := decodeJPEG(t, image)
	assert.Equal(t, 320, width)
	assert.InDelta(t, 240, height, 2, "height follows the 4:3 display aspect ratio, not 704:576")
	assert.Zero(t, height%2, "height is even")
}

func TestExtractFromMiddleOfStream(t *testing.T) {
	stream := encodeProgramStream(t, "640x360", 4, "-g", "25")
	segment := cutAtPack(t, stream, len(stream)/2+1)

	image, err := Extract(context.Background(), Options{Width: 320}, bytes.NewReader(segment))
	require.NoError(t, err)

	width, _ := decodeJPEG(t, image)
	assert.Equal(t, 320, width)
}

func TestExtractWithoutKeyFrame(t *testing.T) {
	// With intra refresh x264 writes one key frame at the start and then
	// refreshes the picture column by column, so a cut after the start has
	// no key frame and needs the fallback to any decodable frame.
	stream := encodeProgramStream(t, "640x360", 4, "-bf", "0", "-x264-params", "intra-refresh=1:keyint=25")
	segment := cutAtPack(t, stream, len(stream)/2+1)

	image, err := Extract(context.Background(), Options{Width: 160}, bytes.NewReader(segment))
	require.NoError(t, err)

	width, _ := decodeJPEG(t, image)
	assert.Equal(t, 160, width)
}

func TestExtractGarbage(t *testing.T) {
	requireFFmpeg(t)
	garbage := make([]byte, 256<<10)
	random := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(random.Uint32())
	}

	_, err := Extract(context.Background(), Options{Width: 320}, bytes.NewReader(garbage))

	require.Error(t, err)
	assert.Contains(t, err.Error(), "ffmpeg failed")
	assert.Contains(t, err.Error(), "MPEG-2 Program Stream")
	assert.Contains(t, err.Error(), "ffmpeg wrote:")
	assert.NotErrorIs(t, err, ErrUnavailable)
}

func TestExtractAudioOnly(t *testing.T) {
	requireFFmpeg(t)
	var stream bytes.Buffer
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", "sine=duration=1", "-c:a", "mp2", "-f", "vob", "pipe:1")
	cmd.Stdout = &stream
	require.NoError(t, cmd.Run())

	_, err := Extract(context.Background(), Options{Width: 320}, &stream)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "ffmpeg failed")
}

func TestExtractEmptyInput(t *testing.T) {
	requireFFmpeg(t)

	_, err := Extract(context.Background(), Options{Width: 320}, bytes.NewReader(nil))

	require.Error(t, err)
	assert.ErrorIs(t, err, ErrNoFrame)
	assert.Contains(t, err.Error(), "empty")
}

func TestExtractMissingExecutable(t *testing.T) {
	for _, name := range []string{"hikarchive-no-such-ffmpeg", "/nonexistent/bin/ffmpeg"} {
		t.Run(name, func(t *testing.T) {
			_, err := Extract(context.Background(), Options{FFmpeg: name, Width: 320}, strings.NewReader("data"))

			require.Error(t, err)
			assert.ErrorIs(t, err, ErrUnavailable)
			assert.Contains(t, err.Error(), "not found in PATH")
			assert.Contains(t, err.Error(), "install")
			assert.Contains(t, err.Error(), name)
		})
	}
}

func TestExtractFFmpegNotInPATH(t *testing.T) {
	t.Setenv("PATH", t.TempDir())

	_, err := Extract(context.Background(), Options{Width: 320}, strings.NewReader("data"))

	assert.ErrorIs(t, err, ErrUnavailable)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r    io.Reader
	read int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	return n, err
}

func TestExtractReadsAtMostMaxInput(t *testing.T) {
	stream := encodeProgramStream(t, "640x360", 2, "-g", "25")
	padding := bytes.Repeat([]byte{0xff}, 4<<20)
	input := &countingReader{r: io.MultiReader(bytes.NewReader(stream), bytes.NewReader(padding))}
	maxInput := int64(len(stream))

	image, err := Extract(context.Background(), Options{Width: 320, MaxInput: maxInput}, input)

	require.NoError(t, err)
	decodeJPEG(t, image)
	assert.Equal(t, maxInput, input.read)
}

func TestExtractDefaultMaxInput(t *testing.T) {
	stream := encodeProgramStream(t, "640x360", 2, "-g", "25")
	padding := bytes.Repeat([]byte{0xff}, DefaultMaxInput)
	input := &countingReader{r: io.MultiReader(bytes.NewReader(stream), bytes.NewReader(padding))}

	_, err := Extract(context.Background(), Options{Width: 320}, input)

	require.NoError(t, err)
	assert.Equal(t, int64(DefaultMaxInput), input.read)
}

func TestExtractContextEnded(t *testing.T) {
	stream := encodeProgramStream(t, "640x360", 1)

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancelExpired := context.WithTimeout(context.Background(), 0)
	defer cancelExpired()

	tests := []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"canceled", canceled, context.Canceled},
		{"deadline passed", expired, context.DeadlineExceeded},
	}

	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			_, err := Extract(test.ctx, Options{Width: 320}, bytes.NewReader(stream))

			require.Error(t, err)
			assert.ErrorIs(t, err, test.want)
		})
	}
}

func TestExtractInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"zero width", Options{Width: 0}, "invalid width 0"},
		{"negative width", Options{Width: -320}, "invalid width -320"},
		{"negative max input", Options{Width: 320, MaxInput: -1}, "invalid MaxInput -1"},
	}

	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			_, err := Extract(context.Background(), test.opts, strings.NewReader("data"))

			require.Error(t, err)
			assert.Contains(t, err.Error(), test.want)
			assert.False(t, errors.Is(err, ErrUnavailable))
		})
	}
}

func TestTailBufferKeepsLastLines(t *testing.T) {
	var tail tailBuffer
	for i := range 1000 {
		_, _ = tail.Write([]byte("line " + strings.Repeat("x", i%7) + "\n"))
	}
	_, _ = tail.Write([]byte("final error\n"))

	lines := strings.Split(tail.lastLines(), " | ")

	assert.Len(t, lines, tailLines)
	assert.Equal(t, "final error", lines[len(lines)-1])
	assert.LessOrEqual(t, len(tail.data), tailBytes)
}

func TestCappedBufferMarksOverflow(t *testing.T) {
	buffer := cappedBuffer{max: 10}

	n, err := buffer.Write(make([]byte, 8))
	require.NoError(t, err)
	assert.Equal(t, 8, n)
	assert.False(t, buffer.exceeded)

	n, err = buffer.Write(make([]byte, 8))
	require.NoError(t, err)
	assert.Equal(t, 8, n, "writes report success so ffmpeg is not killed by a broken pipe")
	assert.True(t, buffer.exceeded)
	assert.Equal(t, 10, buffer.buf.Len())
}
