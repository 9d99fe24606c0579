package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics

	m.Seen("cam")
	m.Archived("cam", 10, time.Second, time.Minute)
	m.Lost("cam", "overwritten")
	m.Retried("cam")
	m.Headroom("cam", "sd", time.Hour)
	m.Pending("archiver", 3)
}

func TestArchivedUpdatesCounters(t *testing.T) {
	m := New()

	m.Archived("cam", 1000, 2*time.Second, 30*time.Second)
	m.Archived("cam", 500, time.Second, 10*time.Second)
	m.Lost("cam", "overwritten")

	require.Equal(t, 2.0, testutil.ToFloat64(m.SegmentsArchived.WithLabelValues("cam")))
	require.Equal(t, 1500.0, testutil.ToFloat64(m.BytesUploaded.WithLabelValues("cam")))
	require.Equal(t, 10.0, testutil.ToFloat64(m.ArchiveLag.WithLabelValues("cam")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.SegmentsLost.WithLabelValues("cam", "overwritten")))
	require.Equal(t, 1, testutil.CollectAndCount(m.UploadSeconds))
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	response, err := http.Get(url)
	require.NoError(t, err)
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	require.NoError(t, err)
	return response.StatusCode, string(body)
}

func TestServeEndpoints(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := New()
	m.Archived("front door", 42, time.Second, time.Second)
	var healthy atomic.Bool
	healthy.Store(true)
	checks := map[string]Check{
		"nats": func(context.Context) error { return nil },
		"s3": func(context.Context) error {
			if healthy.Load() {
				return nil
			}
			return errors.New("connection refused")
		},
	}

	addr, done, err := m.Serve(ctx, "127.0.0.1:0", checks, zerolog.Nop())
	require.NoError(t, err)
	base := "http://" + addr.String()

	status, body := get(t, base+"/metrics")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, `hikarchive_segments_archived_total{camera="front door"} 1`)
	require.Contains(t, body, "go_goroutines")

	status, _ = get(t, base+"/healthz")
	require.Equal(t, http.StatusOK, status)

	status, body = get(t, base+"/readyz")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ready", strings.TrimSpace(body))

	healthy.Store(false)
	status, body = get(t, base+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Contains(t, body, "s3: connection refused")

	cancel()
	require.NoError(t, <-done)
}
