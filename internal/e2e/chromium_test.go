package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// playerPage plays /clip.mp4 muted and reports to /result once playback
// passed one second, or on an error or after 20 s.
const playerPage = `<!doctype html>
<video id="v" muted playsinline src="/clip.mp4"></video>
<script>
const v = document.getElementById("v");
let sent = false;
function report(error) {
  if (sent) return;
  sent = true;
  fetch("/result", {method: "POST", body: JSON.stringify({
    width: v.videoWidth, height: v.videoHeight, time: v.currentTime, error: error || ""})});
}
v.addEventListener("timeupdate", () => { if (v.currentTime > 1) report(); });
v.addEventListener("error", () => report("media error " + (v.error ? v.error.code + " " + v.error.message : "")));
setTimeout(() => report("timed out"), 20000);
v.play().catch(e => report("play: " + e));
</script>`

// playResult is what playerPage reports.
type playResult struct {
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Time   float64 `json:"time"`
	Error  string  `json:"error"`
}

// TestChromiumPlaysArchivedClip archives a few segments through the whole
// pipeline, downloads an MP4 clip from MinIO and plays it in headless
// Chromium, as a user opening the archive in a browser would.
func TestChromiumPlaysArchivedClip(t *testing.T) {
	chromium := findChromium(t)

	e := newEnv(t, 4, 1<<20)
	s := e.scanner()
	e.startArchiver(e.archiverOptions(e.store))
	e.record(s, 5, 3*time.Second)
	e.waitDrained()

	archived := e.archivedEvents()
	require.NotEmpty(t, archived)
	var clipKey string
	for _, event := range archived {
		if strings.HasSuffix(event.Objects.Clip, ".mp4") {
			clipKey = event.Objects.Clip
			break
		}
	}
	require.NotEmpty(t, clipKey, "no archived segment has an MP4 clip")
	clip := e.get(e.store, clipKey)
	require.Equal(t, "ftyp", string(clip[4:8]), "clip %s is not an MP4", clipKey)

	got := playInChromium(t, chromium, clip)
	t.Logf("Chromium played %s to %.2f s at %dx%d", clipKey, got.Time, got.Width, got.Height)
	assert.Empty(t, got.Error, "clip %s", clipKey)
	assert.Greater(t, got.Time, 1.0, "playback of %s advanced past 1 s", clipKey)
	assert.Equal(t, 320, got.Width)
	assert.Equal(t, 180, got.Height)
}

// findChromium returns the Chromium executable, or skips the test when it
// is not installed, unless HIKARCHIVE_REQUIRE_SERVERS=1 requires it.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}

	if os.Getenv("HIKARCHIVE_REQUIRE_SERVERS") == "1" {
		t.Fatal("chromium not found and HIKARCHIVE_REQUIRE_SERVERS=1: install it (apt-get install -y chromium)")
	}
	t.Skip("chromium not found; install it (apt-get install -y chromium) to run this test")
	return ""
}

// playInChromium serves playerPage and clip from a loopback HTTP server that
// supports range requests, opens the page in headless Chromium and returns
// what the page reports.
func playInChromium(t *testing.T, chromium string, clip []byte) playResult {
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
		"http://"+listener.Addr().String()+"/")
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
