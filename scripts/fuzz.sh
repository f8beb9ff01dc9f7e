#!/usr/bin/env bash
# Run every Fuzz* target in the module for FUZZTIME (default 60s) each.
# Usage: FUZZTIME=10s scripts/fuzz.sh
set -euo pipefail

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-60s}

cd "$(dirname "$0")/.."

# count_inputs prints how many saved inputs a fuzz target has (0 if none).
count_inputs() {
	if [ -d "$1" ]; then
		find "$1" -type f | wc -l
	else
		echo 0
	fi
}

count=0
for pkg in $("$GO" list ./...); do
	list=$("$GO" test -list '^Fuzz' "$pkg") # fails (and so do we) if pkg does not build
	for name in $(printf '%s\n' "$list" | grep '^Fuzz' || true); do
		echo "==> fuzz $pkg $name ($FUZZTIME)"
		dir=$("$GO" list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$name
		before=$(count_inputs "$dir")
		if ! "$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$pkg"; then
			# A real finding is written to testdata/fuzz/NAME. Go 1.26's fuzz
			# coordinator can also fail with a bare "context deadline
			# exceeded" and no input; such a run is tried up to twice more.
			after=$(count_inputs "$dir")
			if [ "$after" -gt "$before" ]; then
				echo "fuzz: $name found a failing input in $dir" >&2
				exit 1
			fi
			echo "fuzz: $name failed without a failing input; running it again" >&2
			if ! "$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$pkg"; then
				if [ "$(count_inputs "$dir")" -gt "$before" ]; then
					echo "fuzz: $name found a failing input in $dir" >&2
					exit 1
				fi
				echo "fuzz: $name failed without a failing input again; last try" >&2
				"$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" "$pkg"
			fi
		fi
		count=$((count + 1))
	done
done
echo "fuzz: ran $count target(s)"
