#!/usr/bin/env bash
# Regenerates samples/speech.wav: a synthetic German sentence from espeak-ng (22.05 kHz, mono, 16-bit),
# so the README's first command has something to predict on without EMO-DB audio in the repository.
# Needs: apt-get install espeak-ng
set -euo pipefail
cd "$(dirname "$0")"
espeak-ng -v de -s 150 -p 60 -w speech.wav "Das habe ich dir doch schon hundertmal gesagt, hör endlich zu!"
