package objectstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPutReaderExactSize(t *testing.T) {
	reader := newPutReader(context.Background(), "k", iotest.OneByteReader(strings.NewReader("hello")), 5)
	data, err := io.ReadAll(reader)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(data))
}

func TestPutReaderUnknownSize(t *testing.T) {
	reader := newPutReader(context.Background(), "k", strings.NewReader("hello"), -1)
	data, err := io.ReadAll(reader)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(data))
}

func TestPutReaderHidesReaderAt(t *testing.T) {
	var reader io.Reader = newPutReader(context.Background(), "k", strings.NewReader("hello"), 5)
	_, isReaderAt := reader.(io.ReaderAt)
	_, isSeeker := reader.(io.Seeker)
	assert.False(t, isReaderAt, "minio-go would read an io.ReaderAt from offset 0 with parallel workers")
	assert.False(t, isSeeker)
}

func TestPutReaderMismatchWithholdsLastBytes(t *testing.T) {
	// A store that reads exactly size bytes into a full buffer must still see
	// the error: minio-go drops errors that come with a full buffer.
	reader := newPutReader(context.Background(), "k", strings.NewReader("hello!"), 5)
	buffer := make([]byte, 5)
	n, err := reader.Read(buffer)
	assert.Equal(t, 0, n)
	assert.ErrorIs(t, err, ErrSizeMismatch)
}

func TestPutReaderStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	reader := newPutReader(ctx, "k", strings.NewReader("hello"), -1)
	cancel()
	_, err := reader.Read(make([]byte, 5))
	assert.ErrorIs(t, err, context.Canceled)
}

// FuzzPutReader checks that the reader returns the input unchanged when
// the size matches and ErrSizeMismatch otherwise, whatever the read sizes.
func FuzzPutReader(f *testing.F) {
	f.Add([]byte("hello"), int64(5), uint8(1))
	f.Add([]byte("hello"), int64(4), uint8(3))
	f.Add([]byte("hello"), int64(6), uint8(7))
	f.Add([]byte{}, int64(0), uint8(1))
	f.Add([]byte{}, int64(-1), uint8(1))

	f.Fuzz(func(t *testing.T, data []byte, size int64, chunk uint8) {
		if size < -1 {
			return
		}
		chunkSize := int(chunk%16) + 1
		reader := newPutReader(context.Background(), "k", iotest.HalfReader(bytes.NewReader(data)), size)

		var output []byte
		var err error
		buffer := make([]byte, chunkSize)
		for range 10 * (len(data) + 2) {
			var n int
			n, err = reader.Read(buffer)
			output = append(output, buffer[:n]...)
			if err != nil {
				break
			}
		}

		matches := size == -1 || size == int64(len(data))
		if matches {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("size %d for %d bytes: got error %v, expected io.EOF", size, len(data), err)
			}
			if !bytes.Equal(output, data) {
				t.Fatalf("size %d: output %q differs from input %q", size, output, data)
			}
			return
		}
		if !errors.Is(err, ErrSizeMismatch) {
			t.Fatalf("size %d for %d bytes: got error %v, expected ErrSizeMismatch", size, len(data), err)
		}
		// The withheld final bytes keep a store from completing the
		// object: it never receives all size bytes.
		if len(output) > 0 && int64(len(output)) >= size {
			t.Fatalf("size %d for %d bytes: %d bytes were handed on before the mismatch", size, len(data), len(output))
		}
	})
}
