"""How sphinx-gallery orders the examples and checks their figures.

sphinx-gallery imports these by name from ``conf.py``'s settings, which keeps the
settings picklable for Sphinx's environment cache.
"""

from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx_gallery.scrapers import matplotlib_scraper

# The story of the gallery: inputs are standardized and min-max normalized, z-scores
# expose outliers, the median and the interquartile range scale data that outliers
# would squeeze (exactly, or streamed with a proved rank error), normalized inputs
# allow a larger learning rate, whitening decorrelates (and keeps its digits on
# nearly collinear data with solver="qr"); then Batch Normalization carries
# standardization into a network's hidden layers, streaming merges the statistics
# batch by batch, and statistics streamed in skbn start a network's BatchNorm layer.
# An example missing from the list goes last.
STORY = [
    "plot_standardization.py",
    "plot_minmax_normalization.py",
    "plot_outlier_detection.py",
    "plot_robust_scaling.py",
    "plot_learning_rate.py",
    "plot_whitening.py",
    "plot_whitening_accuracy.py",
    "plot_running_statistics.py",
    "plot_hidden_layer_batchnorm.py",
    "plot_streaming.py",
    "plot_batchnorm_export.py",
    "plot_dask_scaling.py",
    "plot_array_api.py",
]


class StoryOrder:
    """Sort key for sphinx-gallery's ``within_subsection_order``."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = Path(filename).name
        return (STORY.index(name), name) if name in STORY else (len(STORY), name)

    def __repr__(self):
        # sphinx-gallery keys its cache on the repr.
        return f"<{type(self).__name__}>"


def _missing_labels(fig):
    """What a reader would miss in ``fig``: its title and each panel's labels."""
    missing = []
    panels = [
        ax
        for ax in fig.get_axes()
        if ax.get_visible() and ax.get_label() != "<colorbar>"
    ]
    if not fig.get_suptitle() and not any(ax.get_title() for ax in panels):
        missing.append("a title")
    for i, ax in enumerate(panels):
        name = f"panel {i} ({ax.get_title()!r})"
        if not ax.get_title() and len(panels) > 1:
            missing.append(f"{name}: a title")
        if not ax.axison:
            continue
        if not ax.get_xlabel():
            missing.append(f"{name}: an x label")
        if not ax.get_ylabel():
            missing.append(f"{name}: a y label")
    return missing


def labelled_matplotlib_scraper(block, block_vars, gallery_conf, **kwargs):
    """sphinx-gallery's matplotlib scraper, refusing figures without labels.

    Every figure in the gallery has a title, and every panel a title and labelled
    axes; a figure that lacks one fails the build, naming what is missing.
    """
    import matplotlib.pyplot as plt

    for number in plt.get_fignums():
        missing = _missing_labels(plt.figure(number))
        if missing:
            raise ExtensionError(
                f"{block_vars['src_file']}: figure {number} lacks " + "; ".join(missing)
            )
    return matplotlib_scraper(block, block_vars, gallery_conf, **kwargs)
