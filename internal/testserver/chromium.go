package testserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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

// PlayResult is the state of the <video> element when the player page
// reported.
type PlayResult struct {
	Width  int     `json:"width"`  // videoWidth, pixels
	Height int     `json:"height"` // videoHeight, pixels
	Time   float64 `json:"time"`   // currentTime, seconds
	Error  string  `json:"error"`

	// AudioBytes is Chromium's webkitAudioDecodedByteCount, 0 for a
	// clip whose audio Chromium did not decode.
	AudioBytes int `json:"audioBytes"`
}

// Chromium returns the path of Debian's chromium, or skips the test when it
// is missing, unless HIKARCHIVE_REQUIRE_SERVERS=1 makes that a failure.
func Chromium(t testing.TB) string {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		skipOrFail(t, "chromium not found; install it (apt-get install -y chromium) to run this test")
	}
	return chromium
}

// PlayInChromium serves clip from a loopback HTTP server that supports range
// requests, plays it muted in headless Chromium until currentTime passes
// until seconds, and returns what the page saw.
func PlayInChromium(t testing.TB, chromium string, clip []byte, until float64) PlayResult {
	t.Helper()
	results := make(chan PlayResult, 1)
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
		var result PlayResult
		if err := json.NewDecoder(r.Body).Decode(&result); err != nil {
			result.Error = "invalid result: " + err.Error()
		}
		select {
		case results <- result:
		default:
		}
	})

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	server := &http.Server{Handler: mux}
	go server.Serve(listener)
	t.Cleanup(func() { server.Close() })

	// The flags keep Chromium from reaching for the network, which this
	// machine's closed network refuses, and allow autoplay.
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
	case result := <-results:
		return result
	case <-ctx.Done():
		t.Fatalf("no result from Chromium within 60 s; its output:\n%s", output.String())
		return PlayResult{}
	}
}
