package objectstore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// Names in the local folder that start with reservedPrefix belong to the
// store itself: sidecar files and temporary files.
const (
	reservedPrefix = ".hikarchive-"
	sidecarPrefix  = reservedPrefix + "meta-"
	sidecarSuffix  = ".json"
	tempPattern    = reservedPrefix + "tmp-*"

	// maxLocalComponent keeps the sidecar name of any key component
	// within the 255-byte name limit of common Linux file systems.
	maxLocalComponent = 255 - len(sidecarPrefix) - len(sidecarSuffix)
)

// File modes of created files and directories. Recordings are private, so
// other users get no access.
const (
	localFileMode = 0o640
	localDirMode  = 0o750
)

// Local is a Store in a folder of the local file system, for the
// single-box setup.
//
// Layout: the object with key "a/b/c.mp4" is the plain file
// <root>/a/b/c.mp4, so recordings can be played from the folder directly.
// Its content type, metadata and ETag live in the sidecar file
// <root>/a/b/.hikarchive-meta-c.mp4.json. Parent directories are created
// on Put and removed on Delete once empty.
//
// Put writes the content and the sidecar to temporary files in the target
// directory, fsyncs both, renames the content and then the sidecar into
// place, and fsyncs the directory. Each rename is atomic, so a reader sees
// the old or the new content, never a mix. The sidecar records the content
// size and inode number. They stop matching the content file after a crash
// between the two renames, or when two processes write the same key. Stat
// and List then compute the ETag from the content and report no metadata.
// Within one process, writes to the same key are serialized.
//
// Beyond ValidateKey, Local rejects key components that start with
// ".hikarchive-" or are longer than 233 bytes, and a key that would turn an
// existing object into a directory or the reverse ("a" and "a/b" cannot
// both exist, unlike in S3). These errors match ErrInvalidKey.
//
// NOTE: temporary files left by a crash (".hikarchive-tmp-*") are not
// cleaned up automatically; List ignores them.
type Local struct {
	root  string
	locks [64]sync.Mutex // key stripes, see lockKey
}

var _ Store = (*Local)(nil)

