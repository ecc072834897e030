"""Docs stay true: every command has help with an example and is documented on the docs
site's commands page, the architecture page names every core module, the plugin examples
run, tables render, and the README stays short."""

from __future__ import annotations

import re

from support import REPO

DOCS = REPO / "docs"


def page(name: str) -> str:
    return (DOCS / name).read_text()


def test_every_command_has_help_with_an_example_and_is_documented(cli):
    from kagglekit.cli import cli as group

    commands_page = page("commands.md")
    for name, command in group.commands.items():
        assert command.help and command.help.strip(), name
        assert "Example" in command.help, f"{name}: help has no example"
        assert re.search(rf"kagglekit {re.escape(name)}\b", commands_page), (
            f"{name} not in docs/commands.md"
        )
        result = cli(name, "--help")
        assert "Usage:" in result.output


def test_docs_architecture_lists_every_core_module():
    section = page("architecture.md")
    for path in sorted((REPO / "kagglekit").glob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        assert path.name in section, f"kagglekit/{path.name} missing from docs/architecture.md"


def _docs_example(heading: str) -> str:
    section = page("plugins.md").split(f"\n## {heading}", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, heading
    return blocks[0]


def _as_plugin(code: str, name: str):
    import sys
    import types

    module = types.ModuleType(name)
    sys.modules[name] = module  # dataclasses look their module up
    exec(compile(code, f"docs/plugins.md:{name}", "exec"), module.__dict__)
    return module


def test_the_docs_model_plugin_example_runs(cli, tweets_dir):
    import json
    from pathlib import Path

    from kagglekit import plugins

    module = _as_plugin(_docs_example("Writing a model plugin"), "readme_model")
    plugins.register_plugin(module, name="readme-model")
    try:
        out = cli.json(
            "cv",
            "disaster-tweets",
            "--model",
            "length",
            "-p",
            "scale=80",
            "--folds",
            "3",
            "--data-dir",
            tweets_dir,
        )
        info = json.loads((Path(out["run_dir"]) / "run.json").read_text())
        assert info["params"] == {"scale": 80.0} and info["model"] == "length"
        assert 0 <= out["scores"]["auc"] <= 1 and len(info["fold_scores"]) == 3
        assert "length" in {m["name"] for m in cli.json("models")["models"]}
    finally:
        plugins.unregister_plugin("readme-model")


def test_the_docs_competition_plugin_example_runs(cli):
    from kagglekit import plugins

    module = _as_plugin(_docs_example("Writing a competition plugin"), "readme_competition")
    plugins.register_plugin(module, name="readme-competition")
    try:
        out = cli.json(
            "cv",
            "sms-spam",
            "--model",
            "tfidf-lr",
            "--folds",
            "3",
            "--sample",
            "--encoding",
            "latin-1",
        )
        assert out["competition"] == "sms-spam-collection-dataset"
        assert out["scores"]["auc"] > 0.9  # the sample's spam words are easy to find
        assert module.prepare_sms("call 0800 now") == "call NUM now"
    finally:
        plugins.unregister_plugin("readme-competition")


def test_tables_are_not_broken_by_blank_lines():
    """A table row after a blank line loses its header (it renders as a paragraph)."""
    for path in [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]:
        lines = path.read_text().splitlines()
        in_code = False
        for i, line in enumerate(lines):
            if line.startswith("```"):
                in_code = not in_code
            if in_code or not line.startswith("| ") or i < 2:
                continue
            if lines[i - 1].strip() == "":  # a table starts here: it needs a header row
                assert set(lines[i + 1].replace("|", "").split()) <= {"---", ":---", "---:"}, (
                    f"{path.name} line {i + 1} starts a table without a header: {line[:60]}"
                )


def test_the_readme_is_short_and_keeps_the_two_commands():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    text = " ".join(readme.split())
    assert "Two commands do all set-up on a fresh machine: one runs the main job" in text
    assert "make demo" in readme and "make test" in readme
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (REPO / link).is_file(), f"README links to a missing page: {link}"
