#!/usr/bin/env bash
# Install everything TwinPurify needs on a Debian 12 machine: Debian's R stack, a Python venv in
# ./.venv with the engine (CPU torch unless one is already there) and the R package itself.
# Idempotent: each step is skipped when its stamp says it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
STAMPS="$VENV/.twinpurify-stamps"
say() { printf '[setup] %s\n' "$*"; }

hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

# ---- 1. System packages (R 4.2 and Bioconductor from Debian; CRAN/Bioc mirrors are not reachable)
R_DEBS="r-base-core r-base-dev r-cran-reticulate r-bioc-summarizedexperiment r-bioc-singlecellexperiment
r-bioc-delayedarray r-cran-matrix r-cran-testthat r-cran-knitr r-cran-rmarkdown pandoc r-cran-roxygen2 r-cran-lintr"
need_apt=0
for p in $R_DEBS; do dpkg -s "$p" >/dev/null 2>&1 || { need_apt=1; break; }; done
if [ "$need_apt" = 1 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  say "installing Debian packages (R, reticulate, SummarizedExperiment, SingleCellExperiment, testthat, knitr, pandoc)"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $R_DEBS >/dev/null
else
  say "Debian R packages already installed"
fi

# ---- 2. Python virtual environment
PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PY" -m venv "$VENV"
fi
mkdir -p "$STAMPS"
VPY="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1
py_hash=$(hash_of pyproject.toml scripts/constraints-r-stack.txt scripts/setup.sh)
if [ "$(cat "$STAMPS/python" 2>/dev/null)" != "$py_hash" ]; then
  if ! "$VPY" -c "import torch" >/dev/null 2>&1; then
    # The CPU wheel: a looser spec pulls GBs of CUDA packages. GPU users: install a CUDA torch into
    # the venv first (or set TWINPURIFY_TORCH to the spec you want); it is then left alone.
    say "installing ${TWINPURIFY_TORCH:-torch==2.13.0}"
    "$VPY" -m pip install -q "${TWINPURIFY_TORCH:-torch==2.13.0}" 2>&1 | grep -v "is ignored" || true
    "$VPY" -c "import torch" || { echo "[setup] torch did not install" >&2; exit 1; }
  fi
  say "installing twinpurify (editable) with anndata, parquet, benchmark, R-bridge and test extras"
  "$VPY" -m pip install -q -c scripts/constraints-r-stack.txt -e ".[anndata,parquet,bench,pathways,r,test]" 2>&1 \
    | grep -v "is ignored" || true
  "$VPY" -c "import twinpurify, torch, numpy, anndata, rpy2; print('[setup] python ok: torch', torch.__version__, 'numpy', numpy.__version__)"
  echo "$py_hash" > "$STAMPS/python"
else
  say "Python environment up to date"
fi

# ---- 3. The R package, installed into R's site library
r_hash=$(hash_of DESCRIPTION NAMESPACE R/*.R)
if [ "$(cat "$STAMPS/rpkg" 2>/dev/null)" != "$r_hash" ] || ! Rscript -e 'quit(status = !requireNamespace("twinpurify", quietly = TRUE))' >/dev/null 2>&1; then
  say "installing the R package twinpurify"
  R CMD INSTALL --no-test-load . >/tmp/twinpurify-rinstall.log 2>&1 || { cat /tmp/twinpurify-rinstall.log; exit 1; }
  echo "$r_hash" > "$STAMPS/rpkg"
else
  say "R package up to date"
fi
say "done. Python: $VPY  (R finds it through RETICULATE_PYTHON=$VPY)"
