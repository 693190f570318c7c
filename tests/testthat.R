library(testthat)
library(twinpurify)

test_check("twinpurify")