// sidecar is the JSON document stored next to each object.
type sidecar struct {
	ContentType string            `json:"content_type"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	ETag        string            `json:"etag"`
	Size        int64             `json:"size"`
	Inode       uint64            `json:"inode,omitempty"`
}

// NewLocal creates root if needed and checks that objects can be written
// there.
func NewLocal(root string) (*Local, error) {
	if root == "" {
		return nil, permanent(errors.New("local store: folder path is empty"))
	}
	absolute, err := filepath.Abs(root)
	if err != nil {
		return nil, permanent(fmt.Errorf("local store %q: %w", root, err))
	}
	if err := os.MkdirAll(absolute, localDirMode); err != nil {
		return nil, fmt.Errorf("local store: creating folder: %w", err)
	}

	probe, err := os.CreateTemp(absolute, tempPattern)
	if err != nil {
		return nil, fmt.Errorf("local store %s is not writable: %w: check the folder's owner and mode", absolute, err)
	}
	probe.Close()
	if err := os.Remove(probe.Name()); err != nil {
		return nil, fmt.Errorf("local store %s: removing probe file: %w", absolute, err)
	}
	return &Local{root: absolute}, nil
}

func (l *Local) String() string {
	return "local folder " + l.root
}

// lockKey serializes writers of one key within this process, so that the
// content and sidecar renames of two Puts cannot interleave.
func (l *Local) lockKey(key string) func() {
	hash := fnv.New32a()
	hash.Write([]byte(key))
	mutex := &l.locks[hash.Sum32()%uint32(len(l.locks))]
	mutex.Lock()
	return mutex.Unlock
}

func validateLocalKey(key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	for component := range strings.SplitSeq(key, "/") {
		if strings.HasPrefix(component, reservedPrefix) {
			return fmt.Errorf("%w %q: components starting with %q are reserved by the local store", ErrInvalidKey, key, reservedPrefix)
		}
		if len(component) > maxLocalComponent {
			return fmt.Errorf("%w %q: component of %d bytes exceeds the local store's limit of %d bytes",
				ErrInvalidKey, key, len(component), maxLocalComponent)
		}
	}
	return nil
}

// paths returns the content file and sidecar file of key.
func (l *Local) paths(key string) (content, meta string) {
	content = filepath.Join(l.root, filepath.FromSlash(key))
	meta = filepath.Join(filepath.Dir(content), sidecarPrefix+filepath.Base(content)+sidecarSuffix)
	return content, meta
}

func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (ObjectInfo, error) {
	if err := validatePut(key, size, opts); err != nil {
		return ObjectInfo{}, err
	}
	if err := validateLocalKey(key); err != nil {
		return ObjectInfo{}, err
	}
	contentPath, metaPath := l.paths(key)
	if info, err := os.Stat(contentPath); err == nil && info.IsDir() {
		return ObjectInfo{}, l.conflict(key, "a directory of other objects has this name")
	}

	contentTemp, err := l.createTemp(key, filepath.Dir(contentPath))
	if err != nil {
		return ObjectInfo{}, err
	}
	defer removeIfExists(contentTemp.Name())
	written, err := writeContent(ctx, contentTemp, key, r, size)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("local put %q in %s: %w", key, l, err)
	}

	meta := sidecar{
		ContentType: opts.ContentType,
		Metadata:    opts.Metadata,
		ETag:        written.etag,
		Size:        written.size,
		Inode:       written.inode,
	}
	if meta.ContentType == "" {
		meta.ContentType = defaultContentType
	}
	metaTemp, err := writeSidecarTemp(filepath.Dir(metaPath), meta)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("local put %q in %s: writing sidecar: %w", key, l, err)
	}
	defer removeIfExists(metaTemp)

	if err := l.commit(key, contentTemp.Name(), contentPath, metaTemp, metaPath); err != nil {
		return ObjectInfo{}, err
	}
	return l.Stat(ctx, key)
}

// createTemp creates the content's temporary file in dir, creating dir
// first. A concurrent Delete may remove an empty dir between the two
// steps, so a missing dir is retried a few times.
func (l *Local) createTemp(key, dir string) (*os.File, error) {
	var lastErr error
	for range 3 {
		if err := os.MkdirAll(dir, localDirMode); err != nil {
			if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
				return nil, l.conflict(key, "an object has the name of one of its parent directories")
			}
			return nil, fmt.Errorf("local put %q in %s: creating directory: %w", key, l, err)
		}
		file, err := os.CreateTemp(dir, tempPattern)
		if err == nil {
			return file, nil
		}
		lastErr = err
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	return nil, fmt.Errorf("local put %q in %s: creating temporary file: %w", key, l, lastErr)
}

func (l *Local) conflict(key, reason string) error {
	return fmt.Errorf("%w %q in %s: %s; the local store cannot keep both \"a\" and \"a/b\"", ErrInvalidKey, key, l, reason)
}

// writtenContent describes a fully written and synced temporary file.
type writtenContent struct {
	size  int64
	etag  string
	inode uint64
}

// writeContent copies r into file, fsyncs and closes it.
func writeContent(ctx context.Context, file *os.File, key string, r io.Reader, size int64) (writtenContent, error) {
	defer file.Close()

	hash := md5.New()
	buffer := make([]byte, 256<<10)
	written, err := io.CopyBuffer(io.MultiWriter(file, hash), newPutReader(ctx, key, r, size), buffer)
	if err != nil {
		return writtenContent{}, err
	}
	if err := file.Chmod(localFileMode); err != nil {
		return writtenContent{}, err
	}
	if err := file.Sync(); err != nil {
		return writtenContent{}, fmt.Errorf("fsync: %w", err)
	}

	info, err := file.Stat()
	if err != nil {
		return writtenContent{}, err
	}
	if err := file.Close(); err != nil {
		return writtenContent{}, err
	}
	return writtenContent{size: written, etag: hex.EncodeToString(hash.Sum(nil)), inode: inodeOf(info)}, nil
}

func writeSidecarTemp(dir string, meta sidecar) (string, error) {
	data, err := json.Marshal(meta)
	if err != nil {
		return "", err
	}

	file, err := os.CreateTemp(dir, tempPattern)
	if err != nil {
		return "", err
	}
	if _, err := file.Write(data); err != nil {
		file.Close()
		removeIfExists(file.Name())
		return "", err
	}
	if err := file.Chmod(localFileMode); err != nil {
		file.Close()
		removeIfExists(file.Name())
		return "", err
	}
	if err := file.Sync(); err != nil {
		file.Close()
		removeIfExists(file.Name())
		return "", err
	}
	if err := file.Close(); err != nil {
		removeIfExists(file.Name())
		return "", err
	}
	return file.Name(), nil
}

// commit renames the content and then the sidecar into place and fsyncs
// the directory so that the renames survive a crash.
func (l *Local) commit(key, contentTemp, contentPath, metaTemp, metaPath string) error {
	unlock := l.lockKey(key)
	defer unlock()

	if err := os.Rename(contentTemp, contentPath); err != nil {
		if errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, fs.ErrExist) {
			return l.conflict(key, "a directory of other objects has this name")
		}
		return fmt.Errorf("local put %q in %s: %w", key, l, err)
	}
	if err := os.Rename(metaTemp, metaPath); err != nil {
		return fmt.Errorf("local put %q in %s: renaming sidecar: %w", key, l, err)
	}
	if err := syncDir(filepath.Dir(contentPath)); err != nil {
		return fmt.Errorf("local put %q in %s: %w", key, l, err)
	}
	return nil
}

func (l *Local) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := validateLocalKey(key); err != nil {
		return ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return ObjectInfo{}, err
	}

	contentPath, metaPath := l.paths(key)
	info, err := os.Stat(contentPath)
	if err != nil || !info.Mode().IsRegular() {
		return ObjectInfo{}, l.statError("stat", key, err)
	}
	return l.describe(key, contentPath, metaPath, info, true)
}

// statError maps a missing file, or a directory where an object would be,
// to ErrNotFound.
func (l *Local) statError(operation, key string, err error) error {
	if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("local %s %q in %s: %w", operation, key, l, ErrNotFound)
	}
	return fmt.Errorf("local %s %q in %s: %w", operation, key, l, err)
}

// describe builds the ObjectInfo of a content file from its sidecar. A
// missing or stale sidecar costs a full read of the content for the ETag.
func (l *Local) describe(key, contentPath, metaPath string, info fs.FileInfo, withAttributes bool) (ObjectInfo, error) {
	result := ObjectInfo{Key: key, Size: info.Size(), ModTime: info.ModTime()}

	meta, ok := readSidecar(metaPath, info)
	if !ok {
		etag, err := hashFile(contentPath)
		if err != nil {
			return ObjectInfo{}, l.statError("stat", key, err)
		}
		meta = sidecar{ContentType: defaultContentType, ETag: etag}
	}

	result.ETag = meta.ETag
	if withAttributes {
		result.ContentType = meta.ContentType
		result.Metadata = meta.Metadata
	}
	return result, nil
}

// readSidecar returns the sidecar at path if it describes the content file
// with the given FileInfo.
func readSidecar(path string, content fs.FileInfo) (sidecar, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return sidecar{}, false
	}
	var meta sidecar
	if err := json.Unmarshal(data, &meta); err != nil {
		return sidecar{}, false
	}

	if meta.Size != content.Size() || meta.ETag == "" {
		return sidecar{}, false
	}
	if inode := inodeOf(content); inode != 0 && meta.Inode != 0 && inode != meta.Inode {
		return sidecar{}, false
	}
	return meta, true
}

func hashFile(path string) (string, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer file.Close()

	hash := md5.New()
	if _, err := io.Copy(hash, file); err != nil {
		return "", err
	}
	return hex.EncodeToString(hash.Sum(nil)), nil
}

// Get opens the content file. ctx is checked once, before opening; reading
// a local file does not need it.
func (l *Local) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := validateLocalKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	contentPath, _ := l.paths(key)
	file, err := os.Open(contentPath)
	if err != nil {
		return nil, l.statError("get", key, err)
	}
	info, err := file.Stat()
	if err != nil || !info.Mode().IsRegular() {
		file.Close()
		return nil, l.statError("get", key, err)
	}
	return file, nil
}

func (l *Local) Delete(ctx context.Context, key string) error {
	if err := validateLocalKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	unlock := l.lockKey(key)
	defer unlock()

	contentPath, metaPath := l.paths(key)
	if info, err := os.Lstat(contentPath); err == nil && info.IsDir() {
		// A directory of other objects is not an object: nothing to delete.
		return nil
	}
	for _, path := range []string{contentPath, metaPath} {
		err := os.Remove(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("local delete %q in %s: %w", key, l, err)
		}
	}
	if err := syncDir(filepath.Dir(contentPath)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local delete %q in %s: %w", key, l, err)
	}

	l.removeEmptyParents(filepath.Dir(contentPath))
	return nil
}

// removeEmptyParents removes dir and its parents up to the root while they
// are empty. A failure only leaves an empty directory behind, so it is not
// reported.
func (l *Local) removeEmptyParents(dir string) {
	for dir != l.root && strings.HasPrefix(dir, l.root+string(filepath.Separator)) {
		if err := os.Remove(dir); err != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// removeIfExists removes a temporary file. The error is dropped because
// List ignores temporary files, so a failed removal leaves garbage but no
// wrong state.
func removeIfExists(path string) {
	_ = os.Remove(path)
}

func syncDir(dir string) error {
	handle, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer handle.Close()
	if err := handle.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
