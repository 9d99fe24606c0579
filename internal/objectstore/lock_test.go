package objectstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/objectstore"
	"github.com/hikarchive/hikarchive/internal/testserver"
)

// newLockedS3 creates a bucket with Object Lock enabled, which S3 allows
// only at creation, and opens it.
func newLockedS3(t *testing.T) *objectstore.S3 {
	t.Helper()
	server := testserver.MinIO(t)
	bucket := server.NewBucketName()
	client, err := minio.New(server.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(server.AccessKey, server.SecretKey, "")})
	require.NoError(t, err)
	require.NoError(t, client.MakeBucket(testContext(t), bucket, minio.MakeBucketOptions{ObjectLocking: true}))

	options := s3Options(server, bucket)
	options.CreateBucket = false
	return newS3(t, options)
}

func putRetained(t *testing.T, store *objectstore.S3, key string, retention objectstore.Retention) {
	t.Helper()
	_, err := store.PutRetained(testContext(t), key, strings.NewReader("footage"), 7, objectstore.PutOptions{}, retention)
	require.NoError(t, err)
}

func TestS3LockingEnabled(t *testing.T) {
	ctx := testContext(t)
	locked := newLockedS3(t)
	enabled, err := locked.LockingEnabled(ctx)
	require.NoError(t, err)
	require.True(t, enabled)

	server := testserver.MinIO(t)
	plain := newS3(t, s3Options(server, server.NewBucketName()))
	enabled, err = plain.LockingEnabled(ctx)
	require.NoError(t, err)
	require.False(t, enabled)
}

func TestS3PutRetainedSetsRetention(t *testing.T) {
	ctx := testContext(t)
	store := newLockedS3(t)
	until := time.Now().Add(time.Hour).Truncate(time.Second)

	putRetained(t, store, "cam/clip.ps", objectstore.Retention{Mode: objectstore.Governance, RetainUntil: until})

	retention, err := store.Retention(ctx, "cam/clip.ps")
	require.NoError(t, err)
	require.Equal(t, objectstore.Governance, retention.Mode)
	require.True(t, until.Equal(retention.RetainUntil), "retain until %s, want %s", retention.RetainUntil, until)
	require.True(t, retention.Active(time.Now()))
}

func TestS3RetentionOfUnlockedObject(t *testing.T) {
	ctx := testContext(t)
	store := newLockedS3(t)
	putString(t, store, "cam/free.ps", "footage", objectstore.PutOptions{})

	retention, err := store.Retention(ctx, "cam/free.ps")
	require.NoError(t, err)
	require.Equal(t, objectstore.Retention{}, retention)

	_, err = store.Retention(ctx, "cam/absent.ps")
	require.ErrorIs(t, err, objectstore.ErrNotFound)
}

func TestS3DeleteVersionsRespectsRetention(t *testing.T) {
	ctx := testContext(t)
	store := newLockedS3(t)
	for _, mode := range []objectstore.RetentionMode{objectstore.Governance, objectstore.Compliance} {
		key := "cam/" + strings.ToLower(string(mode)) + ".ps"
		putRetained(t, store, key, objectstore.Retention{Mode: mode, RetainUntil: time.Now().Add(time.Hour)})

		err := store.DeleteVersions(ctx, key)
		require.ErrorIs(t, err, objectstore.ErrLocked, "mode %s", mode)

		// A plain Delete only hides the object behind a delete marker; the
		// locked version stays and DeleteVersions still finds it.
		require.NoError(t, store.Delete(ctx, key))
		err = store.DeleteVersions(ctx, key)
		require.ErrorIs(t, err, objectstore.ErrLocked, "mode %s after a delete marker", mode)
	}
}

func TestS3DeleteVersionsAfterRetentionEnds(t *testing.T) {
	ctx := testContext(t)
	store := newLockedS3(t)
	until := time.Now().Add(2 * time.Second)
	putRetained(t, store, "cam/short.ps", objectstore.Retention{Mode: objectstore.Governance, RetainUntil: until})
	putString(t, store, "cam/short.ps", "second version", objectstore.PutOptions{})

	// minio-go sends the time truncated to whole seconds.
	time.Sleep(time.Until(until.Add(time.Second)))
	require.NoError(t, store.DeleteVersions(ctx, "cam/short.ps"))

	_, err := store.Stat(ctx, "cam/short.ps")
	require.ErrorIs(t, err, objectstore.ErrNotFound)
	require.Empty(t, listKeys(t, store, "cam/"))
	require.NoError(t, store.DeleteVersions(ctx, "cam/short.ps"), "deleting an absent key")
}

func TestS3PutRetainedRejectsBadRetention(t *testing.T) {
	store := newLockedS3(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err := store.PutRetained(ctx, "cam/x.ps", strings.NewReader("x"), 1, objectstore.PutOptions{}, objectstore.Retention{Mode: "FOREVER", RetainUntil: time.Now().Add(time.Hour)})
	require.True(t, objectstore.IsPermanent(err), "%v", err)
	_, err = store.PutRetained(ctx, "cam/x.ps", strings.NewReader("x"), 1, objectstore.PutOptions{}, objectstore.Retention{Mode: objectstore.Compliance})
	require.True(t, objectstore.IsPermanent(err), "%v", err)
	require.False(t, errors.Is(err, objectstore.ErrLocked))
}
