#!/bin/sh
# Generates the H.265 clip that the camera simulator (internal/camsim) uses
# for H.265 streams: 2 s of the ffmpeg testsrc2 pattern, 320x180 at 25 fps,
# Main profile, an IDR frame every 25 frames, no B-frames, VPS, SPS and PPS
# before every IDR frame, as a raw Annex B stream. See gen-sim-video.sh for
# the reasons behind the options; the committed file was made with ffmpeg
# 5.1 and libx265 3.5.
set -eu

out=${1:-"$(dirname "$0")/../internal/camsim/assets/testsrc2-320x180-25fps.h265"}

if ! command -v ffmpeg >/dev/null 2>&1; then
	echo "gen-sim-video-h265.sh: ffmpeg not found; install it (apt-get install -y ffmpeg) and rerun" >&2
	exit 1
fi

ffmpeg -hide_banner -loglevel error -y \
	-f lavfi -i testsrc2=size=320x180:rate=25:duration=2 \
	-c:v libx265 -profile:v main -preset medium -crf 28 -pix_fmt yuv420p \
	-x265-params log-level=none:keyint=25:min-keyint=25:scenecut=0:bframes=0:repeat-headers=1:info=0 \
	-f hevc "$out"

echo "wrote $out ($(wc -c <"$out") bytes)"
