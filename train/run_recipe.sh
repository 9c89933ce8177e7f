#!/bin/bash
# Runs the trainer with a recipe: run_recipe.sh <trainer> <recipe.flags> [flags that override it].
set -euo pipefail
# OpenMP threads that spin while they wait make a busy machine many times slower; sleep instead.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
trainer="$1"
recipe="$2"
shift 2
exec "$trainer" --flagfile="$recipe" "$@"
