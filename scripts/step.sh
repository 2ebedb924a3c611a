#!/usr/bin/env bash
# One long step of `make setup` / `make run`, told briefly: its whole output goes to a log file, the
# terminal gets a few progress lines; if it fails, the end of its log (the error, whole) and its exit code.
#
#   scripts/step.sh LOG SHOW -- COMMAND [ARG...]
#
# SHOW says what to make of the output:
#   pip:N    pip install of N requirements: "resolved k/N", "installing", build-from-source notices
#   rasa     rasa train: one line per component trained, its epochs in quarters (in place on a terminal)
#   results  only the lines that say what came out ("up to date: ...", "trained ... in ...")
# RUN_VERBOSE=1 shows the whole output as well (and still writes the log).
set -uo pipefail
[ "$#" -ge 4 ] && [ "$3" = "--" ] || { echo "usage: scripts/step.sh LOG pip:N|rasa|results -- COMMAND..." >&2; exit 2; }
log="$1" show="$2"
shift 3
(umask 077 && mkdir -p "$(dirname "$log")")
short_log="${log#"$PWD"/}"
tty=0; [ -t 1 ] && tty=1
start=$(date +%s)

# The filters only print, reading all there is; and should one ever fail, `tee -p` carries on, so the
# command never meets a broken pipe and its log stays whole.
# Portable awk (mawk or gawk): no RT, no time functions, no {n} in regular expressions.
read -r -d '' common <<'AWK'
function clean(s) { gsub(ansi, "", s); gsub(charset, "", s); return s }
# On a terminal a progress line is rewritten in place, and the next line said takes its place.
function say(s) { if (open) { printf "\r\033[K"; open = 0 }; print "    " s; fflush() }
function live(s) { if (tty) { printf "\r\033[K    %s", s; open = 1; fflush() } }
function done_line() { if (open) { printf "\n"; open = 0; fflush() } }
# Errors are worth seeing as they happen, not only at the end of a failed step.
function error_line(s) {
  return s ~ /^ERROR:/ || s ~ /^[0-9][0-9-]* [0-9:,.]+ +(ERROR|CRITICAL) /
}
BEGIN { esc = sprintf("%c", 27); ansi = esc "\\[[0-9;?]*[A-Za-z]"; charset = esc "[()][0B]"; RS = "[\r\n]" }
AWK
read -r -d '' pip_awk <<'AWK'
{ line = clean($0) }
error_line(line) { say(line); next }
/^(Collecting|Processing|Requirement already satisfied)/ {
  n++
  if (tty) live("resolved " n "/" total " packages")
  else if (total > 0 && int(4 * n / total) > q) { q = int(4 * n / total); say("resolved " n "/" total " packages") }
  next
}
/^ *Building wheel for / { split(line, w, " "); say("building " w[4] " from source ..."); next }
/^Installing collected packages/ { done_line(); say("installing " n " packages ..."); next }
END { done_line() }
AWK
read -r -d '' rasa_awk <<'AWK'
function now(   t) { "date +%s" | getline t; close("date +%s"); return t + 0 }
function took(s) { return s < 60 ? s " s" : int(s / 60) " min " (s % 60) " s" }
{ line = clean($0) }
error_line(line) { say(line); next }
/Starting to train component '/ {
  split(line, p, "'"); comp = p[2]; k++; t0 = now(); q = 0
  live("[" k "] " comp " ..."); next
}
/^ *Epochs: / && match(line, /[0-9]+\/[0-9]+ \[/) {
  split(substr(line, RSTART, RLENGTH - 2), e, "/")
  # what tqdm says the epochs took so far: "[01:23<..." (the bracket after e/E)
  el = substr(line, RSTART + RLENGTH); sub(/[<,\]].*/, "", el)
  if (tty) live("[" k "] " comp ": epoch " e[1] "/" e[2] " (" el " so far)")
  else if (e[2] > 0 && int(4 * e[1] / e[2]) > q && e[1] < e[2]) { q = int(4 * e[1] / e[2]); say("[" k "] " comp ": epoch " e[1] "/" e[2] " (" el " so far)") }
  next
}
/Finished training component '/ {
  split(line, p, "'"); say("[" k "] " p[2] " trained in " took(now() - t0)); next
}
/Restored component '/ { split(line, p, "'"); restored++; live("restored " p[2] " from Rasa's training cache"); next }
/(UserWarning|MissingArgumentWarning): / { if (!warned++) { first = line; sub(/^.*Warning: /, "", first) }; next }
END {
  done_line()
  if (restored) print "    " restored " component(s) unchanged since an earlier training: taken from Rasa's cache (.rasa/cache)"
  if (warned) {
    if (length(first) > 90) first = substr(first, 1, 87) "..."
    print "    Rasa warned " warned " time(s) about the bot's data or config, e.g. \"" first "\" (all in " logname ")"
  }
}
AWK
read -r -d '' results_awk <<'AWK'
{ line = clean($0) }
error_line(line) || /^(up to date|trained )/ { say(line) }
AWK

case "$show" in
  pip:*) prog="$common"$'\n'"$pip_awk"; total="${show#pip:}" ;;
  rasa) prog="$common"$'\n'"$rasa_awk"; total=0 ;;
  results) prog="$common"$'\n'"$results_awk"; total=0 ;;
  *) echo "step.sh: unknown SHOW '$show'" >&2; exit 2 ;;
esac
if [ "${RUN_VERBOSE:-0}" = 1 ]; then
  "$@" 2>&1 | tee -p "$log"
else
  "$@" 2>&1 | tee -p "$log" | awk -v tty="$tty" -v total="$total" -v logname="$short_log" "$prog"
fi
status=("${PIPESTATUS[@]}")
rc="${status[0]}"
took=$(( $(date +%s) - start ))
if [ "$rc" != 0 ]; then
  # The error, whole: from the first traceback near the end of the log, else its last 40 lines.
  {
    echo "FAILED (exit code $rc) after ${took} s: $*"
    echo "---- the end of $short_log ----"
    # a line as a terminal would have left it: the last of its carriage-return rewrites (progress bars)
    awk '{ n = split($0, seg, "\r"); s = seg[n]; if (s == "" && n > 1) s = seg[n - 1]; print s }' "$log" \
      | tail -n 300 | awk '
      { l[NR] = $0 } /^Traceback \(most recent call last\)/ && !from { from = NR }
      END { if (!from) from = (NR > 40 ? NR - 39 : 1); for (i = from; i <= NR; i++) print l[i] }'
    echo "---- (the whole output: $short_log) ----"
  } >&2
  exit "$rc"
fi
if [ "${status[2]:-0}" != 0 ]; then
  echo "    (the progress filter failed: see $short_log for the whole output)" >&2
fi
# A step that had nothing to do (up to date) needs no closing line.
if [ "$took" -ge 3 ]; then
  echo "    done in $([ "$took" -lt 60 ] && echo "$took s" || echo "$(( took / 60 )) min $(( took % 60 )) s") (log: $short_log)"
fi
