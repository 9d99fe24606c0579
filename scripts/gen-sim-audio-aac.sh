#!/bin/sh
# Generates the AAC clip that internal/camsim muxes as stream type 0x0f: 2 s
# of a 440 Hz sine at 16 kHz mono, AAC LC at 32 kbit/s, as raw ADTS frames
# of 1024 samples each (no CRC, one raw data block per frame).
#
# The simulator embeds the output, so rerun this script only to change the
# clip, and commit the new file. If you change the sample rate, also update
# aacSampleRate in internal/camsim/aac.go. The committed file was made with
# ffmpeg 5.1 and its native AAC encoder.
set -eu

out=${1:-"$(dirname "$0")/../internal/camsim/assets/sine440-16khz-mono.aac"}

if ! command -v ffmpeg >/dev/null 2>&1; then
	echo "gen-sim-audio-aac.sh: ffmpeg not found; install it (apt-get install -y ffmpeg) and rerun" >&2
	exit 1
fi

ffmpeg -hide_banner -loglevel error -y \
	-f lavfi -i sine=frequency=440:sample_rate=16000:duration=2 \
	-ac 1 -c:a aac -b:a 32k \
	-f adts "$out"

echo "wrote $out ($(wc -c <"$out") bytes)"
