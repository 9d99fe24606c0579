package objectstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/objectstore"
)

// storeUnderTest describes one implementation for the contract suite.
type storeUnderTest struct {
	// open returns an empty store for one subtest.
	open func(t *testing.T) objectstore.Store
	// checkParts checks that an object of size bytes went out as a
	// multipart upload; nil for stores without parts.
	checkParts func(t *testing.T, info objectstore.ObjectInfo, size int64)
	// partBuffer is the size of the one buffer that Put may hold, in bytes.
	partBuffer int64
}

// runContract checks the behavior that every Store implementation shares.
func runContract(t *testing.T, subject storeUnderTest) {
	t.Run("put stat get", func(t *testing.T) { testPutStatGet(t, subject.open(t)) })
	t.Run("overwrite", func(t *testing.T) { testOverwrite(t, subject.open(t)) })
	t.Run("not found", func(t *testing.T) { testNotFound(t, subject.open(t)) })
	t.Run("delete", func(t *testing.T) { testDelete(t, subject.open(t)) })
	t.Run("empty object", func(t *testing.T) { testEmptyObject(t, subject.open(t)) })
	t.Run("list order and prefix", func(t *testing.T) { testListOrder(t, subject.open(t)) })
	t.Run("list stops on callback error", func(t *testing.T) { testListCallbackError(t, subject.open(t)) })
	t.Run("large object streamed", func(t *testing.T) { testLargeObject(t, subject) })
	t.Run("reader position respected", func(t *testing.T) { testReaderPosition(t, subject.open(t)) })
	t.Run("size mismatch", func(t *testing.T) { testSizeMismatch(t, subject.open(t)) })
	t.Run("context canceled during put", func(t *testing.T) { testCanceledPut(t, subject.open(t)) })
	t.Run("context canceled before call", func(t *testing.T) { testCanceledCalls(t, subject.open(t)) })
	t.Run("invalid keys", func(t *testing.T) { testInvalidKeys(t, subject.open(t)) })
	t.Run("invalid metadata", func(t *testing.T) { testInvalidMetadata(t, subject.open(t)) })
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func putString(t *testing.T, store objectstore.Store, key, content string, opts objectstore.PutOptions) objectstore.ObjectInfo {
	t.Helper()
	info, err := store.Put(testContext(t), key, strings.NewReader(content), int64(len(content)), opts)
	require.NoError(t, err, "put %q", key)
	return info
}

func readObject(t *testing.T, store objectstore.Store, key string) []byte {
	t.Helper()
	reader, err := store.Get(testContext(t), key)
	require.NoError(t, err, "get %q", key)
	defer reader.Close()
	data, err := io.ReadAll(reader)
	require.NoError(t, err, "reading %q", key)
	return data
}

func testPutStatGet(t *testing.T, store objectstore.Store) {
	ctx := testContext(t)
	opts := objectstore.PutOptions{
		ContentType: "video/mp4",
		Metadata:    map[string]string{"camera": "cam1", "start-time": "2024-05-01T00:00:00Z"},
	}

	put := putString(t, store, "cam1/2024/05/01/clip.mp4", "recording bytes", opts)
	assert.Equal(t, "cam1/2024/05/01/clip.mp4", put.Key)
	assert.Equal(t, int64(15), put.Size)
	assert.NotEmpty(t, put.ETag)
	assert.NotContains(t, put.ETag, `"`, "ETag must come without quotes")
	assert.False(t, put.ModTime.IsZero())

	stat, err := store.Stat(ctx, "cam1/2024/05/01/clip.mp4")
	require.NoError(t, err)
	assert.Equal(t, put.Key, stat.Key)
	assert.Equal(t, put.Size, stat.Size)
	assert.Equal(t, put.ETag, stat.ETag)
	assert.Equal(t, "video/mp4", stat.ContentType)
	assert.Equal(t, opts.Metadata, stat.Metadata)

	assert.Equal(t, "recording bytes", string(readObject(t, store, "cam1/2024/05/01/clip.mp4")))
}

func testOverwrite(t *testing.T, store objectstore.Store) {
	ctx := testContext(t)
	first := putString(t, store, "key", "first version",
		objectstore.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"version": "1"}})
	second := putString(t, store, "key", "second, longer version", objectstore.PutOptions{})

	assert.NotEqual(t, first.ETag, second.ETag)
	assert.Equal(t, "second, longer version", string(readObject(t, store, "key")))

	stat, err := store.Stat(ctx, "key")
	require.NoError(t, err)
	assert.Equal(t, int64(len("second, longer version")), stat.Size)
	assert.Equal(t, "application/octet-stream", stat.ContentType, "an empty content type means application/octet-stream")
	assert.Empty(t, stat.Metadata, "metadata of the replaced object must not survive")
}

