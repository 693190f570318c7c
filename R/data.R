#' A small simulated tumor/normal cohort
#'
#' 40 tumors and 8 adjacent normals over 100 genes, made with
#' `simulateTwinPurifyCohort(nTumors = 40, nNormals = 8, nGenes = 100,
#' seed = 1)`. Shipped so that examples and tests of the R side run without
#' the Python engine.
#'
#' @format A `SummarizedExperiment` with a `counts` assay (integer, genes x
#'   samples), `colData` columns `sample_type` ("tumor"/"normal"), `purity`,
#'   `subtype`, `immune_fraction`, `program_1..3`, `os_time`, `os_event` (NA
#'   for normals) and `rowData` column `role`.
#' @return The data set (a `SummarizedExperiment`), loaded with `data()`.
#' @source The engine's simulator, `twinpurify.datasets.simulate_cohort`.
#' @examples
#' data(tpToyCohort)
#' table(tpToyCohort$sample_type)
"tpToyCohort"
