"""Transformers and sentence encoders on KerasHub.

presets.py     -p preset=<name, handle or directory> -> a local directory (no hidden downloads)
backbone.py    a KerasHub backbone from a KerasHub preset dir or a Hugging Face layout dir
tokenizer.py   subword tokenization with ``tokenizers`` (cached by content hash)
bucketing.py   dynamic padding: batches of similar lengths, padded to the batch's longest
heads.py       masked pooling / RNN heads on a backbone's sequence output (imports Keras)
training.py    AdamW + warmup/linear decay, clipping, early stopping with best weights kept
encoders.py    frozen sentence encoders (Universal Sentence Encoder, sentence-transformers)

Nothing here imports TensorFlow or Keras at import time except heads.py and training.py,
which only the models' fit/predict import.
"""
