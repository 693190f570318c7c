#' twinpurify: tumor-intrinsic embeddings of bulk transcriptomes
#'
#' An R interface (over reticulate) to the TwinPurify Python engine: Barlow
#' Twins embeddings of bulk tumor profiles that are invariant to mixing in the
#' cohort's own adjacent-normal tissue. Start with [twinPurify()]; see
#' `vignette("twinpurify")` and [twinpurifyPython()] for set-up.
#'
#' @keywords internal
#' @importFrom methods is new as setClass setMethod show
#' @importFrom stats predict
#' @importFrom SingleCellExperiment SingleCellExperiment reducedDim
#' @importFrom SummarizedExperiment SummarizedExperiment
"_PACKAGE"
