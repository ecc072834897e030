"""``pretrain``: domain-adaptive pretraining on a competition's texts, by a pretraining family
that a plugin registers (``register_pretrain_families``), the way models are: masked-LM
fine-tuning of a transformer backbone (``--model transformer``), or an AWD-LSTM-like word
language model whose encoder the ``lstm`` classifier starts from (``--model lstm``, ULMFiT).
``--model`` and ``-p`` help come from the families' docstrings and ``Params`` dataclasses."""

from __future__ import annotations

from pathlib import Path

import click

from kagglekit import plugins
from kagglekit.cli.options import data_options, data_options_from, json_option, runs_dir_option
from kagglekit.cli.output import emit_json, info
from kagglekit.errors import KaggleKitError
from kagglekit.hookspecs import hookimpl
from kagglekit.store.folder import RunsFolder

SPLITS = ("train", "test", "unlabeled")


def first_line(cls) -> str:
    """A family's description: the first paragraph of its docstring, on one line."""
    return " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split()).rstrip(".")


def model_help() -> str:
    """--model's help: each registered family with its description."""
    families = plugins.pretrain_families()
    return (
        "What to pretrain: "
        + "; ".join(f"{n}: {first_line(families.items[n])}" for n in sorted(families.items))
        + "."
    )


def params_help() -> str:
    """The help's epilog: each family's -p parameters, one a line with type and default, as
    `kagglekit models NAME` shows them (``\\b`` keeps click from rewrapping them)."""
    from kagglekit.params import describe

    families = plugins.pretrain_families()
    lines = ["\b", "Parameters (-p NAME=VALUE) of each --model:"]
    for name in sorted(families.items):
        lines.append(f"  {name}:")
        lines += [
            f"    {p['name']}: {p['type']} = {p['default']!r}"
            for p in describe(families.items[name].Params)
        ]
    return "\n".join(lines)


class FamilyChoice(click.Choice):
    """--model's choices: the registered pretraining families, read when they are needed
    (not when the CLI is built, so `kagglekit --help` loads none of them, and a plugin
    registered in-process later is offered too)."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(sorted(plugins.pretrain_families().items))

    @choices.setter
    def choices(self, value) -> None:  # click.Choice.__init__ assigns it: ignored
        pass


class PretrainCommand(click.Command):
    """The pretrain command, whose --model help and parameter list come from the registry
    when the help is shown."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for param in self.params:
            if param.name == "model" and isinstance(param, click.Option):
                param.help = model_help()
        self.epilog = params_help()
        super().format_help(ctx, formatter)


def competition_texts(comp, options, which) -> tuple[list, dict]:
    """The prepared texts of the chosen splits and how many each gave."""
    from kagglekit.data import find_data_dir, load_split, sample_dir

    directory = (
        sample_dir(comp, options.sample_root or RunsFolder().samples)
        if options.sample
        else find_data_dir(comp, options.data_dir)
    )
    if not options.prepare:
        from dataclasses import replace

        comp = replace(comp, prepare_text=None)
    params = options.competition_params
    if params is None and comp.params_class() is not None:
        params = comp.params_class()()
    texts, counts = [], {}
    for split in which:
        if comp.file_for(split) is None:
            if split == "unlabeled" and which != SPLITS:
                raise KaggleKitError(f"--texts unlabeled: {comp.slug} declares no unlabeled texts")
            continue
        name = comp.file_for(split)
        if not ((directory / name).exists() or (directory / f"{name}.zip").exists()):
            if which != SPLITS:
                raise KaggleKitError(f"--texts {split}: {directory / name} not found")
            continue
        frame = load_split(
            comp, directory, split, encoding=options.encoding, allow_empty_text=True, params=params
        )
        texts += list(frame.text)
        counts[split] = len(frame)
    return texts, {"data_dir": str(Path(directory).resolve()), **counts}


@hookimpl
def register_commands(cli):
    @cli.command(cls=PretrainCommand)
    @click.argument("competition")
    @click.option(
        "--model",
        "model",
        default="transformer",
        show_default=True,
        type=FamilyChoice(),
        help="What to pretrain (a registered pretraining family).",
    )
    @click.option(
        "-p",
        "--param",
        "params",
        multiple=True,
        metavar="KEY=VALUE",
        help="A parameter of the --model's family (listed below, with type and default).",
    )
    @click.option(
        "--texts",
        default=",".join(SPLITS),
        show_default=True,
        help="Which texts to learn from: train, test, unlabeled (those present).",
    )
    @click.option(
        "--output",
        type=click.Path(path_type=Path),
        default=None,
        help="A new or empty folder for the preset (transformer) or encoder (lstm); "
        "the same command again returns it [default: its cache entry].",
    )
    @data_options
    @runs_dir_option
    @json_option
    def pretrain(
        competition,
        model,
        params,
        texts,
        output,
        data_dir,
        sample,
        encoding,
        allow_empty_text,
        prepare,
        runs_dir,
        as_json,
    ):
        """Pretrain on the competition's own texts (no labels), ULMFiT-style.

        --model names a pretraining family (built in: transformer, a masked-LM backbone,
        and lstm, a ULMFiT word language model; plugins add more): what each writes is
        under --model, its -p parameters are listed at the end.
        Empty texts are dropped. Cached by content hash: the same command returns at once.

        \b
        Examples:
          kagglekit pretrain imdb -p preset=distilbert --texts train,test,unlabeled --output lm/
          kagglekit pretrain imdb --model lstm -p epochs=5 --output lstm-lm/
        """
        from kagglekit.params import build_params, parse_assignments

        which = tuple(t.strip() for t in texts.split(",") if t.strip())
        unknown = [t for t in which if t not in SPLITS]
        if unknown or not which:
            raise KaggleKitError(f"--texts {texts}: choose from {', '.join(SPLITS)}")
        assignments = parse_assignments(params)
        family = plugins.pretrain_families().get(model)()
        settings = build_params(family.Params, assignments, family.what)
        source = family.source(settings)
        comp = plugins.get_competition(competition)
        options = data_options_from(data_dir, sample, encoding, allow_empty_text, prepare, runs_dir)
        corpus, sources = competition_texts(comp, options, which)
        info(
            f"Pretraining {family.describe(source)} on {len(corpus)} texts of {comp.slug} "
            f"({', '.join(f'{k} {v}' for k, v in sources.items() if k != 'data_dir')}); "
            f"{settings.epochs} epochs"
        )
        kind = family.loss

        def on_epoch(row):
            train = "" if row["train_loss"] is None else f"train loss {row['train_loss']:.4f}  "
            extra = (
                f"  perplexity {row['heldout_perplexity']:.1f}"
                if "heldout_perplexity" in row
                else ""
            )
            info(
                f"  epoch {row['epoch']}: {train}held-out {kind} loss "
                f"{row['heldout_loss']:.4f}{extra}  accuracy {row['heldout_accuracy']:.4f}"
            )

        directory, record, cached = family.pretrain(
            source, corpus, settings, output, on_epoch=on_epoch, sources=sources
        )
        use = family.use(directory)
        if cached:
            info("  (cached: the same texts and parameters were pretrained before)")
        info(f"{family.makes}: {directory}  (use it: {use})")
        if as_json:
            emit_json({**record, "path": str(Path(directory).resolve()), "cached": cached})
