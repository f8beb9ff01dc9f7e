#!/bin/sh
# Rewrites a JSON file in place with sorted keys; leaves it untouched if invalid.
set -eu
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
jq -S . "$1" > "$tmp"
mv "$tmp" "$1"