func testNotFound(t *testing.T, store objectstore.Store) {
	ctx := testContext(t)

	_, err := store.Stat(ctx, "absent/key")
	assert.ErrorIs(t, err, objectstore.ErrNotFound)
	assert.True(t, objectstore.IsPermanent(err))
	assert.Contains(t, err.Error(), "absent/key")

	_, err = store.Get(ctx, "absent/key")
	assert.ErrorIs(t, err, objectstore.ErrNotFound)

	// A key that is a prefix of other keys is not an object either.
	putString(t, store, "dir/child", "x", objectstore.PutOptions{})
	_, err = store.Stat(ctx, "dir")
	assert.ErrorIs(t, err, objectstore.ErrNotFound)
	_, err = store.Get(ctx, "dir")
	assert.ErrorIs(t, err, objectstore.ErrNotFound)
}

func testDelete(t *testing.T, store objectstore.Store) {
	ctx := testContext(t)
	putString(t, store, "a/b/c", "content", objectstore.PutOptions{})
	putString(t, store, "a/other", "content", objectstore.PutOptions{})

	require.NoError(t, store.Delete(ctx, "a/b/c"))
	_, err := store.Stat(ctx, "a/b/c")
	assert.ErrorIs(t, err, objectstore.ErrNotFound)
	assert.Equal(t, []string{"a/other"}, listKeys(t, store, ""))

	assert.NoError(t, store.Delete(ctx, "a/b/c"), "deleting an absent key is not an error")
	assert.NoError(t, store.Delete(ctx, "never/existed"))
	assert.NoError(t, store.Delete(ctx, "a"), "deleting a prefix of other keys is not an error")
	assert.Equal(t, []string{"a/other"}, listKeys(t, store, ""), "deleting a prefix must not delete the keys under it")

	// The key can be written again after a delete.
	putString(t, store, "a/b/c", "again", objectstore.PutOptions{})
	assert.Equal(t, "again", string(readObject(t, store, "a/b/c")))
}

func testEmptyObject(t *testing.T, store objectstore.Store) {
	ctx := testContext(t)
	info := putString(t, store, "empty", "", objectstore.PutOptions{})
	assert.Equal(t, int64(0), info.Size)

	info, err := store.Put(ctx, "empty-unknown-size", strings.NewReader(""), -1, objectstore.PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(0), info.Size)

	assert.Empty(t, readObject(t, store, "empty"))
	assert.Empty(t, readObject(t, store, "empty-unknown-size"))
}

func listKeys(t *testing.T, store objectstore.Store, prefix string) []string {
	t.Helper()
	keys := []string{}
	err := store.List(testContext(t), prefix, func(info objectstore.ObjectInfo) error {
		keys = append(keys, info.Key)
		return nil
	})
	require.NoError(t, err, "list %q", prefix)
	return keys
}

func testListOrder(t *testing.T, store objectstore.Store) {
	// Inserted out of order. Byte-wise order puts "A" before "a", '-' before
	// '/' before '0', and multi-byte UTF-8 after ASCII.
	keys := []string{"b", "a0", "ä", "a/c/d", "A", "a-c", "a/b"}
	for _, key := range keys {
		putString(t, store, key, "content of "+key, objectstore.PutOptions{Metadata: map[string]string{"k": "v"}})
	}

	assert.Equal(t, []string{"A", "a-c", "a/b", "a/c/d", "a0", "b", "ä"}, listKeys(t, store, ""))
	assert.Equal(t, []string{"a-c", "a/b", "a/c/d", "a0"}, listKeys(t, store, "a"))
	assert.Equal(t, []string{"a/b", "a/c/d"}, listKeys(t, store, "a/"))
	assert.Equal(t, []string{"a/c/d"}, listKeys(t, store, "a/c"))
	assert.Equal(t, []string{"a/c/d"}, listKeys(t, store, "a/c/d"))
	assert.Empty(t, listKeys(t, store, "a/c/d/"))
	assert.Empty(t, listKeys(t, store, "zzz"))
	assert.Empty(t, listKeys(t, store, "../"), "a prefix no valid key can have matches nothing")

	var infos []objectstore.ObjectInfo
	err := store.List(testContext(t), "a/c/", func(info objectstore.ObjectInfo) error {
		infos = append(infos, info)
		return nil
	})
	require.NoError(t, err)
	require.Len(t, infos, 1)
	stat, err := store.Stat(testContext(t), "a/c/d")
	require.NoError(t, err)
	assert.Equal(t, stat.Size, infos[0].Size)
	assert.Equal(t, stat.ETag, infos[0].ETag)
	assert.False(t, infos[0].ModTime.IsZero())
}

