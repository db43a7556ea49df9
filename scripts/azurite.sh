#!/usr/bin/env bash
# Start the Azurite blob service for local development and tests, once.
#
#   scripts/azurite.sh          start it (if not already up) and print its pid
#   scripts/azurite.sh stop     stop the instance this script started
#
# Listens on 127.0.0.1:${AZURITE_BLOB_PORT:-10000}, keeps its data in <repo>/.azurite (git-ignored).
# Azurite comes from `npm install azurite@3.35.0` in the repository root (`make setup` does it).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
host=127.0.0.1
port="${AZURITE_BLOB_PORT:-10000}"
location="$repo/.azurite"
pidfile="$location/pid"  # scripts/test.sh reads this to stop what it started
logfile="$location/azurite-blob.log"
bin="$repo/node_modules/.bin/azurite-blob"

port_open() {
    # bash's /dev/tcp: no dependency on nc or curl.
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

if [[ "${1:-start}" == "stop" ]]; then
    if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        kill "$(cat "$pidfile")"
        echo "stopped azurite-blob (pid $(cat "$pidfile"))"
    fi
    rm -f "$pidfile"
    exit 0
fi

if port_open; then
    # Already up (started by us earlier, by CI, or by the developer): nothing to do.
    if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        cat "$pidfile"
    else
        echo "azurite: something already listens on $host:$port" >&2
        echo 0
    fi
    exit 0
fi

if [[ ! -x "$bin" ]]; then
    echo "azurite: $bin not found; run: npm install --no-audit --no-fund azurite@3.35.0" >&2
    exit 1
fi

mkdir -p "$location"
# setsid: the emulator outlives this script and is not killed with the caller's process group.
setsid "$bin" --blobHost "$host" --blobPort "$port" --location "$location" \
    --skipApiVersionCheck --disableTelemetry --silent >>"$logfile" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pidfile"

for _ in $(seq 1 150); do
    if port_open; then
        echo "$pid"
        exit 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "azurite: exited early; see $logfile" >&2
        tail -n 20 "$logfile" >&2 || true
        rm -f "$pidfile"
        exit 1
    fi
    sleep 0.2
done
echo "azurite: not listening on $host:$port after 30 s; see $logfile" >&2
kill "$pid" 2>/dev/null || true
rm -f "$pidfile"
exit 1
