package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/pipeline"
	"github.com/hikarchive/hikarchive/internal/pipeline/schema"
)

// TestPublishedEventsMatchSchemas runs the pipeline until it has published
// closed, archived and lost events, and validates every one of them against
// the JSON Schemas that subscribers are given.
func TestPublishedEventsMatchSchemas(t *testing.T) {
	validator, err := schema.NewValidator()
	require.NoError(t, err)

	e := newEnv(t, 4, 1<<20)
	s := e.scanner()

	first := e.startArchiver(e.archiverOptions(e.store))
	e.record(s, 6, 3*time.Second)
	e.waitDrained()

	// With the archiver down the camera goes round its ring, so the scanner
	// and the returning archiver report lost segments.
	first.stop()
	e.record(s, 40, 3*time.Second)
	e.startArchiver(e.archiverOptions(e.store))
	e.waitDrained()

	for _, c := range []struct {
		kind    pipeline.Kind
		stream  string
		subject string
	}{
		{pipeline.KindClosed, pipeline.SegmentsStream, pipeline.ClosedSubjects},
		{pipeline.KindArchived, pipeline.EventsStream, pipeline.ArchivedSubjects},
		{pipeline.KindLost, pipeline.EventsStream, pipeline.LostSubjects},
	} {
		published := e.messages(c.stream, c.subject)
		require.NotEmpty(t, published, "no %s events were published", c.kind)
		for i, data := range published {
			require.NoError(t, validator.Validate(c.kind, data), "%s event %d: %s", c.kind, i, data)
		}
		t.Logf("%d %s events match %s", len(published), c.kind, schema.FileName(c.kind))
	}
}
