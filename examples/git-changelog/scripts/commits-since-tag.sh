#!/bin/sh
# Lists commit subjects since the most recent tag (or all commits if none).
set -eu
last=$(git describe --tags --abbrev=0 2>/dev/null || true)
if [ -n "$last" ]; then
  git log --no-merges --pretty='- %s (%h)' "$last"..HEAD
else
  git log --no-merges --pretty='- %s (%h)'
fi
