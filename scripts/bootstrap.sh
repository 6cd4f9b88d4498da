# Sourced by start.sh and test.sh: makes pnpm (the version pinned in package.json) available and
# installs the workspace. Nothing here needs corepack, which fails on this kind of machine.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

pnpm_version=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$pnpm_version" ]; then
  local_pnpm="$repo_root/.tools/pnpm/node_modules/.bin/pnpm"
  if [ ! -x "$local_pnpm" ] || [ "$("$local_pnpm" --version)" != "$pnpm_version" ]; then
    echo "› installing pnpm $pnpm_version into .tools/pnpm"
    npm install --prefix "$repo_root/.tools/pnpm" --no-audit --no-fund --loglevel=error "pnpm@$pnpm_version" >/dev/null
  fi
  export PATH="$repo_root/.tools/pnpm/node_modules/.bin:$PATH"
fi

echo "› pnpm install"
pnpm install --frozen-lockfile
