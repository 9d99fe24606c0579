package retention

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/archive"
	"github.com/hikarchive/hikarchive/internal/objectstore"
	"github.com/hikarchive/hikarchive/internal/pipeline"
	"github.com/hikarchive/hikarchive/internal/testserver"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.Shutdown()
	os.Exit(code)
}

const prefix = "recordings"

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newStore opens a new bucket on the shared MinIO server, with Object Lock
// when locking is set. S3 allows enabling Object Lock only when a bucket
// is created.
func newStore(t *testing.T, locking bool) *objectstore.S3 {
	t.Helper()
	ctx := testContext(t)
	server := testserver.MinIO(t)
	bucket := server.NewBucketName()
	client, err := minio.New(server.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(server.AccessKey, server.SecretKey, "")})
	require.NoError(t, err)
	require.NoError(t, client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{ObjectLocking: locking}))

	store, err := objectstore.NewS3(ctx, objectstore.S3Options{
		Endpoint: server.Endpoint, Bucket: bucket,
		AccessKey: server.AccessKey, SecretKey: server.SecretKey,
	})
	require.NoError(t, err)
	return store
}

// putSegment stores a segment as the archiver does, metadata last, and
// returns its keys. A non-zero lock is set on every object.
func putSegment(t *testing.T, store objectstore.Store, camera string, start time.Time, lock objectstore.Retention) archive.Keys {
	t.Helper()
	ctx := testContext(t)
	segment := pipeline.Segment{
		Camera: camera, Datadir: "sd", ID: "segment", HivFile: "hiv00001.mp4",
		Channel: 1, File: 1, Slot: uint16(start.Unix() % 1000),
		Start: start.UTC(), End: start.Add(20 * time.Second).UTC(), TimeZone: "UTC",
	}
	keys := archive.KeysFor(prefix, segment)
	metadata, err := json.Marshal(archive.Metadata{
		Version: archive.MetadataVersion, Segment: segment,
		Objects: pipeline.Objects{Clip: keys.MP4, Thumbnail: keys.Thumbnail, Metadata: keys.Metadata},
	})
	require.NoError(t, err)

	for _, object := range []struct {
		key  string
		data []byte
	}{{keys.MP4, []byte("clip")}, {keys.Thumbnail, []byte("jpeg")}, {keys.Metadata, metadata}} {
		if lock.Mode != "" {
			_, err = store.(objectstore.Locker).PutRetained(ctx, object.key, bytes.NewReader(object.data), int64(len(object.data)), objectstore.PutOptions{}, lock)
		} else {
			_, err = store.Put(ctx, object.key, bytes.NewReader(object.data), int64(len(object.data)), objectstore.PutOptions{})
		}
		require.NoError(t, err)
	}
	return keys
}

func exists(t *testing.T, store objectstore.Store, key string) bool {
	t.Helper()
	_, err := store.Stat(testContext(t), key)
	if errors.Is(err, objectstore.ErrNotFound) {
		return false
	}
	require.NoError(t, err)
	return true
}

func requireSegment(t *testing.T, store objectstore.Store, keys archive.Keys, present bool) {
	t.Helper()
	for _, key := range []string{keys.MP4, keys.Thumbnail, keys.Metadata} {
		require.Equal(t, present, exists(t, store, key), "object %s", key)
	}
}

func sweepOptions(t *testing.T, store objectstore.Store, policy Policy) Options {
	return Options{Store: store, Prefix: prefix, Policy: policy, Logger: zerolog.New(zerolog.NewTestWriter(t))}
}

func stems(segments []Segment) []string {
	var out []string
	for _, s := range segments {
		out = append(out, s.Stem)
	}
	return out
}

func stemOf(keys archive.Keys) string {
	return strings.TrimSuffix(keys.Metadata, ".json")
}

func TestSweepDeletesOnlyExpired(t *testing.T) {
	ctx := testContext(t)
	store := newStore(t, false)
	now := time.Now()
	policy := Policy{Rules: []Rule{{Keep: 7 * day}, {Camera: "door", Keep: 30 * day}}}

	oldYard := putSegment(t, store, "yard/cam 1", now.Add(-8*day), objectstore.Retention{})
	newYard := putSegment(t, store, "yard/cam 1", now.Add(-6*day), objectstore.Retention{})
	oldDoor := putSegment(t, store, "door", now.Add(-8*day), objectstore.Retention{})
	ancientDoor := putSegment(t, store, "door", now.Add(-31*day), objectstore.Retention{})
	_, err := store.Put(ctx, prefix+"/README.txt", strings.NewReader("not footage"), 11, objectstore.PutOptions{})
	require.NoError(t, err)

	report, err := Sweep(ctx, sweepOptions(t, store, policy))
	require.NoError(t, err)

	require.Equal(t, 4, report.Checked)
	require.ElementsMatch(t, []string{stemOf(oldYard), stemOf(ancientDoor)}, stems(report.Deleted))
	require.Empty(t, report.Locked)
	require.Empty(t, report.Failed)
	var cameras []string
	for _, segment := range report.Deleted {
		cameras = append(cameras, segment.Camera)
	}
	require.ElementsMatch(t, []string{"yard/cam 1", "door"}, cameras, "camera ids from the metadata")
	requireSegment(t, store, oldYard, false)
	requireSegment(t, store, ancientDoor, false)
	requireSegment(t, store, newYard, true)
	requireSegment(t, store, oldDoor, true)
	require.True(t, exists(t, store, prefix+"/README.txt"))
}

