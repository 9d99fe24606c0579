package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeConfig writes text to a config file in a fresh temporary folder.
func writeConfig(t *testing.T, text string) string {
	t.Helper()

	path := filepath.Join(t.TempDir(), "hikarchive.yaml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))

	return path
}

// validScanner is a minimal file that passes ValidateFor("scanner").
const validScanner = `
nats:
  url: nats://127.0.0.1:4222
cameras:
  - id: front
    path: /mnt/front
    timezone: Europe/Berlin
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		role string // "" checks Load only
		yaml string
		want []string // substrings of the error message
	}{
		{
			name: "garbage YAML",
			yaml: "log:\n  level: info\n nats: [\n",
			want: []string{":2: invalid YAML", "indent with spaces"},
		},
		{
			name: "tab indentation",
			yaml: "log:\n\tlevel: info\n",
			want: []string{":2: invalid YAML", "not tabs"},
		},
		{
			name: "empty file",
			yaml: "# only a comment\n",
			want: []string{"the file has no settings", "configs/"},
		},
		{
			name: "unknown key",
			yaml: "nats:\n  url: nats://127.0.0.1:4222\n  replica: 3\n",
			want: []string{":3: nats.replica: unknown key \"replica\"", `did you mean "replicas"?`},
		},
		{
			name: "unknown camera key",
			yaml: "cameras:\n  - id: a\n    path: /a\n  - id: b\n    path: /b\n    time_zone: UTC\n",
			want: []string{":6: cameras[1].time_zone: unknown key \"time_zone\"", `did you mean "timezone"?`, "keys allowed here: id, path, timezone"},
		},
		{
			name: "unknown top-level key",
			yaml: "camera:\n  - id: a\n",
			want: []string{":1: camera: unknown key \"camera\"", `did you mean "cameras"?`},
		},
		{
			name: "secret in file",
			yaml: "store:\n  kind: s3\n  s3:\n    secret_key: hunter2\n",
			want: []string{"store.s3.secret_key: unknown key", EnvS3SecretKey},
		},
		{
			name: "duplicate key",
			yaml: "log:\n  level: info\n  level: debug\n",
			want: []string{":3: log.level: key \"level\" appears twice (first on line 2)"},
		},
		{
			name: "bad time zone",
			yaml: "cameras:\n  - id: a\n    path: /a\n  - id: b\n    path: /b\n    timezone: Mars/Olympus_Mons\n",
			want: []string{":6: cameras[1].timezone: unknown time zone \"Mars/Olympus_Mons\"", "IANA"},
		},
		{
			name: "local time zone",
			yaml: "cameras:\n  - id: a\n    path: /a\n    timezone: Local\n",
			want: []string{"cameras[0].timezone: unknown time zone \"Local\""},
		},
		{
			name: "bad cron spec",
			yaml: "scanner:\n  schedule: \"every 5 seconds\"\n",
			want: []string{":2: scanner.schedule: invalid schedule \"every 5 seconds\"", "@every 5s"},
		},
		{
			name: "cron spec that panics the parser",
			yaml: "scanner:\n  schedule: TZ=UTC\n",
			want: []string{"scanner.schedule: invalid schedule \"TZ=UTC\""},
		},
		{
			name: "duplicate camera id",
			yaml: "cameras:\n  - id: front\n    path: /a\n  - id: back\n    path: /b\n  - id: front\n    path: /c\n",
			want: []string{":6: cameras[2].id: duplicate camera id \"front\" (also cameras[0].id)"},
		},
		{
			name: "camera id too long",
			yaml: "cameras:\n  - id: " + strings.Repeat("x", 129) + "\n    path: /a\n",
			want: []string{"cameras[0].id:", "129 bytes long", "at most 128 bytes"},
		},
		{
			name: "camera without path",
			yaml: "cameras:\n  - id: front\n",
			want: []string{"cameras[0].path: missing value", "index00.bin"},
		},
		{
			name: "negative concurrency",
			yaml: "archiver:\n  concurrency: -3\n",
			want: []string{":2: archiver.concurrency: -3 is out of range", "from 1 to 64"},
		},
		{
			name: "fractional concurrency",
			yaml: "archiver:\n  concurrency: 2.5\n",
			want: []string{":2: archiver.concurrency: invalid whole number \"2.5\""},
		},
		{
			name: "concurrency as text",
			yaml: "archiver:\n  concurrency: many\n",
			want: []string{":2: archiver.concurrency: invalid whole number \"many\""},
		},
		{
			name: "since without time",
			yaml: "scanner:\n  backfill: since\n",
			want: []string{"scanner.backfill_since: missing value", "RFC 3339"},
		},
		{
			name: "since time without since",
			yaml: "scanner:\n  backfill_since: 2024-05-01T00:00:00Z\n",
			want: []string{":2: scanner.backfill_since: backfill_since is set but scanner.backfill is \"all\""},
		},
		{
			name: "since time not a time",
			yaml: "scanner:\n  backfill: since\n  backfill_since: last tuesday\n",
			want: []string{":3: scanner.backfill_since: invalid time \"last tuesday\"", "RFC 3339"},
		},
		{
			name: "unknown backfill",
			yaml: "scanner:\n  backfill: everything\n",
			want: []string{":2: scanner.backfill: invalid value \"everything\"", "all, new, since"},
		},
		{
			name: "duration without unit",
			yaml: "archiver:\n  ack_wait: 120\n",
			want: []string{":2: archiver.ack_wait: invalid duration \"120\"", `"2m"`},
		},
		{
			name: "negative duration",
			yaml: "nats:\n  duplicate_window: -1h\n",
			want: []string{":2: nats.duplicate_window: duration -1h0m0s must be positive"},
		},
		{
			name: "retry max below min",
			yaml: "archiver:\n  retry_min: 1m\n  retry_max: 10s\n",
			want: []string{":3: archiver.retry_max: retry_max 10s is shorter than retry_min 1m0s"},
		},
		{
			name: "bad byte size",
			yaml: "store:\n  kind: s3\n  s3:\n    endpoint: 127.0.0.1:9000\n    bucket: archive\n    part_size: 16 megs\n",
			want: []string{":6: store.s3.part_size: invalid size \"16 megs\": unknown unit \"megs\""},
		},
		{
			name: "part size below S3 minimum",
			yaml: "store:\n  kind: s3\n  s3:\n    endpoint: 127.0.0.1:9000\n    bucket: archive\n    part_size: 1MiB\n",
			want: []string{":6: store.s3.part_size: part size 1MiB is outside the S3 limits", "5MiB to 5GiB"},
		},
		{
			name: "endpoint with scheme",
			yaml: "store:\n  kind: s3\n  s3:\n    endpoint: http://127.0.0.1:9000\n    bucket: archive\n",
			want: []string{":4: store.s3.endpoint: endpoint \"http://127.0.0.1:9000\" contains a scheme", "secure to false"},
		},
		{
			name: "s3 without bucket",
			yaml: "store:\n  kind: s3\n  s3:\n    endpoint: 127.0.0.1:9000\n",
			want: []string{":3: store.s3.bucket: missing value"},
		},
		{
			name: "invalid bucket name",
			yaml: "store:\n  kind: s3\n  s3:\n    endpoint: 127.0.0.1:9000\n    bucket: Camera_Archive\n",
			want: []string{":5: store.s3.bucket: invalid bucket name \"Camera_Archive\""},
		},
		{
			name: "unknown store kind",
			yaml: "store:\n  kind: ftp\n",
			want: []string{":2: store.kind: unknown store kind \"ftp\"", `"local"`, `"s3"`},
		},
		{
			name: "prefix with leading slash",
			yaml: "store:\n  prefix: /cams\n",
			want: []string{":2: store.prefix: prefix \"/cams\" starts with a slash"},
		},
		{
			name: "boolean not a boolean",
			yaml: "store:\n  s3:\n    secure: perhaps\n",
			want: []string{":3: store.s3.secure: invalid boolean \"perhaps\"", "true or false"},
		},
		{
			name: "list where mapping expected",
			yaml: "archiver:\n  - concurrency: 2\n",
			want: []string{":2: archiver: expected a mapping", "concurrency"},
		},
		{
			name: "mapping where list expected",
			yaml: "cameras:\n  id: front\n",
			want: []string{":2: cameras: expected a list, found a mapping"},
		},
		{
			name: "log level",
			yaml: "log:\n  level: verbose\n",
			want: []string{":2: log.level: invalid value \"verbose\"", "debug, info, warn, error"},
		},
		{
			name: "nats url scheme",
			yaml: "nats:\n  url: http://127.0.0.1:4222\n",
			want: []string{":2: nats.url: unsupported scheme \"http\"", "nats://"},
		},
		{
			name: "nats url with password",
			yaml: "nats:\n  url: nats://app:s3cret@127.0.0.1:4222\n",
			want: []string{":2: nats.url: the NATS URL", EnvNATSToken},
		},
		{
			name: "embedded port out of range",
			yaml: "nats:\n  embedded:\n    port: 70000\n",
			want: []string{":3: nats.embedded.port: 70000 is out of range", "-1 to pick a free port"},
		},
		{
			name: "thumbnail width too small",
			yaml: "archiver:\n  thumbnail_width: 8\n",
			want: []string{":2: archiver.thumbnail_width: 8 is out of range", "0 to disable"},
		},
		{
			name: "rate limit without number",
			yaml: "archiver:\n  rate_limit: fast\n",
			want: []string{":2: archiver.rate_limit: invalid size \"fast\""},
		},
		{
			name: "consumer name with dot",
			yaml: "archiver:\n  consumer: site.a\n",
			want: []string{":2: archiver.consumer: invalid JetStream consumer name \"site.a\""},
		},
		{
			name: "simulator speed zero",
			yaml: "simulator:\n  speed: 0\n",
			want: []string{":2: simulator.speed: speed 0 must be a positive number"},
		},
		{
			name: "simulator file too large",
			yaml: "simulator:\n  file_size: 8GiB\n",
			want: []string{":2: simulator.file_size: file size 8GiB is out of range"},
		},
		{
			name: "credentials file missing",
			yaml: "nats:\n  credentials_file: /nonexistent/hikarchive.creds\n",
			want: []string{":2: nats.credentials_file: cannot use file \"/nonexistent/hikarchive.creds\""},
		},
		{
			name: "two documents",
			yaml: validScanner + "---\nlog:\n  level: info\n",
			want: []string{"more than one YAML document", "---"},
		},
		{
			name: "scanner without cameras",
			role: RoleScanner,
			yaml: "nats:\n  url: nats://127.0.0.1:4222\n",
			want: []string{"cameras: no cameras configured; the scanner needs at least one"},
		},
		{
			name: "scanner without nats url",
			role: RoleScanner,
			yaml: "cameras:\n  - id: a\n    path: /a\n    timezone: UTC\n",
			want: []string{"nats.url: missing value; the scanner connects to an external NATS server"},
		},
		{
			name: "archiver without store",
			role: RoleArchiver,
			yaml: validScanner,
			want: []string{"store.kind: missing value; the archiver needs a store"},
		},
		{
			name: "single-box without store",
			role: RoleSingleBox,
			yaml: "log:\n  level: info\n",
			want: []string{"store.kind: missing value; the single-box needs a store"},
		},
		{
			name: "single-box embedded replicas",
			role: RoleSingleBox,
			yaml: "nats:\n  replicas: 3\nstore:\n  kind: local\n",
			want: []string{":2: nats.replicas: 3 replicas need a NATS cluster"},
		},
	}

	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			path := writeConfig(t, test.yaml)

			cfg, err := Load(path)
			if err == nil && test.role != "" {
				err = cfg.ValidateFor(test.role)
			}

			require.Error(t, err)
			assert.Contains(t, err.Error(), path, "the message names the file")
			for _, want := range test.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.yaml")

	_, err := Load(path)

	require.Error(t, err)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "not found")
	assert.Contains(t, err.Error(), "configs/")
}

func TestLoadErrorFields(t *testing.T) {
	path := writeConfig(t, "cameras:\n  - id: a\n    path: /a\n    timezone: Nowhere/City\n")

	_, err := Load(path)

	var configErr *Error
	require.ErrorAs(t, err, &configErr)
	assert.Equal(t, path, configErr.File)
	assert.Equal(t, 4, configErr.Line)
	assert.Equal(t, "cameras[0].timezone", configErr.Key)
	assert.Equal(t, "Nowhere/City", configErr.Value)
	assert.NotEmpty(t, configErr.Fix)
}

func TestLoadReportsEveryProblem(t *testing.T) {
	path := writeConfig(t, "log:\n  level: loud\narchiver:\n  concurrency: 0\n  consumer: a b\n")

	_, err := Load(path)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "log.level")
	assert.Contains(t, err.Error(), "archiver.concurrency")
	assert.Contains(t, err.Error(), "archiver.consumer")
	assert.Len(t, strings.Split(err.Error(), "\n"), 3, "one line per problem")
}

func TestLoadDefaults(t *testing.T) {
	path := writeConfig(t, validScanner+"simulator:\n")

	cfg, err := Load(path)
	require.NoError(t, err)

	assert.Equal(t, "info", cfg.Log.Level)
	assert.Equal(t, "console", cfg.Log.Format)
	assert.Equal(t, "data/nats", cfg.NATS.Embedded.StoreDir)
	assert.Equal(t, "127.0.0.1", cfg.NATS.Embedded.Host)
	assert.Equal(t, 4222, cfg.NATS.Embedded.Port)
	assert.Equal(t, 1, cfg.NATS.Replicas)
	assert.Equal(t, time.Hour, time.Duration(cfg.NATS.DuplicateWindow))
	assert.Equal(t, "data/archive", cfg.Store.Local.Root)
	assert.True(t, cfg.Store.S3.Secure)
	assert.False(t, cfg.Store.S3.CreateBucket)
	assert.Equal(t, 16*MiB, cfg.Store.S3.PartSize)
	assert.Equal(t, "@every 5s", cfg.Scanner.Schedule)
	assert.Equal(t, BackfillAll, cfg.Scanner.Backfill)
	assert.Equal(t, 2, cfg.Archiver.Concurrency)
	assert.Equal(t, "archiver", cfg.Archiver.Consumer)
	assert.Equal(t, 2*time.Minute, time.Duration(cfg.Archiver.AckWait))
	assert.Equal(t, 2*time.Second, time.Duration(cfg.Archiver.RetryMin))
	assert.Equal(t, time.Minute, time.Duration(cfg.Archiver.RetryMax))
	assert.Equal(t, 320, cfg.Archiver.ThumbnailWidth)
	assert.Equal(t, "ffmpeg", cfg.Archiver.FFmpeg)
	assert.Zero(t, cfg.Archiver.RateLimit, "no upload limit by default")
	require.NotNil(t, cfg.Simulator, "an empty simulator section asks for the defaults")
	simulator := *cfg.Simulator
	simulator.location = nil // loaded by validation, compared by name below
	assert.Equal(t, *DefaultSimulator(), simulator)
	assert.Equal(t, "UTC", cfg.Simulator.Location().String())
}

func TestLoadKeepsExplicitZeros(t *testing.T) {
	path := writeConfig(t, `
nats:
  embedded:
    port: 0
store:
  s3:
    secure: false
archiver:
  thumbnail_width: 0
`)

	cfg, err := Load(path)
	require.NoError(t, err)

	assert.Equal(t, 0, cfg.NATS.Embedded.Port)
	assert.False(t, cfg.Store.S3.Secure)
	assert.Equal(t, 0, cfg.Archiver.ThumbnailWidth)
	assert.Nil(t, cfg.Simulator, "no simulator section means no simulator")
}

func TestLoadPartialSimulator(t *testing.T) {
	path := writeConfig(t, "simulator:\n  files: 3\n  timezone: Asia/Tokyo\n")

	cfg, err := Load(path)
	require.NoError(t, err)

	require.NotNil(t, cfg.Simulator)
	assert.Equal(t, 3, cfg.Simulator.Files)
	assert.Equal(t, 4*MiB, cfg.Simulator.FileSize, "keys left out keep their defaults")
	assert.Equal(t, "Asia/Tokyo", cfg.Simulator.Location().String())
}

func TestCameraLocation(t *testing.T) {
	path := writeConfig(t, "cameras:\n  - id: a\n    path: /a\n    timezone: America/Sao_Paulo\n  - id: b\n    path: /b\n    timezone: UTC\n")

	cfg, err := Load(path)
	require.NoError(t, err)

	assert.Equal(t, "America/Sao_Paulo", cfg.Cameras[0].Location().String())
	assert.Equal(t, time.UTC.String(), cfg.Cameras[1].Location().String())
}

func TestCameraTimeZoneRequired(t *testing.T) {
	path := writeConfig(t, "cameras:\n  - id: a\n    path: /a\n")

	_, err := Load(path)

	require.ErrorContains(t, err, "cameras[0].timezone: missing value")
	require.ErrorContains(t, err, `"UTC" if the camera's clock runs on UTC`)
}

