#!/usr/bin/env bash
# The main job: CV two models, fit a third, submit the best, on Disaster Tweets.
# Uses real data when kagglekit finds it (--data-dir / $KAGGLEKIT_DATA / ./input /
# /kaggle/input), else downloads it when Kaggle credentials are present, else a
# small generated sample in the competition's exact schema.
set -euo pipefail
COMP="${COMP:-disaster-tweets}"
RUNS="${RUNS:-runs}"
SRC=()
if kagglekit data "$COMP" >/dev/null 2>&1; then
  echo "== real data found"
elif kagglekit --help | grep -q ' fetch ' && kagglekit fetch "$COMP" 2>/dev/null; then
  echo "== fetched the real data"
else
  echo "== no real data or Kaggle credentials: using a generated sample (--sample)"
  SRC=(--sample)
fi
kagglekit cv "$COMP" --model tfidf-lr --model nbsvm --folds 5 --seed 42 --runs-dir "$RUNS" "${SRC[@]}"
best_json=$(kagglekit cv "$COMP" --model tfidf-nb --folds 5 --seed 42 --runs-dir "$RUNS" "${SRC[@]}" --json)
nb_run=$(python -c 'import json,sys; print(json.load(sys.stdin)["run_id"])' <<<"$best_json")
kagglekit fit "$COMP" --model tfidf-nb --from "$nb_run" --runs-dir "$RUNS" "${SRC[@]}"
kagglekit runs "$COMP" --runs-dir "$RUNS"
kagglekit submit --competition "$COMP" --runs-dir "$RUNS"
