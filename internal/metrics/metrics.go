// Package metrics defines hikarchive's Prometheus metrics and serves them,
// with liveness and readiness endpoints, over HTTP.
//
// Every metric is labelled by camera id, so an operator sees per camera what
// was archived, what was lost and how close the camera is to overwriting
// footage that is not archived yet.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// Metrics are the collectors of one process. A nil *Metrics is valid and
// records nothing, so packages can take one as an optional option.
type Metrics struct {
	Registry *prometheus.Registry

	SegmentsSeen     *prometheus.CounterVec   // camera: closed segments the scanner published
	SegmentsArchived *prometheus.CounterVec   // camera
	SegmentsLost     *prometheus.CounterVec   // camera, reason
	BytesUploaded    *prometheus.CounterVec   // camera: clip bytes
	Retries          *prometheus.CounterVec   // camera: segments handed back to be tried again
	UploadSeconds    *prometheus.HistogramVec // camera: time to copy one segment's objects
	ArchiveLag       *prometheus.GaugeVec     // camera: seconds from a segment's end to its archiving
	HeadroomSeconds  *prometheus.GaugeVec     // camera, datadir: time until unarchived footage is overwritten
	ConsumerPending  *prometheus.GaugeVec     // consumer: closed events not yet settled
}

// New returns the metrics registered on a fresh registry, together with the
// Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		SegmentsSeen: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hikarchive_segments_seen_total",
			Help: "Closed segments the scanner published.",
		}, []string{"camera"}),
		SegmentsArchived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hikarchive_segments_archived_total",
			Help: "Segments whose clip, thumbnail and metadata are stored.",
		}, []string{"camera"}),
		SegmentsLost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hikarchive_segments_lost_total",
			Help: "Segments overwritten by the camera before they were archived, by reason.",
		}, []string{"camera", "reason"}),
		BytesUploaded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hikarchive_uploaded_bytes_total",
			Help: "Clip bytes uploaded to the object store.",
		}, []string{"camera"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hikarchive_segment_retries_total",
			Help: "Times a segment was handed back to be archived again after a failure.",
		}, []string{"camera"}),
		UploadSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hikarchive_upload_duration_seconds",
			Help:    "Time to copy one segment's objects into the store.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14), // 50 ms to about 7 min
		}, []string{"camera"}),
		ArchiveLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hikarchive_archive_lag_seconds",
			Help: "Time between the end of the most recently archived segment and its archiving.",
		}, []string{"camera"}),
		HeadroomSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hikarchive_headroom_seconds",
			Help: "Estimated time until the camera overwrites footage that is not archived yet.",
		}, []string{"camera", "datadir"}),
		ConsumerPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hikarchive_consumer_pending",
			Help: "Closed-segment events the archivers have not settled yet, pending plus unacknowledged.",
		}, []string{"consumer"}),
	}

	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.SegmentsSeen, m.SegmentsArchived, m.SegmentsLost, m.BytesUploaded, m.Retries,
		m.UploadSeconds, m.ArchiveLag, m.HeadroomSeconds, m.ConsumerPending,
	)
	return m
}

// Seen counts a closed segment the scanner published.
func (m *Metrics) Seen(camera string) {
	if m != nil {
		m.SegmentsSeen.WithLabelValues(camera).Inc()
	}
}

// Archived records one archived segment: its size, how long the copy took,
// and how long after its end it was archived.
func (m *Metrics) Archived(camera string, bytes int64, took, lag time.Duration) {
	if m == nil {
		return
	}
	m.SegmentsArchived.WithLabelValues(camera).Inc()
	m.BytesUploaded.WithLabelValues(camera).Add(float64(bytes))
	m.UploadSeconds.WithLabelValues(camera).Observe(took.Seconds())
	m.ArchiveLag.WithLabelValues(camera).Set(lag.Seconds())
}

// Lost counts a segment lost for reason.
func (m *Metrics) Lost(camera, reason string) {
	if m != nil {
		m.SegmentsLost.WithLabelValues(camera, reason).Inc()
	}
}

// Retried counts a segment handed back after a failure.
func (m *Metrics) Retried(camera string) {
	if m != nil {
		m.Retries.WithLabelValues(camera).Inc()
	}
}

// Headroom sets the time left before a camera overwrites unarchived footage.
func (m *Metrics) Headroom(camera, datadir string, left time.Duration) {
	if m != nil {
		m.HeadroomSeconds.WithLabelValues(camera, datadir).Set(left.Seconds())
	}
}

// Pending sets the number of unsettled events of a consumer.
func (m *Metrics) Pending(consumer string, n uint64) {
	if m != nil {
		m.ConsumerPending.WithLabelValues(consumer).Set(float64(n))
	}
}

// Check reports whether one dependency is usable; nil means it is.
type Check func(ctx context.Context) error

// checkTimeout bounds one readiness check, so a hung dependency makes the
// endpoint return "not ready" instead of hanging the prober.
const checkTimeout = 5 * time.Second

// Handler returns the HTTP handler for /metrics, /healthz and /readyz.
// /healthz returns 200 while the process serves requests. /readyz runs
// every check and returns 503 with the failures when one fails, so a load
// balancer or Kubernetes stops counting on a process that lost NATS or S3.
func (m *Metrics) Handler(checks map[string]Check) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		failures := runChecks(r.Context(), checks)
		if len(failures) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			for _, failure := range failures {
				fmt.Fprintln(w, failure)
			}
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

func runChecks(ctx context.Context, checks map[string]Check) []string {
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		failures []string
	)
	for name, check := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			checkCtx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			if err := check(checkCtx); err != nil {
				mu.Lock()
				failures = append(failures, name+": "+err.Error())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failures
}

// Serve listens on addr and serves Handler until ctx ends. It returns once
// the listener is open, with the address it listens on (useful with port 0),
// and a channel that yields the server's error when it stops.
func (m *Metrics) Serve(ctx context.Context, addr string, checks map[string]Check, log zerolog.Logger) (net.Addr, <-chan error, error) {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen for metrics on %s: %w", addr, err)
	}

	server := &http.Server{Handler: m.Handler(checks), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() {
		err := server.Serve(listener)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := server.Shutdown(shutdown); err != nil {
			log.Warn().Err(err).Msg("metrics server did not shut down cleanly")
		}
	}()

	log.Info().Str("address", listener.Addr().String()).Msg("serving /metrics, /healthz and /readyz")
	return listener.Addr(), done, nil
}