func TestSweepDryRunDeletesNothing(t *testing.T) {
	ctx := testContext(t)
	store := newStore(t, false)
	old := putSegment(t, store, "yard", time.Now().Add(-8*day), objectstore.Retention{})

	opts := sweepOptions(t, store, Policy{Rules: []Rule{{Keep: 7 * day}}})
	opts.DryRun = true
	report, err := Sweep(ctx, opts)
	require.NoError(t, err)

	require.True(t, report.DryRun)
	require.Equal(t, []string{stemOf(old)}, stems(report.Deleted))
	require.Equal(t, []string{old.Metadata, old.MP4, old.Thumbnail}, report.Deleted[0].Keys, "metadata first")
	requireSegment(t, store, old, true)
}

func TestSweepOrphansAfterGrace(t *testing.T) {
	ctx := testContext(t)
	store := newStore(t, false)
	orphan := putSegment(t, store, "yard", time.Now().Add(-8*day), objectstore.Retention{})
	require.NoError(t, store.Delete(ctx, orphan.Metadata))
	opts := sweepOptions(t, store, Policy{Rules: []Rule{{Keep: 7 * day}}})

	// Just written: the archiver may still be uploading it.
	report, err := Sweep(ctx, opts)
	require.NoError(t, err)
	require.Empty(t, report.Deleted)
	require.True(t, exists(t, store, orphan.MP4))

	opts.Now = func() time.Time { return time.Now().Add(2 * DefaultOrphanGrace) }
	report, err = Sweep(ctx, opts)
	require.NoError(t, err)
	require.Equal(t, []string{stemOf(orphan)}, stems(report.Deleted))
	require.True(t, report.Deleted[0].Orphan)
	require.False(t, exists(t, store, orphan.MP4))
	require.False(t, exists(t, store, orphan.Thumbnail))
}

func TestSweepKeepsLockedSegments(t *testing.T) {
	ctx := testContext(t)
	store := newStore(t, true)
	now := time.Now()
	policy := Policy{Rules: []Rule{{Keep: 7 * day}}}

	lockedUntil := now.Add(time.Hour).Truncate(time.Second)
	governance := putSegment(t, store, "yard", now.Add(-9*day), objectstore.Retention{Mode: objectstore.Governance, RetainUntil: lockedUntil})
	compliance := putSegment(t, store, "door", now.Add(-9*day), objectstore.Retention{Mode: objectstore.Compliance, RetainUntil: lockedUntil})
	unlocked := putSegment(t, store, "yard", now.Add(-8*day), objectstore.Retention{})

	report, err := Sweep(ctx, sweepOptions(t, store, policy))
	require.NoError(t, err)

	require.Equal(t, []string{stemOf(unlocked)}, stems(report.Deleted))
	require.ElementsMatch(t, []string{stemOf(governance), stemOf(compliance)}, stems(report.Locked))
	for _, locked := range report.Locked {
		require.True(t, lockedUntil.Equal(locked.Retention.RetainUntil), "retain until %s", locked.Retention.RetainUntil)
	}
	require.Empty(t, report.Failed)
	requireSegment(t, store, governance, true)
	requireSegment(t, store, compliance, true)
	requireSegment(t, store, unlocked, false)

	// The versions are gone too, not hidden behind delete markers.
	for _, key := range []string{unlocked.MP4, unlocked.Thumbnail, unlocked.Metadata} {
		require.NoError(t, store.DeleteVersions(ctx, key))
	}
	require.ErrorIs(t, store.DeleteVersions(ctx, governance.MP4), objectstore.ErrLocked)
}

func TestSweepLocalStore(t *testing.T) {
	ctx := testContext(t)
	store, err := objectstore.NewLocal(t.TempDir())
	require.NoError(t, err)
	old := putSegment(t, store, "yard", time.Now().Add(-8*day), objectstore.Retention{})
	kept := putSegment(t, store, "yard", time.Now().Add(-day), objectstore.Retention{})

	report, err := Sweep(ctx, sweepOptions(t, store, Policy{Rules: []Rule{{Keep: 7 * day}}}))
	require.NoError(t, err)
	require.Equal(t, []string{stemOf(old)}, stems(report.Deleted))
	requireSegment(t, store, old, false)
	requireSegment(t, store, kept, true)
}
