"""Sphinx configuration for the skbn documentation."""

import skbn

project = "skbn"
author = "The skbn developers"
copyright = "2026, The skbn developers"
release = skbn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]

autosummary_generate = True
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# The build machines reach no inventories, so links to scikit-learn and numpy stay
# plain text rather than failing the build.
nitpicky = False

templates_path = ["_templates"]
exclude_patterns = ["_build"]
html_theme = "pydata_sphinx_theme"
html_title = "skbn"
