"""kagglekit's built-in competition adapters (installed as ``kagglekit_competitions``)."""
