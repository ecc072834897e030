"""Transformers and sentence encoders on KerasHub: where weights come from and how texts
become token ids or vectors. Training is ``kagglekit.keras``'s, like every Keras family.

presets.py     -p preset=<name, handle or directory> -> a local directory (no hidden downloads)
backbone.py    a KerasHub backbone from a KerasHub preset dir or a Hugging Face layout dir;
               its inputs and a masked head on its sequence output (``sequence_head``)
tokenizer.py   subword tokenization with ``tokenizers`` (cached by content hash) -> Ragged
encoders.py    frozen sentence encoders (Universal Sentence Encoder, sentence-transformers)
               and their embedding cache

Importing these modules never imports TensorFlow or Keras; their functions that build or
run a model import it when called.
"""
