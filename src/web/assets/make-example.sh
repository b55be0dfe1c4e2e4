#!/bin/sh
# Makes example.ogg, the recording behind the page's "load example audio" button: one espeak-ng sentence (a voice
# made by this project, so it may ship with the package), trimmed to its voiced part and encoded as 16 kHz mono
# Ogg Opus at 24 kbit/s (about 15 KB). Run from this folder; needs espeak-ng, sox and ffmpeg with libopus.
set -eu
tmp=$(mktemp -d)
espeak-ng -v en-us -s 165 -p 70 -w "$tmp/raw.wav" "Wow, I can't believe it, we won the prize! This is the best day of my life."
sox "$tmp/raw.wav" -r 16000 -b 16 -c 1 "$tmp/voiced.wav" silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0.2 0.2
ffmpeg -loglevel error -y -i "$tmp/voiced.wav" -map_metadata -1 -fflags +bitexact -c:a libopus -b:a 24k -ar 16000 \
  example.ogg
rm -r "$tmp"
