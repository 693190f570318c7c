#' twinpurify: tumor-intrinsic embeddings of bulk transcriptomes
#'
#' An R interface (over reticulate) to the TwinPurify Python engine: Barlow
#' Twins embeddings of bulk tumor profiles that are invariant to mixing in the
#' cohort's own adjacent-normal tissue. Set the engine up once with
#' [installTwinPurify()], then start with [twinPurify()]; see
#' `vignette("twinpurify")` and [twinpurifyPython()].
#'
#' @return The package's help page (no value).
#' @keywords internal
#' @importFrom methods is new as setClass setGeneric setMethod setValidity
#'   show
#' @importFrom stats predict
#' @importFrom SingleCellExperiment SingleCellExperiment reducedDim
#' @importFrom SummarizedExperiment SummarizedExperiment
"_PACKAGE"