func TestCameraIDAnyCharacters(t *testing.T) {
	path := writeConfig(t, `
cameras:
  - id: "Entrée / Hof #2"
    path: /a
    timezone: UTC
  - id: "101"
    path: /b
    timezone: UTC
`)

	cfg, err := Load(path)
	require.NoError(t, err)

	assert.Equal(t, "Entrée / Hof #2", cfg.Cameras[0].ID)
	assert.Equal(t, "101", cfg.Cameras[1].ID)
}

func TestScheduleForms(t *testing.T) {
	for _, spec := range []string{"@every 5s", "@hourly", "*/5 * * * *", "*/10 * * * * *", "0 30 2 * * MON-FRI"} {
		t.Run(spec, func(t *testing.T) {
			path := writeConfig(t, "scanner:\n  schedule: \""+spec+"\"\n")

			_, err := Load(path)

			assert.NoError(t, err)
		})
	}
}

func TestBackfillSince(t *testing.T) {
	path := writeConfig(t, "scanner:\n  backfill: since\n  backfill_since: 2024-05-01T08:30:00+02:00\n")

	cfg, err := Load(path)
	require.NoError(t, err)

	want := time.Date(2024, 5, 1, 6, 30, 0, 0, time.UTC)
	assert.True(t, cfg.Scanner.BackfillSince.Equal(want), "got %s", cfg.Scanner.BackfillSince)
}

