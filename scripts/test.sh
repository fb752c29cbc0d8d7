#!/usr/bin/env bash
# The whole check, as CI runs it (.ci/run): installs what is missing, checks
# the C++ formatting, builds twice (build/ normal, build-asan/ with
# AddressSanitizer + UBSan) and runs the meson test suite in both.
#
# The last line is "N passed, N failed": every meson test result of both
# builds, plus the format check, plus one failure for a build that broke.
# Exits non-zero if anything failed.
#
# HAPM_ASAN_SKIP="name ..." leaves those meson tests out of the ASan run.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib/common.sh"
require_root

"$HAPM_ROOT/scripts/install-deps.sh" || die "installing dependencies failed"

passed=0
failed=0
skipped=0
failures=()
t_start=$SECONDS

record() { # record NAME OK(0|1)
  if (($2 == 0)); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$1")
  fi
}

elapsed() { printf '%dm%02ds' $(((SECONDS - t_start) / 60)) $(((SECONDS - t_start) % 60)); }

check_format() {
  say "clang-format --dry-run --Werror ($(elapsed))"
  local -a files
  mapfile -d '' files < <(find "$HAPM_ROOT" \( -path "$HAPM_ROOT/build*" -o -path "$HAPM_ROOT/.git" \
    -o -path "$HAPM_ROOT/subprojects" \) -prune -o \( -name '*.cc' -o -name '*.h' \) -print0 | sort -z)
  if ((${#files[@]} == 0)); then
    record "clang-format (no C++ files found)" 1
  else
    # One file at a time, so the log names each offender once instead of
    # printing every violation.
    local f bad=0
    for f in "${files[@]}"; do
      if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "needs formatting: ${f#"$HAPM_ROOT"/}"
        bad=$((bad + 1))
      fi
    done
    if ((bad == 0)); then
      echo "${#files[@]} files formatted correctly"
      record clang-format 0
    else
      echo "$bad of ${#files[@]} files need formatting: run clang-format -i on them"
      record "clang-format ($bad files)" 1
    fi
  fi
}

# Counts the results meson wrote for the last `meson test` in DIR.
count_results() { # count_results DIR -> "PASSED FAILED SKIPPED NAMES_OF_FAILED"
  python3 - "$1/meson-logs/testlog.json" <<'EOF'
import json, sys
ok, bad, skipped, names = 0, 0, 0, []
try:
    with open(sys.argv[1]) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            if r.get("result") in ("OK", "EXPECTEDFAIL"):
                ok += 1
            elif r.get("result") == "SKIP":
                skipped += 1
            else:
                bad += 1
                names.append(r.get("name", "?"))
except FileNotFoundError:
    pass
print(ok, bad, skipped, ",".join(names))
EOF
}

# build_and_test LABEL DIR BUILD_ARGS... : builds, runs meson test, records.
build_and_test() {
  local label="$1" dir="$2"
  shift 2
  say "Building $label ($(elapsed))"
  if ! "$HAPM_ROOT/scripts/build.sh" "$@"; then
    record "$label build" 1
    return
  fi

  local -a tests=() skip=()
  [[ "$label" == asan ]] && read -r -a skip <<<"${HAPM_ASAN_SKIP:-}"
  local name
  while read -r name; do
    [[ -n "$name" ]] || continue
    [[ " ${skip[*]} " == *" $name "* ]] && { echo "skipping $name under ASan (HAPM_ASAN_SKIP)"; continue; }
    tests+=("$name")
  done < <(meson test -C "$dir" --no-rebuild --list 2>/dev/null | grep -E '^[[:alnum:]_./:-]+$')

  say "meson test in ${dir#"$HAPM_ROOT"/}: ${tests[*]} ($(elapsed))"
  rm -f "$dir/meson-logs/testlog.json"
  local rc=0
  meson test -C "$dir" --print-errorlogs "${TEST_ARGS[@]}" "${tests[@]}" || rc=$?

  local p f s names
  read -r p f s names <<<"$(count_results "$dir")"
  skipped=$((skipped + s))
  passed=$((passed + p))
  failed=$((failed + f))
  [[ -n "$names" ]] && failures+=("$label: ${names//,/, }")
  if ((rc != 0 && f == 0)); then
    record "$label: meson test exited $rc" 1
  fi
}

check_format

TEST_ARGS=()
build_and_test normal "$HAPM_ROOT/build"

# Sanitizers: any report fails the test; leaks count.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1:print_summary=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1}"
TEST_ARGS=(--timeout-multiplier 2)
build_and_test asan "$HAPM_ROOT/build-asan" --asan

# A test that died mid-way may leave a mount behind; say so (do not guess at
# whose it is).
if grep -q ' fuse.hapm ' /proc/self/mounts; then
  warn "hapm mounts left behind after the tests:"
  grep ' fuse.hapm ' /proc/self/mounts >&2
fi

echo
say "Finished in $(elapsed)"
for f in "${failures[@]}"; do
  echo "FAILED: $f"
done
((skipped == 0)) || echo "($skipped meson tests skipped themselves; not counted below)"
echo "$passed passed, $failed failed"
((failed == 0))
