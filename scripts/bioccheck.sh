#!/usr/bin/env bash
# BiocCheck (new-package mode) of a built tarball, offline: Bioconductor's and CRAN's web services are
# unreachable here, so the checks that only query them (deprecated packages, CRAN name clash, support
# site) are turned off and BiocManager reads a local copy of the version map. Fails on any ERROR or
# WARNING. Usage: scripts/bioccheck.sh twinpurify_X.tar.gz
set -euo pipefail
TARBALL=$(realpath "$1")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/repo/src/contrib" && : > "$WORK/repo/src/contrib/PACKAGES"
cat > "$WORK/config.yaml" <<'YAML'
release_version: "3.16"
devel_version: "3.17"
r_ver_for_bioc_ver:
  "3.15": "4.2"
  "3.16": "4.2"
  "3.17": "4.3"
YAML
cat > "$WORK/Rprofile" <<RPROF
options(repos = c(CRAN = "file://$WORK/repo"), BIOCONDUCTOR_CONFIG_FILE = "file://$WORK/config.yaml")
RPROF
cd "$WORK"
R_PROFILE_USER="$WORK/Rprofile" Rscript -e 'BiocCheck::BiocCheck(commandArgs(TRUE)[1], `new-package` = TRUE,
    `no-check-deprecated` = TRUE, `no-check-CRAN` = TRUE, `no-check-bioc-help` = TRUE)' "$TARBALL" \
  > bioccheck.log 2>&1 || true
grep -v "^Warning in \|URL '\|cannot open URL\|closing unused" bioccheck.log | grep -E "ERROR|WARNING|NOTE" -A2 || true
summary=$(grep -E "^[0-9]+ ERRORS? \| [0-9]+ WARNINGS? \| [0-9]+ NOTES?" bioccheck.log || true)
echo "BiocCheck: ${summary:-no summary (see below)}"
[ -n "$summary" ] || { tail -30 bioccheck.log; exit 1; }
case "$summary" in "0 ERRORS | 0 WARNINGS"*) exit 0 ;; *) exit 1 ;; esac
