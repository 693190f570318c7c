# S4 generics (scater's pattern: calculateX dispatches on the input type).

#' @rdname calculateTwinPurify
#' @export
setGeneric("calculateTwinPurify", function(x, ...) {
    standardGeneric("calculateTwinPurify")
})

#' @rdname TwinPurifyModel-accessors
#' @export
setGeneric("twinPurifyGenes", function(object) {
    standardGeneric("twinPurifyGenes")
})

#' @rdname TwinPurifyModel-accessors
#' @export
setGeneric("lossHistory", function(object) standardGeneric("lossHistory"))

#' @rdname TwinPurifyModel-accessors
#' @export
setGeneric("twinPurifyParams", function(object) {
    standardGeneric("twinPurifyParams")
})

#' @rdname TwinPurifyModel-accessors
#' @export
setGeneric("twinPurifyEngine", function(object) {
    standardGeneric("twinPurifyEngine")
})
