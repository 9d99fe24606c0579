package schema

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/index"
	"github.com/hikarchive/hikarchive/internal/pipeline"
)

func newValidator(t *testing.T) *Validator {
	t.Helper()
	v, err := NewValidator()
	require.NoError(t, err)
	return v
}

// sampleSegment returns a closed segment of a NAS datadir in Berlin, with
// a camera start time that has microseconds.
func sampleSegment(t *testing.T) pipeline.Segment {
	t.Helper()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	return pipeline.NewSegment("yard/cam 1", "datadir3", berlin, index.Segment{
		Channel: 1, File: 42, Slot: 7,
		Start:       index.PackTime(1761447540, 956229),
		End:         index.PackTime(1761447560, 999999),
		StartOffset: 1 << 20, EndOffset: 3 << 20,
	})
}

// openSegment returns a segment the camera was still recording: no end.
func openSegment(t *testing.T) pipeline.Segment {
	t.Helper()
	return pipeline.NewSegment("cam", index.FlatDatadir, time.UTC, index.Segment{
		Channel: 1, File: 0, Slot: 0,
		Start:       index.PackTime(1761447540, 0),
		StartOffset: 0, EndOffset: 4096,
	})
}

func sampleClosed(t *testing.T) pipeline.Closed {
	return pipeline.Closed{
		Version:          pipeline.SchemaVersion,
		Segment:          sampleSegment(t),
		IndexFile:        "/mnt/camera/datadir3/index00.bin",
		IndexVersion:     2,
		IndexModifyTimes: 1<<64 - 1,
		ObservedAt:       time.Date(2025, 10, 26, 3, 0, 1, 123456789, time.UTC),
	}
}

func sampleArchived(t *testing.T) pipeline.Archived {
	return pipeline.Archived{
		Version: pipeline.SchemaVersion,
		Segment: sampleSegment(t),
		Objects: pipeline.Objects{
			Clip:      "recordings/yard!2Fcam!201/2025/10/26/x.ps",
			Thumbnail: "recordings/yard!2Fcam!201/2025/10/26/x.jpg",
			Metadata:  "recordings/yard!2Fcam!201/2025/10/26/x.json",
		},
		Size:       2 << 20,
		SHA256:     strings.Repeat("0123456789abcdef", 4),
		ArchivedAt: time.Date(2025, 10, 26, 3, 0, 5, 0, time.UTC),
	}
}

func sampleLost(t *testing.T) pipeline.Lost {
	before := sampleSegment(t)
	before.Slot++
	return pipeline.Lost{
		Version:    pipeline.SchemaVersion,
		Segment:    sampleSegment(t),
		Reason:     pipeline.ReasonRingPassed,
		Detail:     "the camera went round its whole ring since the last scan",
		GapBefore:  &before,
		DetectedBy: "scanner",
		DetectedAt: time.Date(2025, 10, 26, 3, 0, 5, 0, time.Local),
	}
}

func sampleRisk(t *testing.T) pipeline.Risk {
	return pipeline.Risk{
		Version:             pipeline.SchemaVersion,
		Segment:             sampleSegment(t),
		Pending:             12,
		HeadroomSeconds:     240.5,
		ThresholdSeconds:    600,
		WriteBytesPerSecond: 512000,
		BytesUntilRecycle:   123136000,
		DetectedAt:          time.Date(2025, 10, 26, 3, 0, 6, 0, time.UTC),
	}
}

func marshal(t *testing.T, event any) []byte {
	t.Helper()
	data, err := json.Marshal(event)
	require.NoError(t, err)
	return data
}

func TestValidateEventsFromGoTypes(t *testing.T) {
	v := newValidator(t)

	noThumbnail := sampleArchived(t)
	noThumbnail.Objects.Thumbnail = ""
	openLost := pipeline.Lost{
		Version: pipeline.SchemaVersion, Segment: openSegment(t),
		Reason: pipeline.ReasonOpenOverwritten, Detail: "gone", DetectedBy: "scanner", DetectedAt: time.Now(),
	}

	cases := []struct {
		name  string
		kind  pipeline.Kind
		event any
	}{
		{"closed", pipeline.KindClosed, sampleClosed(t)},
		{"archived", pipeline.KindArchived, sampleArchived(t)},
		{"archived without thumbnail", pipeline.KindArchived, noThumbnail},
		{"lost with gap", pipeline.KindLost, sampleLost(t)},
		{"lost while open", pipeline.KindLost, openLost},
		{"risk", pipeline.KindRisk, sampleRisk(t)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, v.Validate(c.kind, marshal(t, c.event)))
		})
	}
}

func TestValidateEveryLostReason(t *testing.T) {
	v := newValidator(t)
	for _, reason := range []string{
		pipeline.ReasonOverwritten, pipeline.ReasonOverwrittenDuringCopy, pipeline.ReasonNotProgramStream,
		pipeline.ReasonInvalidRange, pipeline.ReasonOpenOverwritten, pipeline.ReasonRingPassed,
	} {
		event := sampleLost(t)
		event.Reason = reason
		event.DetectedBy = "archiver"
		require.NoError(t, v.Validate(pipeline.KindLost, marshal(t, event)), "reason %s", reason)
	}
}

