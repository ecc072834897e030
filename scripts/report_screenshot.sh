#!/usr/bin/env bash
# Render the report of a real Disaster Tweets run and take a headless-Chromium screenshot
# of it, so a person can look at the page (the PNG is not committed).
#
#   scripts/report_screenshot.sh [OUT_DIR] [MODEL]      (defaults: /tmp/kagglekit-report, tfidf-lr)
#
# Needs ../shared/data/nlp-getting-started (or KAGGLEKIT_DATA pointing at a data root),
# kagglekit with the report extra, and chromium (apt-get install -y chromium).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-/tmp/kagglekit-report}"
MODEL="${2:-tfidf-lr}"
DATA="${KAGGLEKIT_DATA:-$REPO/../shared/data}/nlp-getting-started"
KK="${KAGGLEKIT:-$REPO/.venv/bin/kagglekit}"
CHROMIUM="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome)}"

[ -f "$DATA/train.csv" ] || { echo "no $DATA/train.csv: the real Disaster Tweets files are needed" >&2; exit 2; }
mkdir -p "$OUT"
cd "$OUT"
run_id="$("$KK" cv disaster-tweets --model "$MODEL" --folds 5 --data-dir "$DATA" --runs-dir runs --json \
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')"
report="$("$KK" report "$run_id" --runs-dir runs --output reports)"
echo "report: $OUT/$report" >&2
"$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --no-first-run --hide-scrollbars \
    --window-size=1200,"${HEIGHT:-3000}" --screenshot="$OUT/report.png" "file://$OUT/$report" \
    >/dev/null 2>&1
echo "screenshot: $OUT/report.png" >&2
echo "$OUT/report.png"
