"""kagglekit's built-in model plugins (installed as ``kagglekit_plugins``)."""
