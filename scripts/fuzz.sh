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
		dir=$("$GO" list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$name
		before=$(ls "$dir" 2>/dev/null | wc -l)
		if ! "$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$pkg"; then
			# A real finding is written to testdata/fuzz/NAME. Go 1.26's fuzz
			# coordinator can also fail with a bare "context deadline
			# exceeded" and no input; that run is tried once more.
			after=$(ls "$dir" 2>/dev/null | wc -l)
			if [ "$after" -gt "$before" ]; then
				echo "fuzz: $name found a failing input in $dir" >&2
				exit 1
			fi
			echo "fuzz: $name failed without a failing input; running it once more" >&2
			"$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$pkg"
		fi
		count=$((count + 1))
	done
done
echo "fuzz: ran $count target(s)"
