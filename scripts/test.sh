#!/usr/bin/env bash
# The whole test suite: lint, type-check, then every package's tests against a real database.
source "$(dirname "$0")/bootstrap.sh"

echo "› lint";       pnpm run --silent lint
echo "› type-check"; pnpm run --silent typecheck
echo "› tests";      pnpm exec vitest run "$@"
