#!/usr/bin/env bash
# The whole test suite, Python and R: pytest (incl. rpy2/anndata2ri round trips and R-vs-Python
# equality), testthat, the vignette build and R CMD check. Run after scripts/setup.sh (make test does).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export RETICULATE_PYTHON="$ROOT/.venv/bin/python"
export TWINPURIFY_REQUIRE_ENGINE=1 TWINPURIFY_REQUIRE_R=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
status=0
step() { printf '\n==== %s\n' "$*"; }

step "Python tests (pytest)"
.venv/bin/python -m pytest tests/python -q -p no:cacheprovider || status=1

step "R tests (testthat)"
Rscript -e 'res <- testthat::test_local(".", reporter = "summary", stop_on_failure = FALSE);
            df <- as.data.frame(res); f <- sum(df$failed) + sum(df$error);
            cat(sprintf("\nR: %d passed, %d failed, %d skipped\n", sum(df$nb) - sum(df$failed), f, sum(df$skipped)));
            quit(status = f > 0)' || status=1

step "R CMD build + check (offline, --no-manual; with the engine --no-tests: testthat ran above)"
CHECK=$(mktemp -d)
( cd "$CHECK"
  mkdir -p repo/src/contrib && : > repo/src/contrib/PACKAGES
  echo "options(repos = c(CRAN = 'file://$CHECK/repo'))" > Rprofile
  export R_PROFILE_USER="$CHECK/Rprofile" _R_CHECK_CRAN_INCOMING_=false _R_CHECK_SYSTEM_CLOCK_=false \
         _R_CHECK_FORCE_SUGGESTS_=false
  R CMD build "$ROOT" >build.log 2>&1 || { cat build.log; exit 1; }
  # the engine travels in the tarball (inst/python/twinpurify links to python/twinpurify; build copies it)
  # (the listing goes to a file first: with pipefail, grep -q closing the pipe early would fail tar)
  tar tzf twinpurify_*.tar.gz > contents.txt
  grep -q "^twinpurify/inst/python/twinpurify/_rbridge.py$" contents.txt \
    || { echo "the tarball does not carry the engine (inst/python/twinpurify)"; exit 1; }
  checked() {  # label, then R CMD check's arguments; passes on Status OK or NOTEs only
    R CMD check --no-manual -o "$CHECK/$1" "${@:2}" twinpurify_*.tar.gz >"$1.log" 2>&1 || true
    grep -E "^\* checking .*(NOTE|WARNING|ERROR)" -A8 "$1.log" || true
    echo "[$1] $(grep "^Status:" "$1.log" || echo "no status")"
    grep -q "^Status: OK\|^Status: [0-9]* NOTE" "$1.log" || { tail -60 "$CHECK/$1/twinpurify.Rcheck/00check.log"; return 1; }
  }
  mkdir -p with-engine without-engine
  checked with-engine --no-tests
  # A machine without the engine: Debian's bare python3, no set-up environment; examples, tests and
  # the vignette must skip with a message rather than fail.
  env -u TWINPURIFY_REQUIRE_ENGINE -u TWINPURIFY_REQUIRE_R -u CI -u PYTHONPATH \
      RETICULATE_PYTHON=/usr/bin/python3 R_USER_DATA_DIR="$CHECK/no-user-data" \
      bash -c "$(declare -f checked); CHECK='$CHECK'; checked without-engine"
  if Rscript -e 'quit(status = !requireNamespace("BiocCheck", quietly = TRUE))' >/dev/null 2>&1; then
    bash "$ROOT/scripts/bioccheck.sh" twinpurify_*.tar.gz
  else
    echo "BiocCheck not installed (apt-get install r-bioc-bioccheck): skipped"
  fi
) || status=1
rm -rf "$CHECK"

step "summary"
if [ "$status" = 0 ]; then echo "all test stages passed"; else echo "SOME TEST STAGES FAILED"; fi
exit $status
