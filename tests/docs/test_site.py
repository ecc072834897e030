"""The docs site builds with warnings as errors, and its examples run.

Convention: a fenced ```console block in a page under docs/ is runnable. Its `$ kagglekit
...` lines (a trailing backslash continues one) run in order, in an empty folder per page
(so runs go to its ./runs), and must exit 0; every other non-empty line is output that must
appear, in order, in what the commands printed (stdout and stderr), whitespace not
compared and `...` standing for anything. Blocks of any other language are not run (use
`bash` for commands that need real data, credentials or a GPU). Keep them cheap:
`--sample` data, tfidf-nb or nbsvm, `--folds 3`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from support import REPO, invoke

DOCS = REPO / "docs"


def _pages() -> list:
    return sorted(p for p in DOCS.rglob("*.md"))


def console_blocks(text: str) -> list[list[tuple[str, list[str]]]]:
    """Each ```console block as [(command, expected output lines)]."""
    blocks = []
    for body in re.findall(r"^```console\n(.*?)^```", text, flags=re.S | re.M):
        steps: list[tuple[str, list[str]]] = []
        pending: list[str] = []
        for line in body.splitlines():
            if pending or line.startswith("$ "):
                part = (line if pending else line[2:]).strip()
                pending.append(part.removesuffix("\\").strip())
                if not part.endswith("\\"):
                    steps.append((" ".join(pending), []))
                    pending = []
            elif line.strip():
                assert steps, f"output before any command: {line!r}"
                steps[-1][1].append(line)
        blocks.append(steps)
    return blocks


def _squash(text: str) -> str:
    return " ".join(text.split())


def output_matches(expected: list[str], output: str) -> str | None:
    """None when every expected line is found in order in the output; else the first one
    that was not. A line matches when its pieces around `...` appear in order in one
    output line (whitespace not compared); a line that is only `...` matches anything."""
    lines = [_squash(line) for line in output.splitlines()]
    at = 0
    for want in expected:
        pieces = [p.strip() for p in _squash(want).split("...") if p.strip()]
        if not pieces:
            continue
        pattern = ".*".join(re.escape(p) for p in pieces)
        while at < len(lines) and not re.search(pattern, lines[at]):
            at += 1
        if at == len(lines):
            return want
        at += 1
    return None


def test_the_example_reader_and_matcher():
    text = (
        "```console\n$ kagglekit cv x \\\n    --folds 3\nline one\n...\nRun: ... end\n"
        "$ kagglekit runs\n```\n```bash\nkagglekit not run\n```\n"
    )
    assert console_blocks(text) == [
        [("kagglekit cv x --folds 3", ["line one", "...", "Run: ... end"]), ("kagglekit runs", [])]
    ]
    output = "noise\nline   one\nmore\nRun: /tmp/r  the end\n"
    assert output_matches(["line one", "...", "Run: ... end"], output) is None
    assert output_matches(["Run: ... end", "line one"], output) == "line one"  # order counts
    assert output_matches(["absent"], output) == "absent"


def test_every_page_is_in_the_nav():
    nav = (REPO / "mkdocs.yml").read_text()
    generated = {"reference/cli.md", "reference/models.md"}
    for page in _pages():
        uri = page.relative_to(DOCS).as_posix()
        assert f": {uri}" in nav, f"docs/{uri} is not in mkdocs.yml's nav"
    for uri in generated:
        assert f": {uri}" in nav and not (DOCS / uri).exists(), uri  # generated, not committed


def test_the_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cli_page = (site / "reference" / "cli" / "index.html").read_text()
    models_page = (site / "reference" / "models" / "index.html").read_text()
    from kagglekit.cli import cli

    for name in cli.commands:
        assert f"kagglekit {name}" in cli_page, f"{name} missing from the CLI reference"
    for model in json.loads(invoke("models", "--json").stdout)["models"]:
        assert f'id="{model["name"]}"' in models_page, model["name"]
        for param in model["params"]:
            assert f"<code>{param['name']}</code>" in models_page, (model["name"], param)


PAGES_WITH_EXAMPLES = [p for p in _pages() if "```console" in p.read_text()]


def test_some_pages_have_examples():
    assert len(PAGES_WITH_EXAMPLES) >= 3


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES, ids=lambda p: p.stem)
def test_the_console_examples_run(page, monkeypatch):
    """Every `$ kagglekit ...` line exits 0 and prints the output the page shows."""
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("KAGGLEKIT_PROGRESS", "plain")
    for block in console_blocks(page.read_text()):
        for command, expected in block:
            args = shlex.split(command)
            assert args[0] == "kagglekit", f"{page.name}: only kagglekit commands run: {command}"
            result = invoke(*args[1:], expect=None)
            output = result.output
            assert result.exit_code == 0, (
                f"{page.name}: `{command}` exited {result.exit_code}:\n{output}"
            )
            missing = output_matches(expected, output)
            assert missing is None, f"{page.name}: `{command}` did not print {missing!r}:\n{output}"
