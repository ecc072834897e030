"""``models``: the registered models grouped by family (the plugin that registers them),
the parameters a family shares shown once, and one model's parameters in full."""

from __future__ import annotations

import typing

import click

from kagglekit import plugins
from kagglekit.cli.options import json_option
from kagglekit.cli.output import emit_json
from kagglekit.hookspecs import hookimpl


def choices(params_cls) -> dict[str, list]:
    """{param: allowed values} for the parameters typed as a Literal (or Optional[Literal])."""
    try:
        hints = typing.get_type_hints(params_cls)
    except Exception:  # noqa: BLE001 - a plugin's annotations that do not resolve: no choices
        return {}
    out = {}
    for name, tp in hints.items():
        args = [tp]
        if typing.get_origin(tp) is typing.Union or type(tp).__name__ == "UnionType":
            args = list(typing.get_args(tp))
        for arg in args:
            if typing.get_origin(arg) is typing.Literal:
                out[name] = [*typing.get_args(arg), *([None] if type(None) in args else [])]
    return out


def model_rows(registry) -> list[dict]:
    from kagglekit.params import describe, model_extra

    rows = []
    for name, cls in sorted(registry.items.items()):
        doc = (cls.__doc__ or "").strip().splitlines()
        allowed = choices(cls.Params)
        params = []
        for p in describe(cls.Params):
            if p["name"] in allowed:
                p = {**p, "choices": allowed[p["name"]]}
            params.append(p)
        family = sorted(n for n, owner in registry.owners.items() if owner == registry.owners[name])
        needs = model_extra(cls)
        rows.append(
            {
                "name": name,
                "plugin": registry.owners[name],
                "description": doc[0] if doc else "",
                "family": family,
                # the optional extra it needs (None: the core install is enough)
                "extra": needs["extra"] if needs else None,
                "extra_installed": not needs["missing"] if needs else True,
                "install": needs["install"] if needs else None,
                "params": params,
            }
        )
    return rows


def _line(p: dict) -> str:
    text = f"{p['name']}: {p['type']} = {p['default']!r}"
    if p.get("choices"):
        text += f"  (one of {', '.join(map(str, p['choices']))})"
    return text


def needs_text(row: dict) -> str:
    """What a model needs beyond the core install, and whether it is there."""
    if not row.get("extra"):
        return ""
    if row["extra_installed"]:
        return f"needs the [{row['extra']}] extra (installed)"
    return f"needs the [{row['extra']}] extra, NOT installed: {row['install']}"


def show_model(row: dict) -> None:
    click.echo(f"{row['name']}  [{row['plugin']}]  {row['description']}")
    if needs_text(row):
        click.echo(f"  {needs_text(row)}")
    others = [n for n in row["family"] if n != row["name"]]
    if others:
        click.echo(f"  same family: {', '.join(others)}")
    click.echo(f"  {len(row['params'])} parameters (-p NAME=VALUE):")
    for p in row["params"]:
        click.echo(f"    {_line(p)}")


def show_models(rows: list[dict]) -> None:
    """One block per family: its models, the parameters all of them share (same type and
    default) once, then each model's own."""
    families: dict[str, list[dict]] = {}
    for row in rows:
        families.setdefault(row["plugin"], []).append(row)
    for plugin, members in families.items():
        key = [{(p["name"], p["type"], repr(p["default"])) for p in m["params"]} for m in members]
        shared = set.intersection(*key) if len(members) > 1 else set()
        click.echo(f"{plugin}: {', '.join(m['name'] for m in members)}")
        for text in dict.fromkeys(needs_text(m) for m in members if needs_text(m)):
            click.echo(f"  {text}")
        if shared:
            click.echo(f"  shared by all {len(members)} ({len(shared)} parameters):")
            for p in members[0]["params"]:
                if (p["name"], p["type"], repr(p["default"])) in shared:
                    click.echo(f"      {_line(p)}")
        for m in members:
            click.echo(f"  {m['name']}  {m['description']}")
            for p in m["params"]:
                if (p["name"], p["type"], repr(p["default"])) not in shared:
                    click.echo(f"      {_line(p)}")
        click.echo("")
    click.echo("`kagglekit models NAME` shows one model's parameters in full.")


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("name", required=False)
    @json_option
    def models(name, as_json):
        """List the registered models and their hyperparameters, or one model's in full.

        Models of one family (one plugin) show their shared parameters once; NAME shows
        one model's parameters with their types, defaults and allowed values.

        Example: kagglekit models bigru
        """
        registry = plugins.models()
        if name:
            row = next(r for r in model_rows(registry) if r["name"] == registry.resolve(name))
            if as_json:
                emit_json(row)
            else:
                show_model(row)
            return
        rows = model_rows(registry)
        if as_json:
            emit_json({"models": rows})
            return
        show_models(rows)
