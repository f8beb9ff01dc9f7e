#!/usr/bin/env bash
# Run every Fuzz* target in the module for FUZZTIME (default 60s) each.
# Usage: FUZZTIME=10s scripts/fuzz.sh
set -euo pipefail

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-60s}

cd "$(dirname "$0")/.."

count=0
for pkg in $("$GO" list ./...); do
	list=$("$GO" test -list '^Fuzz' "$pkg") # fails (and so do we) if pkg does not build
	for name in $(printf '%s\n' "$list" | grep '^Fuzz' || true); do
		echo "==> fuzz $pkg $name ($FUZZTIME)"
		"$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$pkg"
		count=$((count + 1))
	done
done
echo "fuzz: ran $count target(s)"
