#!/usr/bin/env bash
# Interrupted work leaves nothing half-written: tern gen-model killed (SIGKILL,
# SIGINT, SIGTERM) at random moments never leaves a partial model at its path
# (the file is either absent or complete and loads), and a rerun writes it;
# tern run and tern bench interrupted by SIGINT leave no files behind; tern-tune
# killed at random moments always leaves a database that --resume reads.
#   kill_test.sh <tern> <work dir> [<tern-tune>]
set -euo pipefail
tern=$1 work=$2 tune=${3:-}
# A script's background jobs start with SIGINT ignored; env restores the default
# so that SIGINT reaches tern as it would from a terminal.
bg() { exec env --default-signal=INT,TERM "$@"; }
rm -rf "$work" && mkdir -p "$work"
source "$(dirname "$0")/check_helpers.sh"

# A model that takes about a second to write, so that kills land mid-way.
gen=(gen-model --n-embd 1024 --n-head 8 --n-head-kv 2 --n-ff 2816 --n-layer 24 --seed 9)
RANDOM=7
for i in $(seq 12); do
    out=$work/model_$i.gguf
    signal=$(((i % 3 == 0)) && echo KILL || ( ((i % 3 == 1)) && echo INT || echo TERM))
    bg "$tern" "${gen[@]}" -o "$out" > /dev/null 2>&1 &
    pid=$!
    sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
    kill -"$signal" "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
    if [[ -e $out ]]; then
        "$tern" info -m "$out" > /dev/null 2>&1 || { bad "killed with SIG$signal: $out is partial"; continue; }
    fi
    ok "gen-model killed with SIG$signal at a random moment: no partial file"
done
"$tern" "${gen[@]}" -o "$work/model_1.gguf" > /dev/null 2>&1 && "$tern" info -m "$work/model_1.gguf" > /dev/null 2>&1 &&
    ok "a rerun writes the model" || bad "a rerun writes the model"

model=$work/model_1.gguf
for command in "run -p Hello -n 4000 -c 4096 --ignore-eos" "bench -p 64 -n 2048 -r 100"; do
    # Run from the work directory, so that anything it leaves behind lands there.
    before=$(find "$work" -newer "$model" 2> /dev/null | sort)
    # shellcheck disable=SC2086
    (cd "$work" && bg "$tern" $command -m "$model" -t 1 > /dev/null 2>&1) &
    pid=$!
    sleep 2
    kill -INT "$pid"
    if wait "$pid"; then status=0; else status=$?; fi
    after=$(find "$work" -newer "$model" 2> /dev/null | sort)
    name=${command%% *}
    # 130: ended by SIGINT (not by finishing or by an error of its own).
    [[ $status -eq 130 && "$before" == "$after" ]] && ok "tern $name interrupted: stopped, no files left" ||
        { bad "tern $name interrupted (status $status)"; diff <(echo "$before") <(echo "$after") || true; }
done

# tern-tune writes its database after each kernel (to a temporary, renamed
# over it): killed at any moment, the database is absent or whole, and the next
# --resume run reads it (a partial file would be an error naming its line).
if [[ -n $tune ]]; then
    db=$work/tuned.yaml
    tune_args=(--shapes 256x128,512x96,256x256 --ops gemv --threads 1 --stream-mib 8 --out "$db")
    for i in $(seq 6); do
        signal=$(((i % 3 == 0)) && echo KILL || ( ((i % 3 == 1)) && echo INT || echo TERM))
        resume=()
        [[ -e $db ]] && resume=(--resume)
        bg "$tune" "${tune_args[@]}" "${resume[@]}" --budget 6s > "$work/tune_$i.log" 2>&1 &
        pid=$!
        sleep "$((RANDOM % 3)).$((RANDOM % 10))"
        kill -"$signal" "$pid" 2> /dev/null || true
        if wait "$pid" 2> /dev/null; then status=0; else status=$?; fi
        if grep -q "error" "$work/tune_$i.log"; then
            bad "tern-tune killed with SIG$signal: $(grep -m1 error "$work/tune_$i.log")"
        else
            ok "tern-tune killed with SIG$signal at a random moment (status $status): database whole"
        fi
    done
    if "$tune" "${tune_args[@]}" --resume --budget 3s > "$work/tune_last.log" 2>&1 &&
        [[ $(grep -c "op: gemv" "$db") -eq 3 ]]; then
        ok "tern-tune --resume finishes the database"
    else
        bad "tern-tune --resume finishes the database"
        cat "$work/tune_last.log"
    fi
fi

echo "$passed passed, $fail failed"
((fail == 0))
