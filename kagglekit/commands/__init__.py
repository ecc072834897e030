"""The built-in CLI commands: one module per step of the data flow, each registered
through ``register_commands`` exactly like a third-party plugin's (see pyproject.toml's
``kagglekit`` entry points); shared options live in ``options.py``."""
