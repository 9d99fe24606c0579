package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/archive"
	"github.com/hikarchive/hikarchive/internal/camsim"
	"github.com/hikarchive/hikarchive/internal/index"
	"github.com/hikarchive/hikarchive/internal/metrics"
	"github.com/hikarchive/hikarchive/internal/testserver"
)

func TestPipelineArchivesOrReportsEverySegment(t *testing.T) {
	e := newEnv(t, 4, 1<<20)
	s := e.scanner()
	m := metrics.New()
	options := e.archiverOptions(e.store)
	options.Metrics = m

	// The archiver keeps up while the camera records.
	first := e.startArchiver(options)
	e.record(s, 20, 3*time.Second)
	e.waitDrained()

	// The archiver is down while the camera goes round its ring, so the
	// oldest published segments are overwritten before it returns.
	first.stop()
	e.record(s, 60, 3*time.Second)
	e.startArchiver(options)
	e.waitDrained()

	// Back to normal.
	e.record(s, 10, 3*time.Second)
	e.waitDrained()

	archived, lost := e.checkEverySegment(e.store)
	t.Logf("%d segments archived and %d lost of %d recorded", archived, lost, len(e.camera.Record()))
	require.Greater(t, archived, 20)
	require.Greater(t, lost, 0)
	require.Greater(t, e.cameraThumbnails, 0, "thumbnails must come from the camera's pictures where it took one")
	require.Len(t, e.closedEvents(), archived+lost)
	e.checkNoOrphans(e.store)

	// Keys are sortable by camera and time, with the camera id encoded.
	var uploaded int64
	for _, event := range e.archivedEvents() {
		require.True(t, strings.HasPrefix(event.Objects.Clip, "yard!2Fcam!201.!2A/2025/10/26/"), event.Objects.Clip)
		uploaded += event.Size
	}

	// The metrics endpoint agrees with the events.
	scraped := scrapeMetrics(t, m)
	label := `{camera="yard/cam 1.*"}`
	require.Equal(t, float64(archived), scraped["hikarchive_segments_archived_total"+label])
	require.Equal(t, float64(uploaded), scraped["hikarchive_uploaded_bytes_total"+label])
	require.Equal(t, float64(archived), scraped["hikarchive_upload_duration_seconds_count"+label])
	var lostSamples float64
	for sample, value := range scraped {
		if strings.HasPrefix(sample, `hikarchive_segments_lost_total{camera="yard/cam 1.*",reason=`) {
			lostSamples += value
		}
	}
	require.Equal(t, float64(lost), lostSamples)
	require.Contains(t, scraped, "hikarchive_archive_lag_seconds"+label)
}

// scrapeMetrics serves m on a loopback port and returns each sample of
// /metrics by its name and labels.
func scrapeMetrics(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, _, err := m.Serve(ctx, "127.0.0.1:0", nil, zerolog.Nop())
	require.NoError(t, err)

	response, err := http.Get("http://" + addr.String() + "/metrics")
	require.NoError(t, err)
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	require.NoError(t, err)

	samples := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cut := strings.LastIndex(line, " ")
		value, err := strconv.ParseFloat(line[cut+1:], 64)
		require.NoError(t, err, line)
		samples[line[:cut]] = value
	}
	return samples
}

func TestArchiverSkipsSegmentArchivedBefore(t *testing.T) {
	e := newEnv(t, 4, 1<<20)
	s := e.scanner()
	e.record(s, 5, 3*time.Second)

	a := e.startArchiver(e.archiverOptions(e.store))
	e.waitDrained()
	a.stop()
	before := e.archivedEvents()
	require.NotEmpty(t, before)

	// Delivering every closed event again, as after a crash between the
	// metadata upload and the ack, must not upload anything again.
	consumer, err := e.js.Consumer(e.ctx, "HIKARCHIVE_SEGMENTS", "archiver")
	require.NoError(t, err)
	require.NoError(t, e.js.DeleteConsumer(e.ctx, "HIKARCHIVE_SEGMENTS", consumer.CachedInfo().Name))
	logsBefore := len(e.logs.String())
	e.startArchiver(e.archiverOptions(e.store))
	e.waitDrained()

	newLogs := e.logs.String()[logsBefore:]
	require.Equal(t, len(before), strings.Count(newLogs, "segment already archived"))
	require.NotContains(t, newLogs, "uploading clip")
	require.Equal(t, before, e.archivedEvents())
}

func TestArchiverMissingHivFileWaits(t *testing.T) {
	e := newEnv(t, 4, 1<<20)
	s := e.scanner()
	e.record(s, 4, 3*time.Second)
	hiv := filepath.Join(e.dir, index.HivName(0))
	aside := filepath.Join(t.TempDir(), "aside.mp4")
	require.NoError(t, os.Rename(hiv, aside))

	e.startArchiver(e.archiverOptions(e.store))
	require.Eventually(t, func() bool {
		return strings.Contains(e.logs.String(), "hiv file "+hiv+" not found")
	}, time.Minute, 100*time.Millisecond)

	require.Empty(t, e.archivedEvents())
	require.Empty(t, e.lostEvents())
	require.NotZero(t, e.pending(), "nothing may be acked before it is archived")

	// Once the storage is complete again, every segment is archived.
	require.NoError(t, os.Rename(aside, hiv))
	e.waitDrained()
	archived, lost := e.checkEverySegment(e.store)
	require.Greater(t, archived, 0)
	require.Zero(t, lost)
}