func testListCallbackError(t *testing.T, store objectstore.Store) {
	for _, key := range []string{"1", "2", "3"} {
		putString(t, store, key, key, objectstore.PutOptions{})
	}
	stop := errors.New("stop here")

	var seen []string
	err := store.List(testContext(t), "", func(info objectstore.ObjectInfo) error {
		seen = append(seen, info.Key)
		if info.Key == "2" {
			return stop
		}
		return nil
	})
	assert.Same(t, stop, err, "List must return the callback's error unchanged")
	assert.Equal(t, []string{"1", "2"}, seen)
}

// generator returns size deterministic pseudo-random bytes as a plain
// io.Reader, without io.ReaderAt or io.Seeker.
func generator(seed uint64, size int64) io.Reader {
	var key [32]byte
	key[0] = byte(seed)
	return io.LimitReader(rand.NewChaCha8(key), size)
}

// plainReader hides every method of the wrapped reader but Read.
type plainReader struct{ io.Reader }

func sha256Of(t *testing.T, r io.Reader) [32]byte {
	t.Helper()
	hash := sha256.New()
	_, err := io.Copy(hash, r)
	require.NoError(t, err)
	var sum [32]byte
	copy(sum[:], hash.Sum(nil))
	return sum
}

func testLargeObject(t *testing.T, subject storeUnderTest) {
	const size = 40 << 20
	want := sha256Of(t, generator(1, size))

	for _, declared := range []int64{size, -1} {
		t.Run(fmt.Sprintf("declared size %d", declared), func(t *testing.T) {
			store := subject.open(t)
			ctx := testContext(t)

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			info, err := store.Put(ctx, "large/object", plainReader{generator(1, size)}, declared, objectstore.PutOptions{})
			runtime.ReadMemStats(&after)
			require.NoError(t, err)

			// Buffering the whole object, or a second part, would allocate
			// more than this bound. The size/4 term covers garbage that
			// grows with the object: request signing in minio-go v7.4.1
			// allocated about 4 MiB for 40 MiB in a memory profile.
			allocated := after.TotalAlloc - before.TotalAlloc
			limit := uint64(subject.partBuffer + size/4)
			t.Logf("Put allocated %d bytes in total", allocated)
			assert.Less(t, allocated, limit, "Put allocated %d bytes for a %d-byte object, more than one part buffer allows", allocated, size)
			assert.Equal(t, int64(size), info.Size)
			if subject.checkParts != nil {
				subject.checkParts(t, info, size)
			}

			reader, err := store.Get(ctx, "large/object")
			require.NoError(t, err)
			defer reader.Close()
			assert.Equal(t, want, sha256Of(t, reader), "content read back differs from content written")
		})
	}
}

func testReaderPosition(t *testing.T, store objectstore.Store) {
	// An *os.File is an io.ReaderAt. The store must read from the current
	// position, as io.Reader promises, not from offset 0.
	const size, offset = 20 << 20, 1 << 20
	path := filepath.Join(t.TempDir(), "source")
	file, err := os.Create(path)
	require.NoError(t, err)
	_, err = io.Copy(file, generator(2, size))
	require.NoError(t, err)
	_, err = file.Seek(offset, io.SeekStart)
	require.NoError(t, err)
	defer file.Close()

	_, err = store.Put(testContext(t), "from-offset", file, size-offset, objectstore.PutOptions{})
	require.NoError(t, err)

	source, err := os.Open(path)
	require.NoError(t, err)
	defer source.Close()
	_, err = source.Seek(offset, io.SeekStart)
	require.NoError(t, err)
	reader, err := store.Get(testContext(t), "from-offset")
	require.NoError(t, err)
	defer reader.Close()
	assert.Equal(t, sha256Of(t, source), sha256Of(t, reader))
}

func testSizeMismatch(t *testing.T, store objectstore.Store) {
	ctx := testContext(t)
	cases := map[string]struct {
		content  string
		declared int64
	}{
		"short reader":       {content: "12345", declared: 6},
		"long reader":        {content: "1234567", declared: 6},
		"empty but declared": {content: "", declared: 3},
	}
	for name, test := range cases {
		t.Run(name, func(t *testing.T) {
			key := "mismatch/" + strings.ReplaceAll(name, " ", "-")
			_, err := store.Put(ctx, key, strings.NewReader(test.content), test.declared, objectstore.PutOptions{})
			assert.ErrorIs(t, err, objectstore.ErrSizeMismatch)
			assert.True(t, objectstore.IsPermanent(err))

			_, err = store.Stat(ctx, key)
			assert.ErrorIs(t, err, objectstore.ErrNotFound, "a failed Put must not leave an object behind")
		})
	}

	t.Run("large long reader", func(t *testing.T) {
		// One byte too many, found only after the last part is read.
		const declared = 17 << 20
		_, err := store.Put(ctx, "mismatch/large", plainReader{generator(3, declared+1)}, declared, objectstore.PutOptions{})
		assert.ErrorIs(t, err, objectstore.ErrSizeMismatch)
		_, err = store.Stat(ctx, "mismatch/large")
		assert.ErrorIs(t, err, objectstore.ErrNotFound)
	})
}

