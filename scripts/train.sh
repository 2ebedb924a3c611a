#!/usr/bin/env bash
# Train the Rasa model only when its data or config changed (content hash), with a cache outside the
# clone (MODEL_CACHE_DIR) so a fresh checkout of the same data does not train again.
# STEP (from the Makefile, e.g. "[3/5]") numbers its line among the steps of `make setup` / `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh  # VAR_DIR (the training log), RASA_TELEMETRY_ENABLED=false (no banner, no reports)
say() { echo "==> ${STEP:+$STEP }Rasa model: $*"; }
hash="$(scripts/model_hash.sh)"
cache="${MODEL_CACHE_DIR:-$HOME/.cache/resident-service-assistant/models}"
mkdir -p models "$cache"
model="models/$hash.tar.gz"
log="$VAR_DIR/log/setup/rasa-train.log"
# The spaCy pipeline is loaded from its path at run time too, so it must exist even on a cache hit.
if grep -q "build/spacy_zh" config.yml && [ ! -f build/spacy_zh/.hash-"$hash" ]; then
  say "building its spaCy pipeline (build/spacy_zh)"
  scripts/step.sh "$VAR_DIR/log/setup/spacy.log" results -- env PYTHONPATH=. .venv-bot/bin/python bot/build_spacy_model.py
  touch build/spacy_zh/.hash-"$hash"
fi
if [ -s "$model" ]; then
  say "up to date ($model)"
elif [ -s "$cache/$hash.tar.gz" ]; then
  cp "$cache/$hash.tar.gz" "$model"
  say "taken from the cache ($cache/$hash.tar.gz)"
else
  say "training $hash (its data or config changed) — about 12 min on a 2-core machine"
  # Rasa's own log level (INFO) names each component as it trains and draws the epochs; step.sh keeps
  # that to a line per component and writes the whole of it to the log.
  scripts/step.sh "$log" rasa -- env PYTHONPATH=. .venv-bot/bin/rasa train --config config.yml \
    --domain bot/domain --data nlu_data bot/data --out models --fixed-model-name "$hash"
  cp "$model" "$cache/$hash.tar.gz.tmp" && mv "$cache/$hash.tar.gz.tmp" "$cache/$hash.tar.gz"
fi
# Older models of this checkout are not needed any more.
find models -maxdepth 1 -name '*.tar.gz' ! -name "$hash.tar.gz" -delete
ln -sfn "$hash.tar.gz" models/current.tar.gz
