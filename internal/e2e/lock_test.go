package e2e

import (
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/archiver"
	"github.com/hikarchive/hikarchive/internal/objectstore"
	"github.com/hikarchive/hikarchive/internal/retention"
)

func TestArchiverLocksArchivedObjects(t *testing.T) {
	e := newEnv(t, 4, 1<<20)
	store := e.lockingStore(true)

	// Keep segments about a day past now, counted from their start as the
	// sweep counts. The camera's clock starts on 26 October 2025.
	keep := time.Since(time.Date(2025, 10, 26, 0, 0, 0, 0, time.UTC)) + 24*time.Hour
	options := e.archiverOptions(store)
	options.KeepOriginal = true
	options.Lock = &archiver.Lock{
		Mode:   objectstore.Governance,
		Policy: retention.Policy{Rules: []retention.Rule{{Keep: keep}}},
	}
	e.startArchiver(options)

	s := e.scanner()
	e.record(s, 10, 3*time.Second)
	e.waitDrained()

	archived, _ := e.checkEverySegment(store)
	require.Greater(t, archived, 0)

	locker := store.(objectstore.Locker)
	for id, event := range e.archivedEvents() {
		until := event.Segment.Start.Add(keep).Truncate(time.Second)
		objects := []string{event.Objects.Clip, event.Objects.Original, event.Objects.Metadata}
		if event.Objects.Thumbnail != "" {
			objects = append(objects, event.Objects.Thumbnail)
		}
		for _, key := range objects {
			lock, err := locker.Retention(e.ctx, key)
			require.NoError(t, err, "segment %s object %s", id, key)
			require.Equal(t, objectstore.Governance, lock.Mode, "segment %s object %s", id, key)
			require.WithinDuration(t, until, lock.RetainUntil, time.Second, "segment %s object %s", id, key)
		}

		err := locker.DeleteVersions(e.ctx, event.Objects.Clip)
		require.ErrorIs(t, err, objectstore.ErrLocked, "segment %s: the sweep must not be able to delete a locked clip", id)
	}
}

func TestArchiverRejectsLockWithoutLocking(t *testing.T) {
	e := newEnv(t, 4, 1<<20)
	options := e.archiverOptions(e.lockingStore(false))
	options.Lock = &archiver.Lock{
		Mode:   objectstore.Compliance,
		Policy: retention.Policy{Rules: []retention.Rule{{Keep: time.Hour}}},
	}

	_, err := archiver.New(e.ctx, e.js, options)
	require.Error(t, err)
	require.Contains(t, err.Error(), "does not have Object Lock enabled")
}

// lockingStore returns a store on a new bucket of the MinIO server, with
// Object Lock enabled when locking is set. S3 enables it only when a
// bucket is created.
func (e *env) lockingStore(locking bool) objectstore.Store {
	e.t.Helper()
	bucket := e.minio.NewBucketName()
	client, err := minio.New(e.minio.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(e.minio.AccessKey, e.minio.SecretKey, "")})
	require.NoError(e.t, err)
	require.NoError(e.t, client.MakeBucket(e.ctx, bucket, minio.MakeBucketOptions{ObjectLocking: locking}))

	store, err := objectstore.NewS3(e.ctx, objectstore.S3Options{
		Endpoint: e.minio.Endpoint, Bucket: bucket,
		AccessKey: e.minio.AccessKey, SecretKey: e.minio.SecretKey,
		PartSize: objectstore.MinPartSize,
	})
	require.NoError(e.t, err)
	return store
}
