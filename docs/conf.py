"""Sphinx configuration: the API reference, built offline from the docstrings (`make docs`)."""

import os
import sys

sys.path.insert(0, os.path.abspath("../python"))

from twinpurify import __version__  # noqa: E402

project = "TwinPurify"
author = "TwinPurify developers"
release = version = __version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.napoleon"]
autosummary_generate = True
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    "show-inheritance": False,
    # scikit-learn's generated metadata-routing methods: documented by scikit-learn, not here
    "exclude-members": "set_fit_request,set_transform_request,set_output,get_metadata_routing",
}
autodoc_typehints = "description"
autodoc_mock_imports = ["decoupler", "anndata"]
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = []
nitpicky = False
suppress_warnings = ["autosummary.import_cycle"]
