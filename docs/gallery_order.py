"""The order of the gallery: the story of the notes skbn grew from.

Inputs are standardized and min-max normalized, z-scores expose outliers, normalized
inputs allow a larger learning rate, whitening decorrelates; then Batch Normalization
carries the same standardization into a network's hidden layers, and streaming shows
the statistics merged batch by batch. An example missing from the list goes last.
"""

from pathlib import Path

STORY = [
    "plot_standardization.py",
    "plot_minmax_normalization.py",
    "plot_outlier_detection.py",
    "plot_learning_rate.py",
    "plot_whitening.py",
    "plot_running_statistics.py",
    "plot_hidden_layer_batchnorm.py",
    "plot_streaming.py",
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
