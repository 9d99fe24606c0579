package objectstore_test

import (
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/objectstore"
)

func newLocal(t *testing.T) (*objectstore.Local, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "archive")
	store, err := objectstore.NewLocal(root)
	require.NoError(t, err)
	return store, root
}

func TestLocalContract(t *testing.T) {
	runContract(t, storeUnderTest{
		open: func(t *testing.T) objectstore.Store {
			store, _ := newLocal(t)
			return store
		},
	})
}

func TestLocalLayoutIsPlainFiles(t *testing.T) {
	store, root := newLocal(t)
	putString(t, store, "cam1/clip.mp4", "video", objectstore.PutOptions{ContentType: "video/mp4"})

	content, err := os.ReadFile(filepath.Join(root, "cam1", "clip.mp4"))
	require.NoError(t, err)
	assert.Equal(t, "video", string(content))

	sidecar, err := os.ReadFile(filepath.Join(root, "cam1", ".hikarchive-meta-clip.mp4.json"))
	require.NoError(t, err)
	assert.Contains(t, string(sidecar), `"content_type":"video/mp4"`)

	info, err := os.Stat(filepath.Join(root, "cam1", "clip.mp4"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), info.Mode().Perm(), "recordings must not be readable by other users")

	entries, err := os.ReadDir(filepath.Join(root, "cam1"))
	require.NoError(t, err)
	assert.Len(t, entries, 2, "only the content and its sidecar, no temporary files")
}

func TestLocalETagIsContentMD5(t *testing.T) {
	store, _ := newLocal(t)
	info := putString(t, store, "key", "content", objectstore.PutOptions{})

	sum := md5.Sum([]byte("content"))
	assert.Equal(t, hex.EncodeToString(sum[:]), info.ETag)
}

func TestLocalListSkipsInternalFiles(t *testing.T) {
	store, root := newLocal(t)
	putString(t, store, "dir/object", "x", objectstore.PutOptions{})
	// A temporary file left by a crash.
	require.NoError(t, os.WriteFile(filepath.Join(root, "dir", ".hikarchive-tmp-123"), []byte("partial"), 0o600))

	assert.Equal(t, []string{"dir/object"}, listKeys(t, store, ""))
}

func TestLocalReservedKeys(t *testing.T) {
	store, _ := newLocal(t)
	for _, key := range []string{".hikarchive-meta-x.json", "dir/.hikarchive-tmp-1", strings.Repeat("n", 234)} {
		_, err := store.Put(testContext(t), key, strings.NewReader("x"), 1, objectstore.PutOptions{})
		assert.ErrorIs(t, err, objectstore.ErrInvalidKey, "key %q", key)
	}

	// Other dot files are ordinary keys.
	putString(t, store, ".hidden", "x", objectstore.PutOptions{})
	assert.Equal(t, []string{".hidden"}, listKeys(t, store, ""))
}

func TestLocalFileDirectoryConflict(t *testing.T) {
	store, _ := newLocal(t)
	putString(t, store, "a/b", "x", objectstore.PutOptions{})
	putString(t, store, "c", "x", objectstore.PutOptions{})

	_, err := store.Put(testContext(t), "a", strings.NewReader("x"), 1, objectstore.PutOptions{})
	assert.ErrorIs(t, err, objectstore.ErrInvalidKey)
	assert.True(t, objectstore.IsPermanent(err))
	assert.Contains(t, err.Error(), "cannot keep both")

	_, err = store.Put(testContext(t), "c/d", strings.NewReader("x"), 1, objectstore.PutOptions{})
	assert.ErrorIs(t, err, objectstore.ErrInvalidKey)

	assert.Equal(t, []string{"a/b", "c"}, listKeys(t, store, ""))
}

func TestLocalStaleSidecar(t *testing.T) {
	store, root := newLocal(t)
	putString(t, store, "key", "old content", objectstore.PutOptions{
		ContentType: "text/plain", Metadata: map[string]string{"version": "old"},
	})

	// A crash between the two renames of a Put leaves new content of the
	// same size next to the old sidecar.
	replacement := filepath.Join(root, "replacement")
	require.NoError(t, os.WriteFile(replacement, []byte("new content"), 0o640))
	require.NoError(t, os.Rename(replacement, filepath.Join(root, "key")))

	info, err := store.Stat(testContext(t), "key")
	require.NoError(t, err)
	sum := md5.Sum([]byte("new content"))
	assert.Equal(t, hex.EncodeToString(sum[:]), info.ETag, "the ETag must describe the content, not the stale sidecar")
	assert.Empty(t, info.Metadata, "metadata of the old content must not be reported for the new one")
	assert.Equal(t, "application/octet-stream", info.ContentType)
}

func TestLocalDeleteRemovesEmptyDirectories(t *testing.T) {
	store, root := newLocal(t)
	putString(t, store, "a/b/c/object", "x", objectstore.PutOptions{})
	putString(t, store, "a/keep", "x", objectstore.PutOptions{})

	require.NoError(t, store.Delete(testContext(t), "a/b/c/object"))

	_, err := os.Stat(filepath.Join(root, "a", "b"))
	assert.ErrorIs(t, err, os.ErrNotExist, "empty directories must go with their last object")
	_, err = os.Stat(filepath.Join(root, "a", "keep"))
	assert.NoError(t, err)

	require.NoError(t, store.Delete(testContext(t), "a/keep"))
	_, err = os.Stat(root)
	assert.NoError(t, err, "the root itself must stay")
}

func TestLocalRootNotUsable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))

	_, err := objectstore.NewLocal(filepath.Join(file, "archive"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), file)

	_, err = objectstore.NewLocal("")
	assert.Error(t, err)
}

func TestLocalStringNamesRoot(t *testing.T) {
	store, root := newLocal(t)
	assert.Equal(t, "local folder "+root, store.String())
}
