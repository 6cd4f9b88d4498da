#!/usr/bin/env bash
# The whole test suite: type-check, lint, then every package's tests against a real database.
source "$(dirname "$0")/bootstrap.sh"

# The browser tests drive Debian's Chromium (a test tool's own browser download cannot work here).
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "› installing chromium (Debian package, for the browser tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "The browser tests need Chromium: install it (Debian/Ubuntu: sudo apt-get install chromium)" >&2
    echo "or point CHROMIUM_PATH at a Chromium or Chrome binary." >&2
    exit 1
  fi
fi
export CHROMIUM_PATH="${CHROMIUM_PATH:-$(command -v chromium)}"

# The scale-out tests run a real Redis: REDIS_URL, else Docker, else Debian's redis-server.
if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "› installing redis-server (Debian package, for the scale-out tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "The scale-out tests need Redis: install it (Debian/Ubuntu: sudo apt-get install redis-server)," >&2
    echo "or point REDIS_URL at a Redis 7 server." >&2
    exit 1
  fi
fi

# Type-check first: it builds the packages' declarations, which typed lint rules resolve.
echo "› type-check"; pnpm run --silent typecheck
echo "› lint";       pnpm run --silent lint
echo "› tests";      pnpm exec vitest run "$@"
