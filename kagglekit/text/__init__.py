"""Text pipeline for neural models: word-level tokenization (HF ``tokenizers``), encoding
cache, sequence bucketing and pretrained word embeddings.

Importing this package (or ``tokenizer``, ``bucketing``, ``embeddings``) never imports
Keras or TensorFlow; only ``kagglekit.text.keras_data`` and ``kagglekit.text.layers`` do,
and models import those inside ``fit``/``predict``.
"""

from kagglekit.errors import KaggleKitError


class MissingDependency(KaggleKitError, ImportError):
    """An optional dependency is not installed; the message has the pip line."""


def require(module: str, extra: str = "keras"):
    """Import ``module`` or raise MissingDependency naming ``pip install 'kagglekit[extra]'``."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(f"{module} is needed for this model but cannot be imported "
                                f"({exc}); install it with: pip install 'kagglekit[{extra}]'") \
            from None
