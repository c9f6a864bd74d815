#!/usr/bin/env bash
# The package as an app sees it: build and pack durable-calls, install the tarball into a copy of
# examples/starter in a temporary folder, and run that app's own `npm test` (simulated calls through its flow).
# Offline-friendly: the package's dependencies are in npm's cache after the main install.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/durable-calls-starter.XXXXXX")
trap 'rm -rf "$work"' EXIT

npm run build
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
cp -R examples/starter "$work/app"
rm -rf "$work/app/node_modules" "$work/app/.data" "$work/app/package-lock.json"
cd "$work/app"
# The app depends on the package by path in the repo; here on the packed tarball instead.
npm pkg set "dependencies.durable-calls=file:$work/$tarball"
npm install --prefer-offline --no-audit --no-fund
# Reuse the Temporal CLI the repo already has (the integration tests install one into .tools/).
for cli in "$repo/.tools/pypi/bin/temporal" "$repo/.tools/bin/temporal"; do
  if [[ -z "${TEMPORAL_CLI_PATH:-}" && -x "$cli" ]]; then export TEMPORAL_CLI_PATH="$cli"; fi
done
npm test
