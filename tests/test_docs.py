"""Docs stay true: every command has help with an example and appears in the README."""

from __future__ import annotations

import re

from conftest import REPO


def test_every_command_has_help_with_an_example_and_is_documented(cli):
    from kagglekit.cli import cli as group

    readme = (REPO / "README.md").read_text()
    for name, command in group.commands.items():
        assert command.help and command.help.strip(), name
        assert "Example" in command.help, f"{name}: help has no example"
        assert re.search(rf"kagglekit {re.escape(name)}\b", readme), f"{name} not in README"
        result = cli(name, "--help")
        assert "Usage:" in result.output


def test_readme_architecture_lists_every_core_module():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    for path in sorted((REPO / "kagglekit").glob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        assert path.name in section, f"kagglekit/{path.name} missing from README's architecture"
