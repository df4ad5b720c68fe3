#!/bin/sh
# The Dockerfile's build step, run in the build context's copy of the repository (the image's
# /src). test/dockerfile.test.ts runs this same file in a temp dir, so what the image does is tested.
# Installs the workspace, builds @dcache/server and the packages it depends on, and writes a
# production-only copy (package.json, bin/, dist/, node_modules without dev dependencies) to $1.
set -eu
out="${1:?usage: install.sh OUTPUT_DIR}"
pnpm="npx -y pnpm@10.34.8"
# Only the packages the context holds are installed: the server and what it depends on.
$pnpm install --frozen-lockfile --filter '@dcache/server...'
$pnpm --filter '@dcache/server...' run build
# --legacy: pnpm 10's deploy otherwise needs inject-workspace-packages for workspace dependencies.
$pnpm --filter @dcache/server deploy --prod --legacy "$out"
