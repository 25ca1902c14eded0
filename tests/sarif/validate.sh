#!/bin/sh
# validate.sh: render the sample SARIF log and check it with Microsoft's SARIF
# validator (@microsoft/sarif-multitool-linux). Fails on any error the
# validator reports, and on any warning not in ALLOWED_WARNINGS. Without the
# validator it fails, naming it: a machine without the validator cannot pass
# (nor skip) silently.
#
# usage: validate.sh WRITER OUTDIR VALIDATOR-CANDIDATE...
set -u

# SARIF2005 asks for tool.driver.informationUri; the project has no public
# URL yet (docs/formats.md).
ALLOWED_WARNINGS="SARIF2005"

writer=$1
outdir=$2
shift 2

validator=${SARIF_MULTITOOL:-}
if [ -z "$validator" ]; then
  for candidate in "$@"; do
    if [ -x "$candidate" ]; then
      validator=$candidate
      break
    fi
  done
fi
if [ -z "$validator" ] || [ ! -x "$validator" ]; then
  echo "FAIL: the SARIF validator sarif-multitool-linux is not installed (looked in: $*); scripts/setup.sh installs it with npm" >&2
  exit 1
fi

mkdir -p "$outdir" || exit 1
log=$outdir/sample.sarif
merged=$outdir/merged.sarif
"$writer" "$log" "$merged" || { echo "FAIL: $writer could not write $log" >&2; exit 1; }
# More logs to check (real CLI output from tests/cli), space-separated.
logs="$log $merged ${SARIF_EXTRA_LOGS:-}"

# The npm wrapper runs the tool through a shell: keep arguments free of
# spaces and shell syntax.
run_validator() { # file [options] -> prints the validator's report, returns its status
  file=$1
  shift
  "$validator" validate "$file" "$@" 2>&1
}

# The validator exits 0 even when it finds errors, and says nothing about a
# file it could not analyse; make sure it does find an error we plant.
bad=$outdir/known-bad.sarif
printf '%s\n' '{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"ruleId":"r"}]}]}' >"$bad"
if ! run_validator "$bad" | grep -q ': error '; then
  echo "FAIL: the validator did not report the planted error in $bad; is it working?" >&2
  run_validator "$bad" >&2
  exit 1
fi

# Two passes: the SARIF rules (schema and spec), then GitHub's ingestion
# rules (every result located, ...), since CI uploads these logs to GitHub.
fail=0
for log in $logs; do
for kinds in Sarif Gh; do
  report=$(run_validator "$log" --rule-kind $kinds)
  status=$?
  echo "== validator, rule kind $kinds: $log"
  printf '%s\n' "$report"
  if [ $status -ne 0 ]; then
    echo "FAIL: validator exited with $status" >&2
    fail=1
    continue
  fi
  if ! printf '%s\n' "$report" | grep -q 'Analysis completed successfully'; then
    echo "FAIL: the validator did not complete its analysis" >&2
    fail=1
    continue
  fi
  errors=$(printf '%s\n' "$report" | grep -c ': error ')
  warnings=$(printf '%s\n' "$report" | grep ': warning ' |
    grep -v -E "warning ($(echo "$ALLOWED_WARNINGS" | tr ' ' '|'))[: ]" | wc -l)
  if [ "$errors" -ne 0 ] || [ "$warnings" -ne 0 ]; then
    echo "FAIL: $errors error(s), $warnings warning(s) not allowed ($kinds rules) in $log" >&2
    fail=1
  fi
done
done
[ $fail -eq 0 ] || exit 1
echo "OK: $logs validate (Sarif and Gh rules: 0 errors, no warnings beyond: $ALLOWED_WARNINGS)"
