"""``competitions``, ``models``, ``plugins``, ``env``: what is registered and where it runs."""

from __future__ import annotations

import click

from kagglekit import plugins
from kagglekit.hookspecs import hookimpl
from kagglekit.commands.options import emit_json, json_option


@hookimpl
def register_commands(cli):
    @cli.command()
    @json_option
    def competitions(as_json):
        """List the registered competitions.

        Example: kagglekit competitions --json
        """
        registry = plugins.competitions()
        rows = []
        for name, comp in sorted(registry.items.items()):
            row = comp.summary()
            row["plugin"] = registry.owners[name]
            rows.append(row)
        if as_json:
            emit_json({"competitions": rows})
            return
        for row in rows:
            aliases = ", ".join(row["aliases"])
            click.echo(f"{row['name']}  ({aliases})  {row['task']}, {row['metric']}  "
                       f"[{row['plugin']}]\n    {row['title']}")

    @cli.command()
    @click.argument("name", required=False)
    @json_option
    def models(name, as_json):
        """List the registered models and their hyperparameters, or one model's in full.

        Models of one family (one plugin) show their shared parameters once; NAME shows
        one model's parameters with their types, defaults and allowed values.

        Example: kagglekit models bigru
        """
        from kagglekit.commands.model_listing import model_rows, show_model, show_models

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

    @cli.command("plugins")
    @json_option
    def plugins_command(as_json):
        """List the loaded plugins, their versions and what each registered.

        Example: kagglekit plugins --json
        """
        rows = plugins.plugin_listing()
        failed = plugins.failed_plugins()
        if as_json:
            emit_json({"plugins": rows, "failed": failed})
            return
        for row in rows:
            click.echo(f"{row['name']}  ({row['package']} {row['version']}, {row['module']})")
            for kind in ("competitions", "models", "metrics", "fold_schemes", "blend_methods",
                         "executors", "commands"):
                if row[kind]:
                    click.echo(f"    {kind}: {', '.join(row[kind])}")
        for row in failed:
            click.echo(f"{row['name']}  ({row['package']})  FAILED: {row['error']}")

    @cli.command()
    @click.option("--probe/--no-probe", default=False,
                  help="Import the Keras backend's framework and detect TPU/GPU/CPU for real.")
    @click.option("--accelerator", type=click.Choice(["auto", "cpu", "gpu", "tpu"]),
                  default="auto", show_default=True)
    @json_option
    def env(probe, accelerator, as_json):
        """Show the Python environment and the accelerator kagglekit would use.

        Example: kagglekit env --probe --json
        """
        from kagglekit.accelerator import describe_environment

        report = describe_environment(probe=probe, requested=accelerator)
        if as_json:
            emit_json(report)
            return
        for key, value in report.items():
            click.echo(f"{key}: {value}")