func TestArchiverCorruptIndexWaits(t *testing.T) {
	e := newEnv(t, 4, 1<<20)
	s := e.scanner()
	e.record(s, 4, 3*time.Second)

	saved := map[string][]byte{}
	for _, name := range []string{index.PrimaryName, index.BackupName} {
		path := filepath.Join(e.dir, name)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		saved[path] = data
		require.NoError(t, os.WriteFile(path, data[:700], 0o644))
	}

	e.startArchiver(e.archiverOptions(e.store))
	require.Eventually(t, func() bool {
		return strings.Contains(e.logs.String(), "offset 700 (header)")
	}, time.Minute, 100*time.Millisecond)

	require.Empty(t, e.archivedEvents())
	require.Empty(t, e.lostEvents())
	require.NotZero(t, e.pending(), "nothing may be acked before it is archived")

	for path, data := range saved {
		require.NoError(t, os.WriteFile(path, data, 0o644))
	}
	e.waitDrained()
	archived, _ := e.checkEverySegment(e.store)
	require.Greater(t, archived, 0)
}

func TestArchiverUnreachableStoreLosesNothing(t *testing.T) {
	e := newEnv(t, 4, 1<<20)
	s := e.scanner()
	e.record(s, 4, 3*time.Second)

	// A MinIO server of its own that goes away once the store is open.
	doomed := testserver.NewMinIO(t)
	store := e.s3Store(doomed)
	doomed.Stop()

	a := e.startArchiver(e.archiverOptions(store))
	require.Eventually(t, func() bool {
		return strings.Contains(e.logs.String(), doomed.Endpoint)
	}, time.Minute, 100*time.Millisecond)
	closed := len(e.closedEvents())
	require.Eventually(t, func() bool { return e.pending() == uint64(closed) }, 10*time.Second, 100*time.Millisecond)
	require.Empty(t, e.archivedEvents())
	require.Empty(t, e.lostEvents())
	a.stop()

	// Another archiver with a working store picks up every segment.
	e.startArchiver(e.archiverOptions(e.store))
	e.waitDrained()
	archived, lost := e.checkEverySegment(e.store)
	require.Equal(t, closed, archived)
	require.Zero(t, lost)
}

func TestArchiverFallsBackWhenRemuxFails(t *testing.T) {
	e := newEnv(t, 4, 1<<20)
	e.record(e.scanner(), 4, 3*time.Second)

	// Damage the first segment after its first 64 bytes: the pack and
	// system headers still mark a Program Stream, but no frame survives.
	first := e.camera.Record()[0]
	hiv := filepath.Join(e.dir, index.HivName(first.File))
	file, err := os.OpenFile(hiv, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = file.WriteAt(make([]byte, first.Size-64), int64(first.StartOffset)+64)
	require.NoError(t, err)
	require.NoError(t, file.Close())

	e.startArchiver(e.archiverOptions(e.store))
	e.waitDrained()

	event, ok := e.archivedEvents()[recordID(first)]
	require.True(t, ok, "the damaged segment must still be archived")
	var metadata archive.Metadata
	require.NoError(t, json.Unmarshal(e.get(e.store, event.Objects.Metadata), &metadata))
	require.Equal(t, "mpeg-ps", metadata.ClipFormat)
	require.NotEmpty(t, metadata.RemuxError)
	require.True(t, strings.HasSuffix(event.Objects.Clip, ".ps"))

	data, err := os.ReadFile(hiv)
	require.NoError(t, err)
	digest := sha256.Sum256(data[first.StartOffset:first.EndOffset])
	require.Equal(t, hex.EncodeToString(digest[:]), metadata.SHA256)
	require.Equal(t, metadata.SHA256, metadata.SourceSHA256)
	require.Contains(t, e.logs.String(), "remux to MP4 failed; archiving the original Program Stream instead")
}

func TestArchiverFlagsResetClock(t *testing.T) {
	e := newEnv(t, 4, 1<<20, func(c *camsim.Config) {
		c.Start = time.Date(2000, 1, 1, 0, 0, 5, 0, time.UTC)
	})
	e.record(e.scanner(), 4, 3*time.Second)

	e.startArchiver(e.archiverOptions(e.store))
	e.waitDrained()

	archived := e.archivedEvents()
	require.NotEmpty(t, archived)
	for _, event := range archived {
		var metadata archive.Metadata
		require.NoError(t, json.Unmarshal(e.get(e.store, event.Objects.Metadata), &metadata))
		require.Equal(t, "reset-2000", metadata.ClockSuspect, "segment %s", event.Segment.ID)
	}
}
