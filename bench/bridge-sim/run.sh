#!/usr/bin/env bash
# Simulated bridge crossings per second on one core (goal >= 5e6), a full serving sweep in under a second of CPU,
# plus an end-to-end trace prediction.
set -euo pipefail
cd "$(dirname "$0")/../.."
art="${TMPDIR:-/tmp}/art-bench-bridge-sim"
dotnet build bench/bridge-sim/BridgeSim.csproj -c Release --artifacts-path "$art" -nologo -v:q >/dev/null
# One core: the engine is single-threaded; pinning keeps the number comparable across runs.
exec taskset -c 0 dotnet "$art/bin/BridgeSim/release/BridgeSim.dll"
