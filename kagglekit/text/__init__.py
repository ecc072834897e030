"""Text pipeline for word-level neural models: word tokenization (HF ``tokenizers``
artifact), its encoding cache, and pretrained word embeddings.

Nothing here imports Keras or TensorFlow; batching, layers and training are
``kagglekit.keras``'s.
"""
