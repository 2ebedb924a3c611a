#!/usr/bin/env bash
# Train the Rasa model only when its data or config changed (content hash), with a cache outside the
# clone (MODEL_CACHE_DIR) so a fresh checkout of the same data does not train again.
set -euo pipefail
cd "$(dirname "$0")/.."
hash="$(scripts/model_hash.sh)"
cache="${MODEL_CACHE_DIR:-$HOME/.cache/resident-service-assistant/models}"
mkdir -p models "$cache"
model="models/$hash.tar.gz"
# The spaCy pipeline is loaded from its path at run time too, so it must exist even on a cache hit.
if grep -q "build/spacy_zh" config.yml && [ ! -f build/spacy_zh/.hash-"$hash" ]; then
  PYTHONPATH=. .venv-bot/bin/python bot/build_spacy_model.py
  touch build/spacy_zh/.hash-"$hash"
fi
if [ -s "$model" ]; then
  echo "model $hash is up to date"
elif [ -s "$cache/$hash.tar.gz" ]; then
  cp "$cache/$hash.tar.gz" "$model"
  echo "model $hash taken from the cache ($cache)"
else
  echo "training model $hash (data or config changed) ..."
  start=$(date +%s)
  PYTHONPATH=. .venv-bot/bin/rasa train --config config.yml --domain bot/domain --data nlu_data bot/data \
    --out models --fixed-model-name "$hash" --quiet
  echo "trained in $(( $(date +%s) - start )) s"
  cp "$model" "$cache/$hash.tar.gz.tmp" && mv "$cache/$hash.tar.gz.tmp" "$cache/$hash.tar.gz"
fi
# Older models of this checkout are not needed any more.
find models -maxdepth 1 -name '*.tar.gz' ! -name "$hash.tar.gz" -delete
ln -sfn "$hash.tar.gz" models/current.tar.gz
