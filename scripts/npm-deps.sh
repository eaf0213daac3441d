#!/bin/sh
# Install the npm tools the tests use into a project-local directory
# (.cache/npm, gitignored): warcio (webrecorder's warcio.js), the
# independent WARC reader that validates every WARC file the tests write.
# Pinned. Idempotent. Needs node/npm (Debian packages nodejs, npm).
# Prints the directory whose node_modules/.bin holds `warcio`.
set -eu
WARCIO_VERSION=2.4.11
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.cache/npm"
if [ -x "$dir/node_modules/.bin/warcio" ] &&
   grep -q "\"version\": \"$WARCIO_VERSION\"" "$dir/node_modules/warcio/package.json" 2>/dev/null; then
    echo "$dir"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "tulip: npm missing (apt-get install nodejs npm); WARC validation tests will be skipped" >&2
    exit 1
fi
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"name":"tulip-test-tools","private":true}' >"$dir/package.json"
npm install --prefix "$dir" --no-audit --no-fund --silent "warcio@$WARCIO_VERSION" >&2
echo "$dir"
