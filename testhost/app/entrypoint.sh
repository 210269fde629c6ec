#!/bin/sh
# Migrate, collect static files, then serve. One Python process does the first
# two (boot.py) and execs gunicorn, so a container is ready in about a second.
set -e
exec python3 /app/boot.py
