test_that("torch inside R uses its own BLAS: same products as a plain Python process", {
    skip_if_no_engine()
    twinpurifyAvailable()
    code <- paste("import torch, numpy as np",
                  "g = torch.Generator().manual_seed(0)",
                  "a = torch.randn(200, 333, generator=g); b = torch.randn(333, 77, generator=g)",
                  "res = (a @ b).numpy().astype(np.float64)", sep = "\n")
    in_r <- reticulate::py_to_r(reticulate::py_run_string(code, convert = FALSE)$res)
    out <- tempfile(fileext = ".npy")
    script <- tempfile(fileext = ".py")
    writeLines(c(code, sprintf("np.save(%s, res)", deparse(out))), script)
    # A Python started from R inherits R's LD_LIBRARY_PATH; clear it (see SETUP notes).
    status <- system2(reticulate::py_config()$python, script, env = "LD_LIBRARY_PATH=")
    expect_equal(status, 0)
    np <- reticulate::import("numpy")
    expect_identical(in_r, np$load(out))
})
