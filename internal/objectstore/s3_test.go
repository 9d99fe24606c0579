package objectstore_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/objectstore"
	"github.com/hikarchive/hikarchive/internal/testserver"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.Shutdown()
	os.Exit(code)
}

func s3Options(server *testserver.MinIOServer, bucket string) objectstore.S3Options {
	return objectstore.S3Options{
		Endpoint:     server.Endpoint,
		Bucket:       bucket,
		AccessKey:    server.AccessKey,
		SecretKey:    server.SecretKey,
		CreateBucket: true,
	}
}

func newS3(t *testing.T, options objectstore.S3Options) *objectstore.S3 {
	t.Helper()
	store, err := objectstore.NewS3(testContext(t), options)
	require.NoError(t, err)
	return store
}

func TestS3Contract(t *testing.T) {
	server := testserver.MinIO(t)
	runContract(t, storeUnderTest{
		open: func(t *testing.T) objectstore.Store {
			return newS3(t, s3Options(server, server.NewBucketName()))
		},
		checkParts: func(t *testing.T, info objectstore.ObjectInfo, size int64) {
			parts := (size + objectstore.DefaultPartSize - 1) / objectstore.DefaultPartSize
			assert.True(t, strings.HasSuffix(info.ETag, fmt.Sprintf("-%d", parts)),
				"ETag %q must end in -%d, the mark of a multipart upload with %d parts", info.ETag, parts, parts)
		},
		partBuffer: objectstore.DefaultPartSize,
	})
}

func TestS3UnreachableEndpoint(t *testing.T) {
	// A port that was just free on loopback: nothing listens there.
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	endpoint := listener.Addr().String()
	require.NoError(t, listener.Close())

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = objectstore.NewS3(ctx, objectstore.S3Options{
		Endpoint:  endpoint,
		Bucket:    "archive",
		AccessKey: "access",
		SecretKey: "secret-value",
	})

	require.Error(t, err)
	assert.NoError(t, ctx.Err(), "NewS3 must give up on its own, before the caller's deadline")
	assert.Contains(t, err.Error(), endpoint, "the error must name the endpoint")
	assert.Contains(t, err.Error(), "unreachable")
	assert.Contains(t, err.Error(), "check that the endpoint host:port is right")
	assert.Contains(t, err.Error(), "connection refused")
	assert.NotContains(t, err.Error(), "secret-value")
	assert.False(t, objectstore.IsPermanent(err), "an unreachable server may come back")
}

func TestS3WrongCredentials(t *testing.T) {
	server := testserver.MinIO(t)
	bucket := server.NewBucketName()
	newS3(t, s3Options(server, bucket))

	for name, options := range map[string]objectstore.S3Options{
		"wrong secret key":   {Endpoint: server.Endpoint, Bucket: bucket, AccessKey: server.AccessKey, SecretKey: "wrong-secret-value"},
		"unknown access key": {Endpoint: server.Endpoint, Bucket: bucket, AccessKey: "nobody", SecretKey: "wrong-secret-value"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := objectstore.NewS3(testContext(t), options)
			require.Error(t, err)
			assert.True(t, objectstore.IsPermanent(err), "wrong credentials do not get better by retrying: %v", err)
			assert.Contains(t, err.Error(), "rejected the credentials")
			assert.Contains(t, err.Error(), server.Endpoint)
			assert.NotContains(t, err.Error(), "wrong-secret-value")
		})
	}
}

func TestS3MissingBucketWithoutCreate(t *testing.T) {
	server := testserver.MinIO(t)
	options := s3Options(server, server.NewBucketName())
	options.CreateBucket = false

	_, err := objectstore.NewS3(testContext(t), options)
	require.Error(t, err)
	assert.True(t, objectstore.IsPermanent(err))
	assert.Contains(t, err.Error(), options.Bucket)
	assert.Contains(t, err.Error(), "does not exist")

	options.CreateBucket = true
	newS3(t, options)
	options.CreateBucket = false
	newS3(t, options)
}

func TestS3InvalidOptions(t *testing.T) {
	valid := objectstore.S3Options{Endpoint: "127.0.0.1:9", Bucket: "archive", AccessKey: "a", SecretKey: "s"}
	cases := map[string]func(*objectstore.S3Options){
		"empty endpoint":      func(o *objectstore.S3Options) { o.Endpoint = "" },
		"endpoint with URL":   func(o *objectstore.S3Options) { o.Endpoint = "http://127.0.0.1:9" },
		"endpoint with path":  func(o *objectstore.S3Options) { o.Endpoint = "127.0.0.1:9/bucket" },
		"invalid bucket":      func(o *objectstore.S3Options) { o.Bucket = "Upper_Case" },
		"missing secret key":  func(o *objectstore.S3Options) { o.SecretKey = "" },
		"part size too small": func(o *objectstore.S3Options) { o.PartSize = 1 << 20 },
		"part size too large": func(o *objectstore.S3Options) { o.PartSize = 6 << 30 },
	}
	for name, change := range cases {
		options := valid
		change(&options)
		_, err := objectstore.NewS3(context.Background(), options)
		assert.Error(t, err, name)
		assert.True(t, objectstore.IsPermanent(err), name)
	}
}

func TestS3CanceledPutLeavesNoParts(t *testing.T) {
	server := testserver.MinIO(t)
	options := s3Options(server, server.NewBucketName())
	options.PartSize = objectstore.MinPartSize
	store := newS3(t, options)

	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	reader := &cancelingReader{source: generator(5, 1<<40), limit: 12 << 20, cancel: cancel}
	_, err := store.Put(ctx, "canceled/upload", reader, -1, objectstore.PutOptions{})
	require.ErrorIs(t, err, context.Canceled)

	client, err := minio.New(server.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(server.AccessKey, server.SecretKey, ""),
	})
	require.NoError(t, err)
	var incomplete []string
	for upload := range client.ListIncompleteUploads(testContext(t), options.Bucket, "", true) {
		require.NoError(t, upload.Err)
		incomplete = append(incomplete, upload.Key)
	}
	assert.Empty(t, incomplete, "a canceled multipart upload must be aborted on the server")
}

func TestS3SmallPartSize(t *testing.T) {
	server := testserver.MinIO(t)
	options := s3Options(server, server.NewBucketName())
	options.PartSize = objectstore.MinPartSize
	store := newS3(t, options)

	const size = 12 << 20
	info, err := store.Put(testContext(t), "parts", plainReader{generator(6, size)}, -1, objectstore.PutOptions{})
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(info.ETag, "-3"), "12 MiB in 5 MiB parts is 3 parts, ETag %q", info.ETag)
}

func TestS3StringHasNoSecrets(t *testing.T) {
	server := testserver.MinIO(t)
	options := s3Options(server, server.NewBucketName())
	store := newS3(t, options)

	description := store.String()
	assert.Contains(t, description, options.Bucket)
	assert.Contains(t, description, server.Endpoint)
	assert.NotContains(t, description, server.SecretKey)
	assert.NotContains(t, fmt.Sprintf("%+v", store), server.SecretKey)
}

func TestS3ErrorsNameTheStore(t *testing.T) {
	server := testserver.MinIO(t)
	options := s3Options(server, server.NewBucketName())
	store := newS3(t, options)

	_, err := store.Stat(testContext(t), "missing")
	require.Error(t, err)
	assert.Contains(t, err.Error(), options.Bucket)
	assert.Contains(t, err.Error(), `"missing"`)
}
