"""kagglekit: from raw Kaggle NLP competition files to a validated submission."""

__version__ = "0.1.0"
