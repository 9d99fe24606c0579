package objectstore_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/objectstore"
)

func clearCredentialEnv(t *testing.T) {
	for _, name := range []string{"HIKARCHIVE_S3_ACCESS_KEY", "HIKARCHIVE_S3_SECRET_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		t.Setenv(name, "")
	}
}

func TestCredentialsFromEnvPrefersHikarchive(t *testing.T) {
	clearCredentialEnv(t)
	t.Setenv("HIKARCHIVE_S3_ACCESS_KEY", "hik-access")
	t.Setenv("HIKARCHIVE_S3_SECRET_KEY", "hik-secret")
	t.Setenv("AWS_ACCESS_KEY_ID", "aws-access")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")

	credentials, err := objectstore.CredentialsFromEnv()
	require.NoError(t, err)
	assert.Equal(t, "hik-access", credentials.AccessKey)
	assert.Equal(t, "hik-secret", credentials.SecretKey)
	assert.Contains(t, credentials.Source, "HIKARCHIVE_S3_ACCESS_KEY")
}

func TestCredentialsFromEnvFallsBackToAWS(t *testing.T) {
	clearCredentialEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "aws-access")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")

	credentials, err := objectstore.CredentialsFromEnv()
	require.NoError(t, err)
	assert.Equal(t, "aws-access", credentials.AccessKey)
	assert.Equal(t, "aws-secret", credentials.SecretKey)
}

func TestCredentialsFromEnvHalfPair(t *testing.T) {
	clearCredentialEnv(t)
	t.Setenv("HIKARCHIVE_S3_ACCESS_KEY", "hik-access")
	t.Setenv("AWS_ACCESS_KEY_ID", "aws-access")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")

	_, err := objectstore.CredentialsFromEnv()
	require.Error(t, err, "half a pair must not silently fall back to the other pair")
	assert.Contains(t, err.Error(), "HIKARCHIVE_S3_SECRET_KEY")
}

func TestCredentialsFromEnvMissing(t *testing.T) {
	clearCredentialEnv(t)

	_, err := objectstore.CredentialsFromEnv()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HIKARCHIVE_S3_ACCESS_KEY")
	assert.Contains(t, err.Error(), "AWS_ACCESS_KEY_ID")
}

func writeCredentialsFile(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s3.yaml")
	require.NoError(t, os.WriteFile(path, []byte(content), mode))
	require.NoError(t, os.Chmod(path, mode)) // WriteFile applies the umask
	return path
}

func TestCredentialsFromFile(t *testing.T) {
	path := writeCredentialsFile(t, "access_key: file-access\nsecret_key: ' file-secret '\n", 0o600)

	credentials, err := objectstore.CredentialsFromFile(path)
	require.NoError(t, err)
	assert.Equal(t, "file-access", credentials.AccessKey)
	assert.Equal(t, "file-secret", credentials.SecretKey, "surrounding spaces are trimmed")
	assert.Equal(t, "file "+path, credentials.Source)
}

func TestCredentialsFileModes(t *testing.T) {
	content := "access_key: a\nsecret_key: file-secret\n"
	for _, mode := range []os.FileMode{0o600, 0o400, 0o640, 0o440} {
		_, err := objectstore.CredentialsFromFile(writeCredentialsFile(t, content, mode))
		assert.NoError(t, err, "mode %04o", mode)
	}

	for _, mode := range []os.FileMode{0o644, 0o604, 0o666} {
		path := writeCredentialsFile(t, content, mode)
		_, err := objectstore.CredentialsFromFile(path)
		require.Error(t, err, "mode %04o lets others read the secret", mode)
		assert.Contains(t, err.Error(), "chmod 600 "+path)
		assert.Contains(t, err.Error(), fmt.Sprintf("%04o", mode))
	}
}

func TestCredentialsFileInvalid(t *testing.T) {
	cases := map[string]struct {
		content string
		message string
	}{
		"empty":          {content: "", message: "empty"},
		"missing secret": {content: "access_key: a\n", message: "missing secret_key"},
		"missing both":   {content: "other: 1\n", message: "line 1"},
		"unknown field":  {content: "access_key: a\nsecret_key: b\nregion: x\n", message: "line 3"},
		"not a mapping":  {content: "file-secret\n", message: "expected a YAML mapping"},
		"broken syntax":  {content: "access_key: [a\n", message: "invalid YAML"},
	}
	for name, test := range cases {
		t.Run(name, func(t *testing.T) {
			path := writeCredentialsFile(t, test.content, 0o600)
			_, err := objectstore.CredentialsFromFile(path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), test.message)
			assert.NotContains(t, err.Error(), "file-secret", "errors must not quote the file's content")
		})
	}

	_, err := objectstore.CredentialsFromFile(filepath.Join(t.TempDir(), "absent.yaml"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestCredentialsFormattingRedactsSecret(t *testing.T) {
	credentials := objectstore.Credentials{AccessKey: "visible-access", SecretKey: "hidden-secret", Source: "test"}

	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		formatted := fmt.Sprintf(verb, credentials)
		assert.NotContains(t, formatted, "hidden-secret", verb)
		assert.Contains(t, formatted, "visible-access", verb)
	}
}
