package thumbnail

import (
	"bytes"
	"strings"
)

// cappedBuffer stores writes up to max bytes and drops the rest, recording
// that it did. Writes never fail, so ffmpeg is not killed by a broken pipe
// and its stderr still explains what happened.
type cappedBuffer struct {
	buf      bytes.Buffer
	max      int
	exceeded bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := b.max - b.buf.Len()
	if len(p) > room {
		b.exceeded = true
		b.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}

	b.buf.Write(p)
	return len(p), nil
}

// tailBuffer keeps the end of what is written to it, enough for the last
// lines of ffmpeg's stderr.
type tailBuffer struct {
	data []byte
}

const (
	// tailBytes bounds the stored stderr. ffmpeg can write a line per
	// broken frame on damaged input, and only the end is reported.
	tailBytes = 8 << 10

	// tailLines is the number of stderr lines put into errors.
	tailLines = 8
)

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.data = append(b.data, p...)
	if len(b.data) > tailBytes {
		b.data = append(b.data[:0], b.data[len(b.data)-tailBytes:]...)
	}

	return len(p), nil
}

// lastLines returns the last non-empty lines joined with " | ", or a note
// that ffmpeg wrote nothing.
func (b *tailBuffer) lastLines() string {
	var lines []string
	for _, line := range strings.Split(string(b.data), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}

	if len(lines) == 0 {
		return "(nothing on stderr)"
	}
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}

	return strings.Join(lines, " | ")
}
