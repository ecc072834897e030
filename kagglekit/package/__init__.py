"""Code competitions: a run packaged as a Kaggle dataset plus an offline notebook.

Modules: ``kagglekit_wheel`` (kagglekit's own wheel, built by pip), ``wheels`` (the
wheelhouse for Kaggle's image), ``kernel`` (the notebook's code and kernel-metadata.json),
``build`` (the package folder and its checksum manifest), ``runtime`` (what the notebook
calls on Kaggle: the test split predicted and submission.csv written). Pushing to Kaggle is
in ``kagglekit.kaggle_client.package``.
"""

from kagglekit.package.build import Package, PackageOptions, build_package, collect_runs
from kagglekit.package.wheels import (
    KAGGLE_PLATFORM,
    KAGGLE_PREINSTALLED,
    KAGGLE_PYTHON,
    PackageError,
)

__all__ = [
    "KAGGLE_PLATFORM",
    "KAGGLE_PREINSTALLED",
    "KAGGLE_PYTHON",
    "Package",
    "PackageError",
    "PackageOptions",
    "build_package",
    "collect_runs",
]
