#!/bin/sh
echo "coverage is unavailable in this offline build" >&2
exit 0
