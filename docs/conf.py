"""Sphinx configuration for the skbn documentation."""

import os

# scikit-learn's array API dispatch needs this set before scipy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import sys
from pathlib import Path

import skbn

# gallery_config.py sits beside this file; sphinx-gallery imports from it by name.
sys.path.insert(0, str(Path(__file__).parent))

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
    "sphinx_gallery.gen_gallery",
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
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "within_subsection_order": "gallery_config.StoryOrder",
    "image_scrapers": ("gallery_config.labelled_matplotlib_scraper",),
    "doc_module": ("skbn",),
    "backreferences_dir": "generated/backreferences",
    # A failing example fails the build, and the build fails on the first one.
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "min_reported_time": 1,
    "remove_config_comments": True,
}
