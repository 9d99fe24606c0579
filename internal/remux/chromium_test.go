package remux

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hikarchive/hikarchive/internal/camsim"
)

// playerPage plays /clip.mp4 muted and reports to /result once playback
// passed the number of seconds in the URL fragment (default 1), or on an
// error or after 20 s.
const playerPage = `<!doctype html>
<video id="v" muted playsinline src="/clip.mp4"></video>
<script>
const v = document.getElementById("v");
const until = Number(location.hash.slice(1)) || 1;
let sent = false;
function report(error) {
  if (sent) return;
  sent = true;
  fetch("/result", {method: "POST", body: JSON.stringify({
    width: v.videoWidth, height: v.videoHeight, time: v.currentTime,
    audioBytes: v.webkitAudioDecodedByteCount || 0, error: error || ""})});
}
v.addEventListener("timeupdate", () => { if (v.currentTime > until) report(); });
v.addEventListener("error", () => report("media error " + (v.error ? v.error.code + " " + v.error.message : "")));
setTimeout(() => report("timed out"), 20000);
v.play().catch(e => report("play: " + e));
</script>`

type playResult struct {
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Time   float64 `json:"time"`
	Error  string  `json:"error"`

	// AudioBytes is Chromium's webkitAudioDecodedByteCount, 0 for a
	// clip whose audio Chromium did not decode.
	AudioBytes int `json:"audioBytes"`
}

// TestChromiumPlaysClip serves remuxed clips from a loopback HTTP server,
// which answers range requests, and plays them in headless Chromium.
func TestChromiumPlaysClip(t *testing.T) {
	chromium := requireChromium(t)

	for name, cfg := range map[string]camsim.StreamConfig{
		"h264":           {Frames: 75},
		"h264 with alaw": {Frames: 75, Audio: camsim.G711A},
		"h264 with aac":  {Frames: 75, Audio: camsim.AAC},
	} {
		t.Run(name, func(t *testing.T) {
			src, _ := writeStream(t, cfg)
			var clip bytes.Buffer
			_, err := Remux(context.Background(), bytes.NewReader(src), int64(len(src)), &clip, Options{})
			require.NoError(t, err)

			got := playInChromium(t, chromium, clip.Bytes(), 1)
			assert.Empty(t, got.Error)
			assert.Greater(t, got.Time, 1.0, "playback advanced past 1 s")
			assert.Equal(t, 320, got.Width)
			assert.Equal(t, 180, got.Height)
			if cfg.Audio != camsim.NoAudio {
				assert.Positive(t, got.AudioBytes, "audio decoded")
			}
		})
	}
}

// playInChromium plays clip in headless Chromium until playback passes
// until seconds and returns what the page reported then.
// requireChromium returns the path of chromium, or skips the test when it
// is missing, unless HIKARCHIVE_REQUIRE_SERVERS=1 makes that a failure.
func requireChromium(t *testing.T) string {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("HIKARCHIVE_REQUIRE_SERVERS") == "1" {
			t.Fatalf("chromium not found and HIKARCHIVE_REQUIRE_SERVERS=1: install it (apt-get install -y chromium)")
		}
		t.Skip("chromium not found; install it (apt-get install -y chromium) to run this test")
	}
	return chromium
}

func playInChromium(t *testing.T, chromium string, clip []byte, until float64) playResult {
	t.Helper()
	results := make(chan playResult, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(playerPage))
	})
	mux.HandleFunc("/clip.mp4", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		http.ServeContent(w, r, "clip.mp4", time.Time{}, bytes.NewReader(clip))
	})
	mux.HandleFunc("/result", func(w http.ResponseWriter, r *http.Request) {
		var res playResult
		if err := json.NewDecoder(r.Body).Decode(&res); err != nil {
			res.Error = "invalid result: " + err.Error()
		}
		select {
		case results <- res:
		default:
		}
	})

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	server := &http.Server{Handler: mux}
	go server.Serve(listener)
	t.Cleanup(func() { server.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--autoplay-policy=no-user-gesture-required",
		fmt.Sprintf("http://%s/#%g", listener.Addr(), until))
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	require.NoError(t, cmd.Start())
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()

	select {
	case res := <-results:
		return res
	case <-ctx.Done():
		t.Fatalf("no result from Chromium within 60 s; its output:\n%s", output.String())
		return playResult{}
	}
}
