"""MkDocs hook: the CLI and models references, generated from the code at build time.

`reference/cli.md` is every command's `--help` (the click group `kagglekit.cli:cli`), and
`reference/models.md` is `kagglekit models --json`, so neither can drift from the code:
they are never committed, and `mkdocs build --strict` fails when the CLI cannot run.
"""

from __future__ import annotations

import json

from mkdocs.structure.files import File

CLI_PAGE = "reference/cli.md"
MODELS_PAGE = "reference/models.md"


def _invoke(*args: str) -> str:
    """The output of `kagglekit ARGS` (in-process, as the tests run it); an error raises."""
    from click.testing import CliRunner

    from kagglekit.cli import cli

    result = CliRunner().invoke(
        cli, list(args), prog_name="kagglekit", catch_exceptions=False, env={"COLUMNS": "100"}
    )
    if result.exit_code != 0:
        raise RuntimeError(
            f"kagglekit {' '.join(args)} exited {result.exit_code}:\n{result.output}"
        )
    return result.stdout


def _command_names() -> list[str]:
    import click

    from kagglekit.cli import cli

    with click.Context(cli, info_name="kagglekit") as ctx:
        return sorted(cli.list_commands(ctx))


def cli_reference() -> str:
    lines = [
        "# CLI reference",
        "",
        "Generated from `kagglekit --help` and each command's `--help` when the site is "
        "built, so it is always the installed code's.",
        "",
        "```text",
        _invoke("--help").rstrip(),
        "```",
        "",
    ]
    for name in _command_names():
        lines += [
            f"## kagglekit {name}",
            "",
            "```text",
            _invoke(name, "--help").rstrip(),
            "```",
            "",
        ]
    return "\n".join(lines)


def _param_row(param: dict) -> str:
    default = "`" + repr(param["default"]) + "`"
    choices = ", ".join(f"`{c}`" for c in param.get("choices", ())) or ""
    return f"| `{param['name']}` | {_cell(param['type'])} | {_cell(default)} | {choices} |"


PARAM_HEADER = ["| parameter | type | default | allowed values |", "| --- | --- | --- | --- |"]


def _cell(text: str) -> str:
    """Text that keeps a table row whole: one line, no bare `|`."""
    return " ".join(str(text).split()).replace("|", "&#124;")


def _key(param: dict) -> str:
    return json.dumps(param, sort_keys=True, default=str)


def models_reference() -> str:
    models = json.loads(_invoke("models", "--json"))["models"]
    by_name = {m["name"]: m for m in models}
    lines = [
        "# Models reference",
        "",
        "Generated from `kagglekit models --json` when the site is built: every registered "
        "model, the optional extra it needs and its hyperparameters (`-p NAME=VALUE`, "
        "type-checked against the model's `Params`). `kagglekit models NAME` prints the "
        "same for one model. What the models do is on the [Models](../models.md) page.",
        "",
        "| model | family | plugin | extra | what |",
        "| --- | --- | --- | --- | --- |",
    ]
    for m in models:
        family = ", ".join(m.get("family") or [m["name"]])
        lines.append(
            f"| [`{m['name']}`](#{m['name']}) | {family} | `{m['plugin']}` | "
            f"{m.get('extra') or '-'} | {_cell(m['description'])} |"
        )
    lines.append("")
    families: dict[tuple, list[str]] = {}
    for m in models:
        families.setdefault(tuple(m.get("family") or [m["name"]]), [])
    for family in sorted(families):
        members = [by_name[n] for n in family if n in by_name]
        shared = [
            p
            for p in members[0]["params"]
            if all(_key(p) in {_key(q) for q in other["params"]} for other in members)
        ]
        shared_keys = {_key(p) for p in shared}
        lines += [f"## Family: {', '.join(family)}", ""]
        if len(members) > 1:
            lines += [
                f"Parameters shared by all {len(members)} ({len(shared)}):",
                "",
                *PARAM_HEADER,
                *map(_param_row, shared),
                "",
            ]
        for m in members:
            own = [p for p in m["params"] if len(members) == 1 or _key(p) not in shared_keys]
            lines += [f"### {m['name']}", "", m["description"], ""]
            if m.get("extra"):
                lines += [f"Needs the `[{m['extra']}]` extra: `{m['install']}`.", ""]
            if own:
                title = "Its own parameters" if len(members) > 1 else "Parameters"
                lines += [f"{title} ({len(own)}):", "", *PARAM_HEADER, *map(_param_row, own), ""]
    return "\n".join(lines)


def _check_plugins() -> None:
    """A plugin that failed to load would be missing from the references: fail the build."""
    from kagglekit import plugins

    failed = plugins.failed_plugins()
    if failed:
        raise RuntimeError(
            "plugins failed to load, so the references would lack them: "
            + "; ".join(f"{f['name']} ({f['error']})" for f in failed)
        )


def on_files(files, config):
    cli, models = cli_reference(), models_reference()
    _check_plugins()
    for uri, content in ((CLI_PAGE, cli), (MODELS_PAGE, models)):
        existing = files.get_file_from_path(uri)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, uri, content=content))
    return files
