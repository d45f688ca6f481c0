#!/bin/sh
# Install slim in CI from a checkout of this repository (the GitHub Action's own checkout, or the
# one the GitLab template clones): install its build dependencies, `npm pack` it (which builds
# dist/) and install that tarball globally. Never from the npm registry by name: `slim` there is
# an unrelated package, and slim-image is not published yet.
#
# SLIM_SOURCE  the checkout (default: the folder above this script)
# npm's own settings apply as usual, e.g. npm_config_prefix=DIR installs the command as DIR/bin/slim.
# Under GitHub Actions (GITHUB_PATH set) npm's global bin folder is added to PATH for later steps.
set -eu

src=$(cd "${SLIM_SOURCE:-$(dirname "$0")/..}" && pwd)
[ -f "$src/package.json" ] || { echo "slim-ci: error: $src is not a checkout of slim (no package.json)" >&2; exit 2; }

packed=$(mktemp -d "${TMPDIR:-/tmp}/slim-pack.XXXXXX")
trap 'rm -rf "$packed"' EXIT
trap 'exit 130' INT TERM

cd "$src"
npm ci --no-audit --no-fund
npm pack --pack-destination "$packed" >/dev/null
set -- "$packed"/*.tgz
[ -f "$1" ] || { echo "slim-ci: error: npm pack made no tarball in $packed" >&2; exit 1; }
npm install --global --no-audit --no-fund "$1"

bin=$(npm prefix --global)/bin
if [ -n "${GITHUB_PATH:-}" ]; then echo "$bin" >>"$GITHUB_PATH"; fi
echo "slim-ci: installed slim $("$bin/slim" --version) from $src as $bin/slim"