func TestValidateForUnknownRole(t *testing.T) {
	cfg := Default()

	err := cfg.ValidateFor("uploader")

	require.Error(t, err)
	assert.Contains(t, err.Error(), `"uploader"`)
	assert.Contains(t, err.Error(), RoleSingleBox)
}

func TestValidateBuiltInCode(t *testing.T) {
	cfg := Default()
	cfg.NATS.URL = "nats://127.0.0.1:4222"
	cfg.Store.Kind = "local"
	cfg.Cameras = []Camera{{ID: "a", Path: "/a", TimeZone: "Asia/Tokyo"}}

	require.NoError(t, cfg.ValidateFor(RoleArchiver))

	assert.Equal(t, "Asia/Tokyo", cfg.Cameras[0].Location().String())
}

func TestValidateNegativeRateLimit(t *testing.T) {
	cfg := Default()
	cfg.Archiver.RateLimit = -1

	err := cfg.Validate()

	require.Error(t, err)
	assert.Contains(t, err.Error(), "archiver.rate_limit: rate limit -1 is negative")
}

func TestValidateErrorWithoutFile(t *testing.T) {
	cfg := Default()
	cfg.Archiver.Concurrency = 100

	err := cfg.Validate()

	require.Error(t, err)
	assert.Equal(t, "archiver.concurrency: 100 is out of range; write the number of segments to process at once, from 1 to 64", err.Error())
}
