// Package objectstore defines where archived objects go and implements it
// for S3-compatible servers (minio-go) and for a local folder.
//
// The interface follows the shape of restic's backend interface: a handful
// of whole-object operations keyed by a slash-separated name, with errors
// that tell the caller whether a retry can help.
//
// Retry contract, shared by every implementation:
//
//   - Put, Delete and Stat are idempotent: repeating a call with the same
//     arguments leaves the store in the same state. A caller may retry any of
//     them after an error for which IsPermanent returns false. Put consumes
//     its reader, so a retry needs a fresh reader over the same bytes.
//   - Get and List only read, so they can be retried freely. An error from a
//     stream returned by Get can be retried by calling Get again.
//   - An error for which IsPermanent returns true (invalid key or metadata,
//     access denied, missing bucket, ErrNotFound) fails again on retry until
//     someone changes the input or the configuration.
//   - Context errors (context.Canceled, context.DeadlineExceeded) are neither
//     permanent nor worth retrying with the same context: callers check
//     ctx.Err() themselves.
package objectstore

import (
	"context"
	"io"
	"time"
)

// Store is a flat namespace of objects addressed by keys such as
// "cam1/2024/05/01/ch01_000123.mp4". Keys must pass ValidateKey.
// Implementations are safe for concurrent use by multiple goroutines.
type Store interface {
	// Put stores r (size bytes, or -1 if unknown) under key, replacing any
	// object there. A reader never observes a partly written object, only
	// the old object or the new one. When size is not -1, Put fails
	// with a permanent error if r yields fewer or more bytes. Put returns the
	// ObjectInfo that the store reports for the new object.
	Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (ObjectInfo, error)

	// Stat returns the object's size, ETag, modification time, content type
	// and metadata. It returns an error matching ErrNotFound (errors.Is)
	// when key is absent.
	Stat(ctx context.Context, key string) (ObjectInfo, error)

	// Get opens the object for reading. It returns an error matching
	// ErrNotFound when key is absent. The caller must close the reader;
	// ctx must stay alive until then because it governs the transfer.
	Get(ctx context.Context, key string) (io.ReadCloser, error)

	// Delete removes the object. Deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error

	// List calls fn for every object whose key starts with prefix, in
	// lexical (byte-wise) order of keys. The ObjectInfo values carry Key,
	// Size, ETag and ModTime only; call Stat for the content type and
	// metadata. An error returned by fn stops the listing, and List
	// returns that error unchanged.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error

	// String describes the store for logs. It never contains secrets.
	String() string
}

// PutOptions are the attributes stored together with an object.
type PutOptions struct {
	// ContentType is the MIME type, e.g. "video/mp4". Empty means
	// "application/octet-stream".
	ContentType string

	// Metadata are user-defined key-value pairs, validated by
	// ValidateMetadata: keys in lower case, values in printable ASCII.
	Metadata map[string]string
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key  string
	Size int64 // bytes

	// ETag is an opaque content tag without quotes. It changes when the
	// content changes. For S3 it is the server's ETag (for multipart
	// uploads it ends in "-<number of parts>"); for Local it is the
	// hex-encoded MD5 of the content.
	ETag string

	ModTime     time.Time
	ContentType string
	Metadata    map[string]string
}

const defaultContentType = "application/octet-stream"
