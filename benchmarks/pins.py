"""The settings a committed benchmark table measured, so that a later change of defaults does not change it.

The speed, out-of-core and step-cost tables were measured with the defaults to round 5 (log-profile input,
128 dimensions, views mixing up to half normal tissue, no last mixing step); their scripts build that network.
Every TwinPurify variant defined before round 7 in the frontier, cohort, nonlinear-probe and sweep scripts
runs with `ROUND6` (views mixing up to half normal tissue, no last mixing step) under its encoder input, and
every variant of rounds 8-11 (and the rows named after the round-7 defaults) with `ROUND7` (one network, views
mixing up to 70% normal tissue, the last step dropping 2 of 18 dimensions) under its own settings. All before
round 11 trained one network (`n_networks` became 3 then).
"""

ROUND6 = dict(beta_max=0.5, drop_mixing_dims=0, n_networks=1)
ROUND5 = dict(n_components=128, encoder_input="log", **ROUND6)
ROUND7 = dict(beta_max=0.7, drop_mixing_dims=2, n_networks=1, encoder_input="pca", n_components=16)
