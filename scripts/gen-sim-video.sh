#!/bin/sh
# Generates the H.264 clip that the camera simulator (internal/camsim) loops:
# 2 s of the ffmpeg testsrc2 pattern, 320x180 at 25 fps, main profile, an IDR
# frame every 25 frames, no B-frames, as a raw Annex B stream.
#
# The simulator embeds the output, so rerun this script only to change the
# clip, and commit the new file. If you change the frame rate or size, also
# update clipFrameRate, clipWidth and clipHeight in internal/camsim/asset.go.
# Output can differ between ffmpeg and x264 versions; the committed file was
# made with ffmpeg 5.1.
#
# Why these options:
#   -g 25 -keyint_min 25 -sc_threshold 0  IDR frames at frames 0 and 25 only,
#                                          so each second starts a GOP.
#   -bf 0                                  PTS equals DTS, as in camera streams.
#   repeat-headers=1                       SPS and PPS before every IDR frame,
#                                          so a segment that starts at frame 25
#                                          decodes on its own.
#   filter_units=remove_types=6            drops the SEI that carries the x264
#                                          version string and settings (about
#                                          600 bytes that differ per build).
set -eu

out=${1:-"$(dirname "$0")/../internal/camsim/assets/testsrc2-320x180-25fps.h264"}

if ! command -v ffmpeg >/dev/null 2>&1; then
	echo "gen-sim-video.sh: ffmpeg not found; install it (apt-get install -y ffmpeg) and rerun" >&2
	exit 1
fi

ffmpeg -hide_banner -loglevel error -y \
	-f lavfi -i testsrc2=size=320x180:rate=25:duration=2 \
	-c:v libx264 -profile:v main -preset medium -crf 23 -pix_fmt yuv420p \
	-g 25 -keyint_min 25 -sc_threshold 0 -bf 0 \
	-x264-params repeat-headers=1 \
	-bsf:v filter_units=remove_types=6 \
	-f h264 "$out"

echo "wrote $out ($(wc -c <"$out") bytes)"
