#!/usr/bin/env bash
# The README's first command: the personal-OAuth scenario end to end on the
# bundled sample. Starts the sample endpoint (OAuth server + incident API) on
# 127.0.0.1:8765, logs the sample user alice in with `flowline token login`
# (authorization code + PKCE + state + iss on a loopback listener; the
# endpoint's consent is scripted, so a script plays the browser), and runs
# global.getpersonalincidentssubflow as alice — then as bob, who has no
# token, to show the 401 path.
set -euo pipefail
build=${1:-build}
flowline="$build/flowline"
endpoint="$build/samples/endpoint/flowline-sample-endpoint"
defs=samples/personal-incidents

# A vault of its own, so the demo never touches your real tokens.
export FLOWLINE_HOME=${FLOWLINE_DEMO_HOME:-$(mktemp -d)}
export ACME_CLIENT_SECRET=${ACME_CLIENT_SECRET:-sample-secret}
work=$(mktemp -d)
endpoint_pid=""
cleanup() {
  [ -n "$endpoint_pid" ] && kill "$endpoint_pid" 2>/dev/null && wait "$endpoint_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "flowline --version"
"$flowline" --version

step "flowline validate $defs"
"$flowline" validate "$defs"

step "starting the sample endpoint on 127.0.0.1:8765"
if (exec 3<>/dev/tcp/127.0.0.1/8765) 2>/dev/null; then
  echo "demo: something already listens on 127.0.0.1:8765; stop it and run the demo again" >&2
  exit 1
fi
"$endpoint" --listen 127.0.0.1:8765 --port-file "$work/port" --quiet 2>"$work/endpoint.log" &
endpoint_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "demo: the sample endpoint did not start:" >&2; cat "$work/endpoint.log" >&2; exit 1; }
echo "listening"

step "flowline token login acme_personal --user alice"
# Flowline prints the authorization URL and waits on a loopback port for the reply. A person
# would open the URL in a browser; here samples/endpoint/sign-in.sh plays the browser and
# signs alice in with the endpoint's scripted consent.
"$flowline" token login acme_personal --user alice --no-browser -d "$defs" >"$work/login.out" &
login_pid=$!
for _ in $(seq 100); do [ -s "$work/login.out" ] && break; sleep 0.1; done
url=$(head -n 1 "$work/login.out")
[ -n "$url" ] || { echo "demo: flowline token login printed no URL" >&2; exit 1; }
echo "authorization URL: $url"
echo "browser: $(samples/endpoint/sign-in.sh --user alice "$url")"
wait "$login_pid"
tail -n +2 "$work/login.out"
"$flowline" token status acme_personal --user alice -d "$defs"

step "flowline run global.getpersonalincidentssubflow --user alice"
"$flowline" run global.getpersonalincidentssubflow -d "$defs" --user alice

step "the same subflow as bob, who has no token (HTTP 401, exit code 3)"
set +e
"$flowline" run global.getpersonalincidentssubflow -d "$defs" --user bob
status=$?
set -e
echo "exit code: $status"
[ "$status" -eq 3 ] || { echo "demo: expected exit code 3 for a missing token" >&2; exit 1; }
