// Package pipeline defines the messages that the scanner and the archiver
// exchange with each other and with subscribers over NATS JetStream:
// subjects, the JSON events, the streams that keep them and the key-value
// bucket of scanner cursors.
//
// Subjects, with camera and datadir encoded by SubjectToken:
//
//	hikarchive.segment.closed.<camera>.<datadir>    a segment closed (scanner)
//	hikarchive.segment.archived.<camera>.<datadir>  a segment is in the store (archiver)
//	hikarchive.segment.lost.<camera>.<datadir>      a segment was overwritten before it was archived
//	hikarchive.segment.risk.<camera>.<datadir>      the camera will soon overwrite a segment not yet archived (scanner)
//
// Closed events live in SegmentsStream, which the archivers consume through
// one durable pull consumer. Archived, lost and risk events live in
// EventsStream for other services, each with its own consumer.
package pipeline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream, bucket and subject names.
const (
	SegmentsStream = "HIKARCHIVE_SEGMENTS"
	EventsStream   = "HIKARCHIVE_EVENTS"
	CursorBucket   = "hikarchive_cursors"

	ClosedSubjects   = "hikarchive.segment.closed.>"
	ArchivedSubjects = "hikarchive.segment.archived.>"
	LostSubjects     = "hikarchive.segment.lost.>"
	RiskSubjects     = "hikarchive.segment.risk.>"
)

// StreamOptions sets up the streams.
type StreamOptions struct {
	Replicas int // JetStream replicas, 1 for a single server
	// DuplicateWindow is how long JetStream remembers message ids, so a
	// scanner that restarts within it and publishes again adds nothing.
	DuplicateWindow time.Duration
	// MaxAge bounds how long events are kept; zero keeps them until the
	// stream's other limits apply.
	MaxAge time.Duration
}

// EnsureStreams creates the streams and the cursor bucket, or updates their
// configuration if they exist. It is idempotent.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, opts StreamOptions) error {
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.DuplicateWindow <= 0 {
		opts.DuplicateWindow = time.Hour
	}

	for _, cfg := range []jetstream.StreamConfig{
		{
			Name:        SegmentsStream,
			Description: "hikarchive: one event per closed recording segment",
			Subjects:    []string{ClosedSubjects},
			Storage:     jetstream.FileStorage,
			Replicas:    opts.Replicas,
			Duplicates:  opts.DuplicateWindow,
			MaxAge:      opts.MaxAge,
		},
		{
			Name:        EventsStream,
			Description: "hikarchive: archived, lost and at-risk segments, for subscribers",
			Subjects:    []string{ArchivedSubjects, LostSubjects, RiskSubjects},
			Storage:     jetstream.FileStorage,
			Replicas:    opts.Replicas,
			Duplicates:  opts.DuplicateWindow,
			MaxAge:      opts.MaxAge,
		},
	} {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("create or update JetStream stream %s: %w", cfg.Name, err)
		}
	}

	if _, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      CursorBucket,
		Description: "hikarchive: scanner cursor per camera and datadir",
		History:     5,
		Storage:     jetstream.FileStorage,
		Replicas:    opts.Replicas,
	}); err != nil {
		return fmt.Errorf("create or update JetStream key-value bucket %s: %w", CursorBucket, err)
	}
	return nil
}

// Kind names one kind of event; it is the subject token after "segment".
type Kind string

// The kinds of segment events.
const (
	KindClosed   Kind = "closed"
	KindArchived Kind = "archived"
	KindLost     Kind = "lost"
	KindRisk     Kind = "risk"
)

// Subject returns the subject of an event of kind about a camera's datadir.
func Subject(kind Kind, camera, datadir string) string {
	return "hikarchive.segment." + string(kind) + "." + SubjectToken(camera) + "." + SubjectToken(datadir)
}

// MsgID returns the Nats-Msg-Id of an event, so that JetStream drops a
// republished copy within the duplicate window.
func MsgID(kind Kind, camera, datadir, id string) string {
	return string(kind) + ":" + SubjectToken(camera) + ":" + SubjectToken(datadir) + ":" + id
}

// CursorKey returns the key-value key of a camera's datadir cursor.
func CursorKey(camera, datadir string) string {
	return SubjectToken(camera) + "." + SubjectToken(datadir)
}

// SubjectToken encodes s as one subject token that is also a valid
// key-value key: letters, digits, '-' and '_' stay, every other byte becomes
// '=' and two upper-case hex digits. The mapping is injective, so two camera
// ids never share a subject.
func SubjectToken(s string) string {
	if s == "" {
		return "="
	}

	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return b.String()
}
