package archiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/hikarchive/hikarchive/internal/archive"
	"github.com/hikarchive/hikarchive/internal/objectstore"
	"github.com/hikarchive/hikarchive/internal/pipeline"
	"github.com/hikarchive/hikarchive/internal/retention"
)

// Lock configures S3 Object Lock retention on the objects of each archived
// segment, until its retention rule lets the sweep delete it.
//
// The lock is set only after the copy is known to be good: clip, original
// and thumbnail are uploaded without retention, the index is read again,
// and only then does each get its retention, with the metadata uploaded
// locked last. An untrusted copy is therefore still deletable, even in
// compliance mode. A segment whose lock fails has no metadata and is
// retried. Its earlier uploads stay in the bucket as older versions, locked
// or not, until the sweep removes every version of the key.
type Lock struct {
	Mode   objectstore.RetentionMode // Governance or Compliance
	Policy retention.Policy
}

// checkLocking rejects a lock configuration the store cannot honour.
func checkLocking(ctx context.Context, store objectstore.Store, lock *Lock) error {
	if lock == nil {
		return nil
	}
	if lock.Mode != objectstore.Governance && lock.Mode != objectstore.Compliance {
		return fmt.Errorf("archiver: object lock mode %q is invalid: use %s or %s", lock.Mode, objectstore.Governance, objectstore.Compliance)
	}

	locker, ok := store.(objectstore.Locker)
	if !ok {
		return fmt.Errorf("archiver: object lock is configured but %s does not support S3 Object Lock: use an S3 bucket created with Object Lock enabled, or remove retention.lock_mode", store)
	}
	enabled, err := locker.LockingEnabled(ctx)
	if err != nil {
		return fmt.Errorf("archiver: check that %s has Object Lock enabled: %w", store, err)
	}
	if !enabled {
		return fmt.Errorf("archiver: object lock is configured but %s does not have Object Lock enabled; S3 enables it only when a bucket is created: create a bucket with Object Lock and point store.s3.bucket at it, or remove retention.lock_mode", store)
	}
	return nil
}

// retentionFor returns the retention for the objects of segment, or false
// when they get none: locking is off, no rule keeps the segment (it is kept
// for good), or its retention has already ended.
func (w *worker) retentionFor(segment pipeline.Segment, log zerolog.Logger) (objectstore.Retention, bool) {
	lock := w.archiver.opts.Lock
	if lock == nil {
		return objectstore.Retention{}, false
	}

	r, err := lock.Policy.Lock(lock.Mode, segment.Camera, retention.KindContinuous, segment.Start, w.archiver.opts.Now())
	if errors.Is(err, retention.ErrNoLock) {
		log.Debug().Err(err).Msg("segment stored without object lock")
		return objectstore.Retention{}, false
	}
	if err != nil {
		log.Warn().Err(err).Msg("segment stored without object lock")
		return objectstore.Retention{}, false
	}
	return r, true
}

// lockObjects sets the retention on the clip, the original and the
// thumbnail of a copy that passed the post-copy check.
func (w *worker) lockObjects(ctx context.Context, clip clipInfo, keys archive.Keys, thumb archive.Thumbnail, r objectstore.Retention) error {
	locker := w.archiver.opts.Store.(objectstore.Locker)

	objects := []string{clip.key}
	if clip.original != "" {
		objects = append(objects, clip.original)
	}
	if thumb.Status == "ok" {
		objects = append(objects, keys.Thumbnail)
	}
	for _, key := range objects {
		if err := locker.SetRetention(ctx, key, r); err != nil {
			return fmt.Errorf("lock %s until %s: %w", key, r.RetainUntil.UTC().Format("2006-01-02T15:04:05Z"), err)
		}
	}
	return nil
}

// putLockedMetadata uploads the metadata document with its retention on
// the upload itself.
func (w *worker) putLockedMetadata(ctx context.Context, key string, data []byte, r objectstore.Retention) error {
	locker := w.archiver.opts.Store.(objectstore.Locker)
	_, err := locker.PutRetained(ctx, key, bytes.NewReader(data), int64(len(data)), objectstore.PutOptions{ContentType: archive.MetadataContentType}, r)
	return err
}
