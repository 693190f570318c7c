# Writes python/twinpurify/data/progeny_human_top100.tsv, the offline default pathway resource.
# Source: the PROGENy model shipped in Debian's r-bioc-progeny (Bioconductor progeny 1.20.0,
# Schubert et al. 2018, Nat Commun 9:20; Apache License 2.0). The same selection as
# progeny::getModel("Human", top = 100): per pathway, the 100 genes with the smallest p-value.
#   Rscript scripts/make_progeny.R   (needs r-bioc-progeny; run by hand, output committed)
data("model_human_full", package = "progeny")
m <- model_human_full
m <- m[order(m$pathway, m$p.value, m$gene), ]
top <- do.call(rbind, lapply(split(m, m$pathway, drop = TRUE), function(d) d[seq_len(min(100, nrow(d))), ]))
out <- data.frame(source = as.character(top$pathway), target = as.character(top$gene),
                  weight = signif(top$weight, 6), p_value = signif(top$p.value, 6))
write.table(out, "python/twinpurify/data/progeny_human_top100.tsv", sep = "\t", quote = FALSE, row.names = FALSE)
cat("wrote", nrow(out), "rows,", length(unique(out$source)), "pathways,", as.character(packageVersion("progeny")), "\n")
