#!/usr/bin/env bash
# Regenerates the French voices of the audio captcha: assmat/auth/voices/fr/<char>/<voice>.wav.
# Run once by a developer, the files are committed: the app never needs espeak at run time.
#
#   apt-get install -y espeak-ng sox      # Debian packages (espeak-ng 1.51, sox 14.4 used)
#   bash scripts/make_captcha_voices.sh
#
# Every file is 8000 Hz, mono, 8-bit unsigned PCM, trimmed and normalised: assmat/auth/captcha.py
# reads them as they are. The alphabet must match ALPHABET there (a test checks it).
#
# Eight voices per character, men and women at different pitches and speeds: a bot that matches
# the recordings it finds in the package meets a different voice each time, and the captcha
# then bends each one further (assmat/auth/captcha.py, audio_wav).
set -euo pipefail

ALPHABET="2356789AHJORUWXY"
# espeak-ng variant, words per minute, pitch (0-99, default 50). Slower than espeak's default
# 175 words per minute, for clarity.
VOICES=(
  "m1 135 40"
  "m3 145 50"
  "m5 130 35"
  "m7 150 45"
  "f1 140 60"
  "f2 135 70"
  "f4 150 55"
  "f5 130 65"
)

REPO="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$REPO/assmat/auth/voices/fr"
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install -y espeak-ng sox)" >&2; exit 1; }
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$OUT"

for ((i = 0; i < ${#ALPHABET}; i++)); do
  char="${ALPHABET:i:1}"
  mkdir -p "$OUT/$char"
  for voice in "${VOICES[@]}"; do
    read -r variant speed pitch <<<"$voice"
    # A single character is spoken as its French name: "ache", "ji", "double vé", "i grec"…
    espeak-ng -v "fr+$variant" -s "$speed" -p "$pitch" -w "$tmp/raw.wav" "$char"
    # Trim the leading and trailing silence, normalise, then resample to the captcha format.
    # -D: no dither, so that a rerun gives the same bytes.
    sox -D "$tmp/raw.wav" -r 8000 -c 1 -b 8 -e unsigned-integer "$OUT/$char/$variant.wav" \
      silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse norm -1
  done
done

du -sh "$OUT"
