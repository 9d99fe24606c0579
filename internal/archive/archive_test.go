package archive

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/objectstore"
	"github.com/hikarchive/hikarchive/internal/pipeline"
)

func segmentAt(camera string, start time.Time, slot uint16) pipeline.Segment {
	return pipeline.Segment{Camera: camera, Datadir: "datadir0", Channel: 1, File: 42, Slot: slot, Start: start}
}

func TestKeysForLayout(t *testing.T) {
	start := time.Date(2025, 5, 25, 16, 32, 28, 787_000_000, time.UTC)

	keys := KeysFor("archive/", segmentAt("front-door", start, 3))

	require.Equal(t, "archive/front-door/2025/05/25/20250525T163228.787000Z_datadir0_ch01-hiv00042-slot003.ps", keys.Original)
	require.Equal(t, strings.TrimSuffix(keys.Original, ".ps")+".mp4", keys.MP4)
	require.Equal(t, strings.TrimSuffix(keys.Original, ".ps")+".jpg", keys.Thumbnail)
	require.Equal(t, strings.TrimSuffix(keys.Original, ".ps")+".json", keys.Metadata)
}

func TestKeysForSortByTime(t *testing.T) {
	base := time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC)
	var keys []string
	for i := 0; i < 5; i++ {
		keys = append(keys, KeysFor("", segmentAt("cam", base.Add(time.Duration(i)*700*time.Millisecond), uint16(i))).MP4)
	}

	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)

	require.Equal(t, keys, sorted)
}

func TestKeysForHostileCameraIDs(t *testing.T) {
	start := time.Date(2025, 5, 25, 0, 0, 0, 0, time.UTC)
	seen := map[string]string{}
	for _, id := range []string{"..", ".", "a/b", "a!2Fb", "../../etc", "cam 1", "Kamera Tür", "a\x00b", "\\", "x.y", "!", ""} {
		keys := KeysFor("", segmentAt(id, start, 0))

		require.NoError(t, objectstore.ValidateKey(keys.MP4), "camera id %q", id)
		require.Equal(t, 4, strings.Count(keys.MP4, "/"), "camera id %q must stay one component: %s", id, keys.MP4)
		cameraPart := strings.SplitN(keys.MP4, "/", 2)[0]
		if other, ok := seen[cameraPart]; ok {
			t.Fatalf("camera ids %q and %q share the key component %q", other, id, cameraPart)
		}
		seen[cameraPart] = id
	}
}

func TestKeyToken(t *testing.T) {
	require.Equal(t, "front-door_2", KeyToken("front-door_2"))
	require.Equal(t, "cam.v2", KeyToken("cam.v2"))
	require.Equal(t, "!2E.", KeyToken(".."))
	require.Equal(t, "a!2Fb", KeyToken("a/b"))
	require.Equal(t, "a!212Fb", KeyToken("a!2Fb"))
}
