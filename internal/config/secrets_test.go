package config

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clearS3Env unsets every S3 credential variable for the test.
func clearS3Env(t *testing.T) {
	t.Helper()

	for _, name := range []string{EnvS3AccessKey, EnvS3SecretKey, EnvAWSAccessKey, EnvAWSSecretKey, EnvAWSSession} {
		t.Setenv(name, "")
	}
}

func TestCredentialsPrefersHikarchiveEnv(t *testing.T) {
	clearS3Env(t)
	t.Setenv(EnvS3AccessKey, "hik-access")
	t.Setenv(EnvS3SecretKey, "hik-secret")
	t.Setenv(EnvAWSAccessKey, "aws-access")
	t.Setenv(EnvAWSSecretKey, "aws-secret")

	keys, err := S3{}.Credentials()

	require.NoError(t, err)
	assert.Equal(t, "hik-access", keys.AccessKey)
	assert.Equal(t, "hik-secret", keys.SecretKey)
	assert.Contains(t, keys.Source, EnvS3AccessKey)
}

func TestCredentialsFromAWSEnv(t *testing.T) {
	clearS3Env(t)
	t.Setenv(EnvAWSAccessKey, "aws-access")
	t.Setenv(EnvAWSSecretKey, "aws-secret")
	t.Setenv(EnvAWSSession, "aws-session")

	keys, err := S3{}.Credentials()

	require.NoError(t, err)
	assert.Equal(t, "aws-access", keys.AccessKey)
	assert.Equal(t, "aws-secret", keys.SecretKey)
	assert.Equal(t, "aws-session", keys.SessionToken)
}

func TestCredentialsHalfSet(t *testing.T) {
	clearS3Env(t)
	t.Setenv(EnvS3AccessKey, "hik-access")

	_, err := S3{}.Credentials()

	require.Error(t, err)
	assert.Contains(t, err.Error(), EnvS3SecretKey)
}

func TestCredentialsFromFile(t *testing.T) {
	clearS3Env(t)
	path := filepath.Join(t.TempDir(), "credentials")
	text := "[other]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[default]\naws_access_key_id = file-access\naws_secret_access_key = file-secret\n"
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))

	keys, err := S3{CredentialsFile: path}.Credentials()

	require.NoError(t, err)
	assert.Equal(t, "file-access", keys.AccessKey)
	assert.Equal(t, "file-secret", keys.SecretKey)
	assert.Contains(t, keys.Source, path)
}

func TestCredentialsFileWithoutKeys(t *testing.T) {
	clearS3Env(t)
	path := filepath.Join(t.TempDir(), "credentials")
	require.NoError(t, os.WriteFile(path, []byte("[default]\nregion = us-east-1\n"), 0o600))

	_, err := S3{CredentialsFile: path}.Credentials()

	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
}

func TestCredentialsMissing(t *testing.T) {
	clearS3Env(t)

	_, err := S3{}.Credentials()

	require.Error(t, err)
	assert.Contains(t, err.Error(), EnvS3AccessKey)
	assert.Contains(t, err.Error(), "credentials_file")
}

func TestCredentialsFormatHidesSecret(t *testing.T) {
	keys := S3Credentials{AccessKey: "visible", SecretKey: "hunter2", SessionToken: "tok3n", Source: "test"}

	for _, verb := range []string{"%v", "%+v", "%s", "%#v"} {
		text := fmt.Sprintf(verb, keys)

		assert.NotContains(t, text, "hunter2", verb)
		assert.NotContains(t, text, "tok3n", verb)
		assert.Contains(t, text, "visible", verb)
	}
}

func TestNATSToken(t *testing.T) {
	t.Setenv(EnvNATSToken, "s3cret")

	assert.Equal(t, "s3cret", NATS{}.Token())
}
