#!/usr/bin/env bash
# The README's first command: shows Flowline on the bundled sample.
# Until the runtime lands, the demo validates the sample definition set and
# shows the JSON Schema editors use; it grows with each capability.
set -euo pipefail
build=${1:-build}
flowline="$build/flowline"

echo "== flowline --version"
"$flowline" --version
echo
echo "== flowline validate samples/personal-incidents"
"$flowline" validate samples/personal-incidents
