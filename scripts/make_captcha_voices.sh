#!/usr/bin/env bash
# Regenerates the French voices of the audio captcha: assmat/auth/voices/fr/<char>/<voice>.wav.
# Run once by a developer, the files are committed: the app never needs espeak at run time.
#
#   apt-get install -y espeak-ng sox      # Debian packages (espeak-ng 1.51, sox 14.4 used)
#   bash scripts/make_captcha_voices.sh
#
# The captcha package's AudioCaptcha reads each file's frames raw and writes them behind a
# fixed WAV header (8000 Hz, mono, 8-bit unsigned PCM): every file must be exactly that.
# The alphabet must match ALPHABET in assmat/auth/captcha.py (a test checks it).
set -euo pipefail

ALPHABET="23456789AHJRUWXY"
# Two voices, one low and one high, so that a character never sounds the same twice in a row.
VOICES=("fr+m3" "fr+f2")
SPEED=140  # words per minute: a little slower than espeak's default 175, for clarity

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
    name="${voice#fr+}"
    # A single character is spoken as its French name: "ache", "ji", "double vé", "i grec"…
    espeak-ng -v "$voice" -s "$SPEED" -w "$tmp/raw.wav" "$char"
    # Trim the leading and trailing silence, normalise, then resample to the captcha format.
    # -D: no dither, so that a rerun gives the same bytes.
    sox -D "$tmp/raw.wav" -r 8000 -c 1 -b 8 -e unsigned-integer "$OUT/$char/$name.wav" \
      silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse norm -1
  done
done

du -sh "$OUT"
