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

step "R CMD build + check (offline, --no-manual, --no-tests: testthat ran above; builds the vignette)"
CHECK=$(mktemp -d)
( cd "$CHECK"
  mkdir -p repo/src/contrib && : > repo/src/contrib/PACKAGES
  echo "options(repos = c(CRAN = 'file://$CHECK/repo'))" > Rprofile
  export R_PROFILE_USER="$CHECK/Rprofile" _R_CHECK_CRAN_INCOMING_=false _R_CHECK_SYSTEM_CLOCK_=false \
         _R_CHECK_FORCE_SUGGESTS_=false
  R CMD build "$ROOT" >build.log 2>&1 || { cat build.log; exit 1; }
  R CMD check --no-manual --no-tests twinpurify_*.tar.gz >check.log 2>&1 || true
  grep -E "^\* checking .*(NOTE|WARNING|ERROR)" -A8 check.log || true
  tail -n 6 check.log
  grep -q "^Status: OK\|^Status: [0-9]* NOTE" check.log || { cat twinpurify.Rcheck/00check.log | tail -60; exit 1; }
) || status=1
rm -rf "$CHECK"

step "summary"
if [ "$status" = 0 ]; then echo "all test stages passed"; else echo "SOME TEST STAGES FAILED"; fi
exit $status
