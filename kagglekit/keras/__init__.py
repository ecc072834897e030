"""One Keras training stack for every neural model family (RNNs, transformers, sentence
encoders, and the ones to come).

ragged.py     Ragged: flat token ids + offsets (+ segment ids), padded only per batch
batching.py   length bucketing, dynamic padding to a multiple of 8, batch plans
stopping.py   early-stopping rows (inner | valid | off), the monitor, the fit recipe
data.py       Batches: the one keras.utils.PyDataset adapter; predict_batches
layers.py     PaddingMask, MaskedPooling (cls/mean/max/mean-max), AttentionPool, heads
awd.py        AWD-LSTM pieces: weight-dropped LSTM, word dropout, tied logits
language_model.py  the word LSTM language model (pretrain_lstm) and its encoder folder
training.py   optimizers, layer groups (llrd, gradual unfreezing), LR schedules, the
              Monitor callback, fit_epochs (the loop)
model.py      KerasModel: seeding, accelerator, fit/predict, fit_info_, the saved fold

A family subclasses ``KerasModel`` and declares only what differs: ``fit_encoder`` (learn
or load its tokenizer/encoder, return the training rows' features), ``features`` (texts ->
Ragged or a float matrix) and ``body`` (Keras inputs -> pooled features).

Importing this package, ragged, batching or stopping never imports Keras; data, layers,
training and model do, and the models import them inside fit/predict/load only.
"""

from kagglekit.errors import KaggleKitError
from kagglekit.keras.stopping import EARLY_STOPPING, recipe_from_fold_infos

__all__ = ["EARLY_STOPPING", "MissingDependency", "recipe_from_fold_infos", "require"]


class MissingDependency(KaggleKitError, ImportError):
    """An optional dependency is not installed; the message has the pip line."""


def require(module: str, extra: str = "keras"):
    """Import ``module`` or raise MissingDependency naming ``pip install 'kagglekit[extra]'``."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(
            f"{module} is needed for this model but cannot be imported "
            f"({exc}); install it with: pip install 'kagglekit[{extra}]'"
        ) from None
