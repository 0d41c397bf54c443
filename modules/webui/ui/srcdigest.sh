#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# modules/webui/ui/srcdigest.sh - print the SHA-256 digest of everything
# the bundle is built from (src/, index.html, vite.config.js,
# package.json, package-lock.json), one line. build.sh stores it in
# dist/SOURCE-DIGEST; tests/unit/test_webui_dist.sh compares.
set -eu
cd "$(dirname "$0")"
find src index.html vite.config.js package.json package-lock.json -type f | LC_ALL=C sort |
	while IFS= read -r f; do
		printf '%s  %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"
	done | sha256sum | cut -d' ' -f1
