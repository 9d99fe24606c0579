#!/usr/bin/env bash
# Compares hikarchive's in-process remux with ffmpeg on the same simulated
# segment: throughput and peak memory, side by side.
#
# Usage: scripts/bench-remux.sh [segment MiB]    (default 256, a real hiv file)
#
# The segment is H.264 320x180 at 25 fps with G.711 A-law audio from the
# camera simulator, written once to a temporary folder. The Go side is
# BenchmarkRemux in internal/remux (3 runs); the ffmpeg side runs
#   ffmpeg -i seg -c copy -movflags +faststart out.mp4
# 3 times under /usr/bin/time -v. ffmpeg copies G.711 as is, which its MP4
# muxer rejects, so it runs with -an (video only) and does less work than
# the remux, which converts the audio to FLAC.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
size_mb=${1:-256}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
segment="$work/segment.ps"

for tool in ffmpeg /usr/bin/time; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench-remux.sh: $tool not found; install it (apt-get install -y ffmpeg time) and rerun" >&2
		exit 1
	fi
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "segment: ${size_mb} MiB simulated H.264 + G.711 A-law"
echo

echo "== hikarchive remux (go test -bench BenchmarkRemux -benchtime 3x)"
HIKARCHIVE_BENCH_SEGMENT="$segment" HIKARCHIVE_BENCH_SEGMENT_MB="$size_mb" \
	go test -run '^$' -bench '^BenchmarkRemux$' -benchtime 3x ./internal/remux | grep -E '^Benchmark'
bytes=$(stat -c %s "$segment")
echo

echo "== ffmpeg -i seg -c copy -an -movflags +faststart out.mp4 (3 runs)"
for run in 1 2 3; do
	/usr/bin/time -f '%e %M' -o "$work/time" \
		ffmpeg -v error -y -i "$segment" -c copy -an -movflags +faststart "$work/out.mp4"
	read -r seconds max_kb <"$work/time"
	awk -v b="$bytes" -v s="$seconds" -v kb="$max_kb" -v r="$run" \
		'BEGIN { printf "run %d: %.2f s, %.1f MB/s, peak RSS %.1f MiB\n", r, s, b / 1e6 / s, kb / 1024 }'
done
