#!/usr/bin/env bash
# Runs hikarchive's tests: go vet, the test suite against real servers, then
# each fuzz target briefly. On first use it builds MinIO into .tools/bin, and
# it installs ffmpeg from Debian packages when missing and possible.
#
# Usage: scripts/test.sh [package pattern ...]    (default: ./...)
#
# Environment:
#   HIKARCHIVE_MINIO_BIN  use this minio binary instead of .tools/bin/minio
#   HIKARCHIVE_FUZZTIME   budget per fuzz target (default 50000x executions)
#
# See docs/testing.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$PWD

minio_module=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
# An execution count, not a duration: Go 1.26's fuzzing coordinator can fail
# a duration-bounded run with a spurious "context deadline exceeded" at the
# deadline, with no failing input, and a count has no deadline to race.
fuzz_time=${HIKARCHIVE_FUZZTIME:-50000x}

packages=("$@")
if [ ${#packages[@]} -eq 0 ]; then
	packages=(./...)
fi

log() {
	printf 'test.sh: %s\n' "$*" >&2
}

ensure_go() {
	if command -v go >/dev/null 2>&1; then
		return
	fi
	if [ -x /usr/local/go/bin/go ]; then
		export PATH="$PATH:/usr/local/go/bin"
		return
	fi
	log "go not found: install Go (the version in go.mod) and rerun"
	exit 1
}

# ensure_minio exports HIKARCHIVE_MINIO_BIN, building MinIO only when no
# binary is configured and .tools/bin/minio is absent.
ensure_minio() {
	if [ -n "${HIKARCHIVE_MINIO_BIN:-}" ]; then
		if [ ! -x "$HIKARCHIVE_MINIO_BIN" ]; then
			log "HIKARCHIVE_MINIO_BIN=$HIKARCHIVE_MINIO_BIN is not an executable file: fix the path or unset it"
			exit 1
		fi
		return
	fi

	local binary="$repo_root/.tools/bin/minio"
	if [ ! -x "$binary" ]; then
		log "building MinIO ($minio_module) into .tools/bin; this runs once and takes a few minutes"
		GOBIN="$repo_root/.tools/bin" go install "$minio_module"
	fi
	export HIKARCHIVE_MINIO_BIN="$binary"
}

# ensure_ffmpeg installs ffmpeg when ffmpeg or ffprobe is missing, if this
# is a Debian-like system and we are root. Otherwise it prints a note and
# continues, and tests that need ffmpeg skip with a message.
ensure_ffmpeg() {
	if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then
		return
	fi
	if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
		log "ffmpeg or ffprobe not found, and installing needs root and apt-get; tests that need ffmpeg will skip"
		return
	fi

	log "installing ffmpeg from Debian packages"
	if apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg; then
		return
	fi
	log "installing ffmpeg failed; tests that need ffmpeg will skip"
}

# ensure_chromium installs Debian's chromium for the remux playback test,
# under the same conditions as ensure_ffmpeg. Without it that test fails,
# because this script sets HIKARCHIVE_REQUIRE_SERVERS=1.
ensure_chromium() {
	if command -v chromium >/dev/null 2>&1; then
		return
	fi
	if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
		log "chromium not found, and installing needs root and apt-get; the browser playback test will fail"
		return
	fi

	log "installing chromium from Debian packages"
	if apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; then
		return
	fi
	log "installing chromium failed; the browser playback test will fail"
}

# fuzz_targets prints "<import path> <target>" for each func Fuzz... in the
# test files of the selected packages.
fuzz_targets() {
	local import_path dir file name
	while read -r import_path dir; do
		for file in "$dir"/*_test.go; do
			[ -f "$file" ] || continue
			sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' "$file" | while read -r name; do
				printf '%s %s\n' "$import_path" "$name"
			done
		done
	done < <(go list -f '{{.ImportPath}} {{.Dir}}' "${packages[@]}")
}

run_fuzz_targets() {
	local targets import_path name
	targets=$(fuzz_targets | sort -u)
	if [ -z "$targets" ]; then
		log "no fuzz targets found"
		return
	fi

	while read -r import_path name; do
		log "fuzzing $name in $import_path for $fuzz_time"
		go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzz_time" -fuzzminimizetime 50x "$import_path"
	done <<<"$targets"
}

ensure_go
ensure_minio
ensure_ffmpeg
ensure_chromium
# Missing servers fail the tests here instead of skipping them.
export HIKARCHIVE_REQUIRE_SERVERS=1

log "go vet ${packages[*]}"
go vet "${packages[@]}"

log "go test ${packages[*]}"
go test -count=1 -timeout 20m "${packages[@]}"

run_fuzz_targets
log "all tests passed"
