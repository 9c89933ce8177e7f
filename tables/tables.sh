#!/usr/bin/env bash
# bazel run //tables:tables -- --scale=small: every table of both studies (//tables:grid with
# --grids=all), resuming what is done, and an index <out>/README.md linking them. Flags as grid's.
set -euo pipefail
grid="$1"
shift
exec "$grid" --grids=all "$@"
