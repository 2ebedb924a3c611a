#!/usr/bin/env bash
# Content hash of everything the Rasa model is trained from: retrain only when this changes.
# bot/runtime/ (how the model is served, not what it is trained from) is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  find config.yml bot nlu_data data/shenzhen_divisions.csv router/data/landmarks.csv \
       router/domain/normalise.py requirements/bot.lock \
       -type f \( -name '*.yml' -o -name '*.yaml' -o -name '*.py' -o -name '*.csv' -o -name '*.txt' \
                  -o -name '*.json' -o -name '*.lock' \) 2>/dev/null \
    | grep -v -e __pycache__ -e '^bot/runtime/' | LC_ALL=C sort | xargs sha256sum
} | sha256sum | cut -c1-16
