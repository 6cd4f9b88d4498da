#!/usr/bin/env bash
# Starts the whole system: database (MONGODB_URI, Docker or a local FerretDB), backend, socket server.
source "$(dirname "$0")/bootstrap.sh"

echo "› build"; pnpm run --silent build
exec node tools/launcher/dist/main.js
