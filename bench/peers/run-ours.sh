#!/usr/bin/env bash
# Benchmark runlet's sync webhook side by side with the peers (run-node-red.sh
# and friends): `runlet serve` on 127.0.0.1, trivial scripts pushed with curl,
# then the same `measure` (wrk + post.lua) on jobs/run_wait_result.
# Usage (from the repository root or anywhere):  bash bench/peers/run-ours.sh
# Runs in a loopback-only network namespace (netns.sh: unshare -n, needs root).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BIN="${RUNLET_BIN:-/tmp/runlet-bench}"
if [ -z "${IN_PEER_NETNS:-}" ]; then   # build once, outside the namespace
  (cd "$REPO" && go build -o "$BIN" ./cmd/runlet)
fi
source "$HERE/netns.sh"
source "$HERE/lib.sh"
PORT="${PORT:-8011}"
BASE="http://127.0.0.1:$PORT"
DATA="$(mktemp -d /tmp/runlet-bench-data.XXXXXX)"
OUT="$RESULTS/ours.txt"; : > "$OUT"
echo "runlet $(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo '?')$( (cd "$REPO" && git diff --quiet 2>/dev/null) || echo '+dirty')  $(go version | cut -d' ' -f3)  workers=${WORKERS:-default}" | tee -a "$OUT"
t0=$(date +%s.%N)
# RUNLET_NPM_REGISTRY: the trivial scripts import nothing; never the internet.
RUNLET_NPM_REGISTRY=http://127.0.0.1:9 "$BIN" serve --data "$DATA" --addr "127.0.0.1:$PORT" \
  ${WORKERS:+--workers "$WORKERS"} > "$DATA/server.log" 2>&1 &
SRV=$!
cleanup() { kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
wait_http "$BASE/healthz"
echo "server ready in $(echo "$(date +%s.%N) - $t0" | bc) s" | tee -a "$OUT"
TOKEN="$(cat "$DATA/admin.token")"

# push PATH LANGUAGE WARM CONTENT  -> prints the hash (and the push time)
push() {
  local body t1
  body=$(python3 -c 'import json,sys; print(json.dumps({"path":sys.argv[1],"language":sys.argv[2],"warm":sys.argv[3]=="true","content":sys.argv[4]}))' "$@")
  t1=$(date +%s.%N)
  curl -sS --fail-with-body --max-time 300 -X POST -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d "$body" "$BASE/api/w/main/scripts/create" -o /dev/null
  echo "pushed $1 ($2, warm=$3) in $(echo "$(date +%s.%N) - $t1" | bc) s"
}
TS='export function main(n: number) { return n; }'
GO='package inner

func main(n int) (int, error) { return n, nil }
'
# Restate's Flow/run3 (three ctx.run steps) as a workflow as code: three step() checkpoints.
WF3='import { step } from "windmill-client";
export async function main(name: string, n: number) {
  const a = await step("step1", () => n + 1);
  const b = await step("step2", () => a * 2);
  const c = await step("step3", () => ({ result: b - 3, steps: 3 }));
  return c;
}'
{
push f/bench/wf3_isolated typescript false "$WF3"
push f/bench/wf3_warm     typescript true  "$WF3"
push f/bench/ts_isolated typescript false "$TS"
push f/bench/ts_warm     typescript true  "$TS"
push f/bench/go_isolated go         false "$GO"
push f/bench/go_warm     go         true  "$GO"
} | tee -a "$OUT"
sleep 1
rss_report idle "$SRV" | tee -a "$OUT"
# post.lua sends no custom headers: the token goes in the query (?token=).
hook() { echo "$BASE/api/w/main/jobs/run_wait_result/p/$1?token=$TOKEN"; }
B='{"name":"bench","n":21}'
{
measure ours/ts-warm-sync     "$(hook f/bench/ts_warm)"     "$B"
measure ours/ts-isolated-sync "$(hook f/bench/ts_isolated)" "$B"
measure ours/go-warm-sync     "$(hook f/bench/go_warm)"     "$B"
measure ours/go-isolated-sync "$(hook f/bench/go_isolated)" "$B"
measure ours/wf3-warm-sync     "$(hook f/bench/wf3_warm)"     "$B"
measure ours/wf3-isolated-sync "$(hook f/bench/wf3_isolated)" "$B"
} 2> >(sed "s/$TOKEN/TOKEN/g" | tee -a "$OUT.log" >&2) | tee -a "$OUT"
sleep 1
rss_report after "$SRV" | tee -a "$OUT"
du -sh "$DATA/db" | tee -a "$OUT"
