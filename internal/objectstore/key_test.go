package objectstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
)

func TestValidateKeyAccepts(t *testing.T) {
	for _, key := range []string{
		"a", "cam1/2024/05/01/ch01_000123.mp4", ".hidden", "a/..b", "a/b..", "ä/ü", "with space",
		strings.Repeat("k", MaxKeyLength),
	} {
		assert.NoError(t, ValidateKey(key), "key %q", key)
	}
}

func TestValidateKeyErrorsExplain(t *testing.T) {
	cases := map[string]string{
		"":                                  "empty",
		"/a":                                "leading slash",
		"a\\b":                              "backslash",
		"a\x00b":                            "NUL",
		"a/../b":                            `".."`,
		"a//b":                              "empty component",
		strings.Repeat("k", MaxKeyLength+1): "1025 bytes",
	}
	for key, reason := range cases {
		err := ValidateKey(key)
		assert.ErrorIs(t, err, ErrInvalidKey, "key %q", key)
		assert.ErrorContains(t, err, reason, "key %q", key)
	}
}

func TestCanMatchValidKey(t *testing.T) {
	for prefix, expected := range map[string]bool{
		"":      true,
		"a":     true,
		"a/":    true,
		"a/.":   true, // ".hidden" starts with "."
		"a/..":  true, // "..b" starts with ".."
		"\xc3":  true, // the first byte of "ä"
		"../":   false,
		"a//":   false,
		"/a":    false,
		"a\\b":  false,
		"a\x00": false,
		"./x":   false,
	} {
		assert.Equal(t, expected, canMatchValidKey(prefix), "prefix %q", prefix)
	}
}

// FuzzValidateKey checks that an accepted key maps to a path inside the
// local store's root and that the prefix check agrees with the key check.
func FuzzValidateKey(f *testing.F) {
	for _, seed := range []string{"a/b", "../x", "a/./b", "a\\b", ".hikarchive-meta-x", "ä", "a//b", "/", "..."} {
		f.Add(seed)
	}
	root := filepath.Join(string(filepath.Separator), "archive", "root")

	f.Fuzz(func(t *testing.T, key string) {
		if ValidateKey(key) != nil {
			return
		}
		path := filepath.Join(root, filepath.FromSlash(key))
		if !strings.HasPrefix(path, root+string(filepath.Separator)) {
			t.Fatalf("valid key %q maps to %q outside the root", key, path)
		}
		if filepath.ToSlash(path[len(root)+1:]) != key {
			t.Fatalf("valid key %q is not preserved by the path %q", key, path)
		}
		for end := range len(key) + 1 {
			if !canMatchValidKey(key[:end]) {
				t.Fatalf("prefix %q of valid key %q is reported as matching nothing", key[:end], key)
			}
		}
	})
}

func TestValidateMetadataAccepts(t *testing.T) {
	err := ValidateMetadata(map[string]string{"camera": "cam1", "start-time": "2024-05-01T00:00:00Z", "n0": ""})
	assert.NoError(t, err)
	assert.NoError(t, ValidateMetadata(nil))
}

func TestIsPermanent(t *testing.T) {
	s3Error := func(code string, status int) error {
		return fmt.Errorf("wrapped: %w", minio.ErrorResponse{Code: code, StatusCode: status})
	}
	cases := map[string]struct {
		err      error
		expected bool
	}{
		"nil":                    {nil, false},
		"not found":              {fmt.Errorf("stat: %w", ErrNotFound), true},
		"invalid key":            {ValidateKey(""), true},
		"size mismatch":          {fmt.Errorf("x: %w", ErrSizeMismatch), true},
		"permission":             {&os.PathError{Op: "open", Path: "/x", Err: os.ErrPermission}, true},
		"access denied":          {s3Error("AccessDenied", http.StatusForbidden), true},
		"wrong signature":        {s3Error("SignatureDoesNotMatch", http.StatusForbidden), true},
		"no such bucket":         {s3Error("NoSuchBucket", http.StatusNotFound), true},
		"other 4xx":              {s3Error("SomethingNew", http.StatusBadRequest), true},
		"request timeout 408":    {s3Error("RequestTimeout", http.StatusRequestTimeout), false},
		"slow down":              {s3Error("SlowDown", http.StatusServiceUnavailable), false},
		"too many requests":      {s3Error("", http.StatusTooManyRequests), false},
		"clock skew":             {s3Error("RequestTimeTooSkewed", http.StatusForbidden), false},
		"internal error":         {s3Error("InternalError", http.StatusInternalServerError), false},
		"network":                {&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, false},
		"canceled":               {context.Canceled, false},
		"deadline":               {fmt.Errorf("put: %w", context.DeadlineExceeded), false},
		"marked":                 {permanent(errors.New("bad option")), true},
		"canceled after marking": {permanent(context.Canceled), false},
		"plain":                  {errors.New("something"), false},
	}
	for name, test := range cases {
		assert.Equal(t, test.expected, IsPermanent(test.err), name)
	}
}
