"""kagglekit: from raw Kaggle NLP competition files to a validated submission."""

# The one place the version is written: pyproject.toml reads it at build time
# ([tool.setuptools.dynamic]), so this module must stay free of imports.
__version__ = "0.1.0"
