#!/bin/bash
# Runs the trainer with a recipe: run_recipe.sh <trainer> <recipe.flags> [flags that override it].
set -euo pipefail
trainer="$1"
recipe="$2"
shift 2
exec "$trainer" --flagfile="$recipe" "$@"
