"""The settings a committed benchmark table measured, so that a later change of defaults does not change it.

The speed, out-of-core and step-cost tables were measured with the defaults to round 5 (log-profile input,
128 dimensions, views mixing up to half normal tissue, no last mixing step); their scripts build that network.
"""

ROUND5 = dict(n_components=128, encoder_input="log", beta_max=0.5, drop_mixing_dims=0)