// TestValidateRejectsBadEvents makes sure the schemas can fail: each case
// changes one field of a valid event.
func TestValidateRejectsBadEvents(t *testing.T) {
	v := newValidator(t)

	cases := []struct {
		name   string
		kind   pipeline.Kind
		event  any
		change func(map[string]any)
	}{
		{"closed missing observed_at", pipeline.KindClosed, sampleClosed(t), func(m map[string]any) { delete(m, "observed_at") }},
		{"closed unknown field", pipeline.KindClosed, sampleClosed(t), func(m map[string]any) { m["extra"] = true }},
		{"closed version 2", pipeline.KindClosed, sampleClosed(t), func(m map[string]any) { m["version"] = 2 }},
		{"closed negative index version", pipeline.KindClosed, sampleClosed(t), func(m map[string]any) { m["index_version"] = -1 }},
		{"segment start not a time", pipeline.KindClosed, sampleClosed(t), func(m map[string]any) { segmentOf(m)["start"] = "yesterday" }},
		{"segment bad datadir", pipeline.KindClosed, sampleClosed(t), func(m map[string]any) { segmentOf(m)["datadir"] = "../x" }},
		{"segment bad id", pipeline.KindClosed, sampleClosed(t), func(m map[string]any) { segmentOf(m)["id"] = "42" }},
		{"segment channel too large", pipeline.KindClosed, sampleClosed(t), func(m map[string]any) { segmentOf(m)["channel"] = 70000 }},
		{"segment missing time zone", pipeline.KindClosed, sampleClosed(t), func(m map[string]any) { delete(segmentOf(m), "time_zone") }},
		{"archived upper-case sha256", pipeline.KindArchived, sampleArchived(t), func(m map[string]any) { m["sha256"] = strings.Repeat("AB", 32) }},
		{"archived missing metadata key", pipeline.KindArchived, sampleArchived(t), func(m map[string]any) { delete(m["objects"].(map[string]any), "metadata") }},
		{"archived empty thumbnail key", pipeline.KindArchived, sampleArchived(t), func(m map[string]any) { m["objects"].(map[string]any)["thumbnail"] = "" }},
		{"lost unknown reason", pipeline.KindLost, sampleLost(t), func(m map[string]any) { m["reason"] = "stolen" }},
		{"lost unknown detector", pipeline.KindLost, sampleLost(t), func(m map[string]any) { m["detected_by"] = "camera" }},
		{"lost bad gap segment", pipeline.KindLost, sampleLost(t), func(m map[string]any) { m["gap_before"] = map[string]any{} }},
		{"risk negative headroom", pipeline.KindRisk, sampleRisk(t), func(m map[string]any) { m["headroom_seconds"] = -1 }},
		{"risk missing segment", pipeline.KindRisk, sampleRisk(t), func(m map[string]any) { delete(m, "segment") }},
		{"risk unknown field", pipeline.KindRisk, sampleRisk(t), func(m map[string]any) { m["extra"] = 1 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var document map[string]any
			require.NoError(t, json.Unmarshal(marshal(t, c.event), &document))
			c.change(document)

			err := v.Validate(c.kind, marshal(t, document))
			require.Error(t, err)
		})
	}
}

func segmentOf(event map[string]any) map[string]any {
	return event["segment"].(map[string]any)
}

func TestValidateUnknownKind(t *testing.T) {
	v := newValidator(t)
	err := v.Validate("opened", []byte(`{}`))
	require.ErrorContains(t, err, `"opened"`)
}

func TestValidateInvalidJSON(t *testing.T) {
	v := newValidator(t)
	require.Error(t, v.Validate(pipeline.KindClosed, []byte(`{"version":`)))
}

// TestSchemasListEveryGoField checks the other direction of the strict
// schemas: every property a schema lists is a field of the Go type, and a
// field without omitempty is required.
func TestSchemasListEveryGoField(t *testing.T) {
	cases := []struct {
		file     string
		property string // a nested object schema, or "" for the whole file
		goType   reflect.Type
	}{
		{"segment.schema.json", "", reflect.TypeFor[pipeline.Segment]()},
		{"closed.schema.json", "", reflect.TypeFor[pipeline.Closed]()},
		{"archived.schema.json", "", reflect.TypeFor[pipeline.Archived]()},
		{"archived.schema.json", "objects", reflect.TypeFor[pipeline.Objects]()},
		{"lost.schema.json", "", reflect.TypeFor[pipeline.Lost]()},
		{"risk.schema.json", "", reflect.TypeFor[pipeline.Risk]()},
	}
	for _, c := range cases {
		t.Run(c.file+"/"+c.property, func(t *testing.T) {
			schemaFields, schemaRequired := readProperties(t, c.file, c.property)
			goFields, goRequired := jsonFields(c.goType)

			require.ElementsMatch(t, goFields, schemaFields, "properties of %s and fields of %s", c.file, c.goType)
			require.ElementsMatch(t, goRequired, schemaRequired, "required of %s and fields of %s without omitempty", c.file, c.goType)
		})
	}
}

// objectSchema is the part of an object schema that lists its fields.
type objectSchema struct {
	Properties map[string]json.RawMessage `json:"properties"`
	Required   []string                   `json:"required"`
}

func readProperties(t *testing.T, file, property string) (names, required []string) {
	t.Helper()
	data, err := Files.ReadFile(file)
	require.NoError(t, err)
	var document objectSchema
	require.NoError(t, json.Unmarshal(data, &document))
	if property != "" {
		nested, ok := document.Properties[property]
		require.True(t, ok, "%s has no property %s", file, property)
		document = objectSchema{}
		require.NoError(t, json.Unmarshal(nested, &document))
	}
	for name := range document.Properties {
		names = append(names, name)
	}
	return names, document.Required
}

func jsonFields(goType reflect.Type) (names, required []string) {
	for field := range goType.Fields() {
		tag := field.Tag.Get("json")
		name, options, _ := strings.Cut(tag, ",")
		if name == "-" || !field.IsExported() {
			continue
		}
		names = append(names, name)
		if !slices.Contains(strings.Split(options, ","), "omitempty") {
			required = append(required, name)
		}
	}
	return names, required
}