// cancelingReader produces bytes forever and cancels its context after
// limit bytes, like an upload whose caller gives up midway.
type cancelingReader struct {
	source io.Reader
	read   int64
	limit  int64
	cancel context.CancelFunc
}

func (r *cancelingReader) Read(p []byte) (int, error) {
	n, err := r.source.Read(p)
	r.read += int64(n)
	if r.read >= r.limit {
		r.cancel()
	}
	return n, err
}

func testCanceledPut(t *testing.T, store objectstore.Store) {
	for _, declared := range []int64{40 << 20, -1} {
		t.Run(fmt.Sprintf("declared size %d", declared), func(t *testing.T) {
			ctx, cancel := context.WithCancel(testContext(t))
			defer cancel()
			reader := &cancelingReader{source: generator(4, 1<<40), limit: 6 << 20, cancel: cancel}

			_, err := store.Put(ctx, "canceled", reader, declared, objectstore.PutOptions{})
			assert.ErrorIs(t, err, context.Canceled)
			assert.False(t, objectstore.IsPermanent(err))

			_, err = store.Stat(testContext(t), "canceled")
			assert.ErrorIs(t, err, objectstore.ErrNotFound, "a canceled Put must not leave an object behind")
			assert.Empty(t, listKeys(t, store, ""))
		})
	}
}

func testCanceledCalls(t *testing.T, store objectstore.Store) {
	putString(t, store, "present", "content", objectstore.PutOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := store.Stat(ctx, "present")
	assert.ErrorIs(t, err, context.Canceled, "stat")
	_, err = store.Get(ctx, "present")
	assert.ErrorIs(t, err, context.Canceled, "get")
	assert.ErrorIs(t, store.Delete(ctx, "present"), context.Canceled, "delete")
	err = store.List(ctx, "", func(objectstore.ObjectInfo) error { return nil })
	assert.ErrorIs(t, err, context.Canceled, "list")
	_, err = store.Put(ctx, "other", strings.NewReader("x"), 1, objectstore.PutOptions{})
	assert.ErrorIs(t, err, context.Canceled, "put")

	assert.Equal(t, []string{"present"}, listKeys(t, store, ""))
}

func testInvalidKeys(t *testing.T, store objectstore.Store) {
	ctx := testContext(t)
	keys := []string{
		"", "/absolute", "a/../b", "..", ".", "a/./b", "trailing/", "a//b",
		`back\slash`, "nul\x00byte", "new\nline", "\xff\xfe", strings.Repeat("k", 1025),
	}
	for _, key := range keys {
		_, err := store.Put(ctx, key, strings.NewReader("x"), 1, objectstore.PutOptions{})
		assert.ErrorIs(t, err, objectstore.ErrInvalidKey, "put %q", key)
		assert.True(t, objectstore.IsPermanent(err), "put %q", key)

		_, err = store.Stat(ctx, key)
		assert.ErrorIs(t, err, objectstore.ErrInvalidKey, "stat %q", key)
		_, err = store.Get(ctx, key)
		assert.ErrorIs(t, err, objectstore.ErrInvalidKey, "get %q", key)
		assert.ErrorIs(t, store.Delete(ctx, key), objectstore.ErrInvalidKey, "delete %q", key)
	}

	_, err := store.Put(ctx, "a/../b", strings.NewReader("x"), 1, objectstore.PutOptions{})
	assert.Contains(t, err.Error(), `"a/../b"`, "the error must name the key")
	assert.Empty(t, listKeys(t, store, ""))
}

func testInvalidMetadata(t *testing.T, store objectstore.Store) {
	ctx := testContext(t)
	cases := map[string]map[string]string{
		"upper-case key":    {"Camera": "x"},
		"space in key":      {"a b": "x"},
		"empty key":         {"": "x"},
		"leading hyphen":    {"-a": "x"},
		"non-ASCII value":   {"k": "é"},
		"padded value":      {"k": " x"},
		"newline in value":  {"k": "a\nb"},
		"too large in sum":  {"a": strings.Repeat("v", 1500), "b": strings.Repeat("v", 1500)},
		"header-like value": {"k": "x\r\nX-Injected: 1"},
	}
	for name, metadata := range cases {
		_, err := store.Put(ctx, "object", bytes.NewReader([]byte("x")), 1, objectstore.PutOptions{Metadata: metadata})
		assert.ErrorIs(t, err, objectstore.ErrInvalidMetadata, name)
		assert.True(t, objectstore.IsPermanent(err), name)
	}
	assert.Empty(t, listKeys(t, store, ""))
}
