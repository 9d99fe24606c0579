package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/index"
)

func TestSubjectTokenInjective(t *testing.T) {
	seen := map[string]string{}
	for _, id := range []string{"cam", "cam.1", "cam=2E1", "cam*", "cam>", "cam 1", "", "=", "Tür", "a.b.c"} {
		token := SubjectToken(id)

		require.NotContains(t, token, ".", "id %q", id)
		require.NotContains(t, token, "*", "id %q", id)
		require.NotContains(t, token, ">", "id %q", id)
		require.NotContains(t, token, " ", "id %q", id)
		if other, ok := seen[token]; ok {
			t.Fatalf("ids %q and %q share the token %q", other, id, token)
		}
		seen[token] = id
	}
}

func TestSubject(t *testing.T) {
	require.Equal(t, "hikarchive.segment.closed.front=2Edoor.sd", Subject(KindClosed, "front.door", "sd"))
	require.Equal(t, 4, strings.Count(Subject(KindLost, "a.b.c", "datadir1"), "."))
}

func TestNewSegmentConvertsTimeZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	s := index.Segment{
		Channel: 1, File: 7, Slot: 3,
		Start:       index.PackTime(1748174400, 0), // 12:00 on the camera's clock
		End:         index.PackTime(1748174460, 500_000),
		StartOffset: 512, EndOffset: 4096,
	}

	segment := NewSegment("cam", "datadir1", berlin, s)

	require.Equal(t, "datadir1/hiv00007.mp4", segment.HivFile)
	require.Equal(t, time.Date(2025, 5, 25, 10, 0, 0, 0, time.UTC), segment.Start)
	require.Equal(t, time.Date(2025, 5, 25, 10, 1, 0, 500_000_000, time.UTC), segment.End)
	require.Equal(t, s.Key(), segment.Key())
	require.Equal(t, "Europe/Berlin", segment.TimeZone)
}
