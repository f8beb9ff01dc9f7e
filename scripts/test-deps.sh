#!/usr/bin/env bash
# Install the external tools the integration tests need, if missing:
#   docker-registry, skopeo, htpasswd (apt) and oras (go install).
# Idempotent; prints nothing when everything is already present.
set -euo pipefail

ORAS_VERSION=v1.3.6
GO=${GO:-go}

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
	else
		echo "test-deps: not root and sudo not available; apt installs may fail" >&2
	fi
fi

# --- apt packages -------------------------------------------------------
missing=()
command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
command -v htpasswd >/dev/null 2>&1 || missing+=(htpasswd)

if [ "${#missing[@]}" -gt 0 ]; then
	echo "test-deps: installing docker-registry skopeo apache2-utils (missing: ${missing[*]})"
	"${SUDO[@]}" apt-get update -qq >/dev/null
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq docker-registry skopeo apache2-utils >/dev/null
	# The Debian package may start a system registry service; we run our own.
	if command -v systemctl >/dev/null 2>&1; then
		"${SUDO[@]}" systemctl stop docker-registry >/dev/null 2>&1 || true
		"${SUDO[@]}" systemctl disable docker-registry >/dev/null 2>&1 || true
	fi
	if command -v service >/dev/null 2>&1; then
		"${SUDO[@]}" service docker-registry stop >/dev/null 2>&1 || true
	fi
fi

# --- oras ---------------------------------------------------------------
gobin="$("$GO" env GOPATH)/bin"
if ! command -v oras >/dev/null 2>&1 && [ ! -x "$gobin/oras" ]; then
	echo "test-deps: installing oras $ORAS_VERSION into $gobin"
	"$GO" install "oras.land/oras/cmd/oras@$ORAS_VERSION"
fi
