# The shell tests' checks, sourced after they set $tern and $work:
#   ok NAME / bad NAME        count a passed or failed check and print it
#   expect_error NAME FRAGMENT ARGS...
#                             tern ARGS must exit non-zero with FRAGMENT on stderr
# Each test ends with: echo "$passed passed, $fail failed"; ((fail == 0))
fail=0 passed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
expect_error() {
    local name=$1 want=$2
    shift 2
    if "$tern" "$@" > "$work/out" 2> "$work/err"; then bad "$name: exit status 0"; return; fi
    if grep -qF -- "$want" "$work/err"; then ok "$name"; else bad "$name: stderr lacks '$want':"; cat "$work/err"; fi
}
