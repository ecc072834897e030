"""``pretrain``: domain-adaptive pretraining on a competition's texts: masked-LM fine-tuning
of a transformer backbone (``--model transformer``), or an AWD-LSTM-like word language model
whose encoder the ``lstm`` classifier starts from (``--model lstm``, ULMFiT)."""

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
    @cli.command()
    @click.argument("competition")
    @click.option(
        "--model",
        "model",
        default="transformer",
        show_default=True,
        type=click.Choice(["transformer", "lstm"]),
        help="What to pretrain: a transformer backbone (-p preset=...) with masked "
        "LM, or an LSTM word language model (ULMFiT).",
    )
    @click.option(
        "-p",
        "--param",
        "params",
        multiple=True,
        metavar="KEY=VALUE",
        help="transformer: preset, epochs, batch_size, learning_rate, weight_decay, "
        "max_length, mask_rate, holdout, seed. lstm: epochs, batch_size, bptt, "
        "embedding_dim, units, layers, max_words, min_count, lowercase, weight_drop, "
        "word_dropout, input_dropout, hidden_dropout, output_dropout, "
        "learning_rate, weight_decay, clipnorm, holdout, seed.",
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

        --model transformer: masked-LM fine-tuning of a backbone; writes a preset directory
        that `-p preset=DIR` fine-tunes like any other. --model lstm: a word-level AWD-LSTM
        language model; writes an encoder that `-m lstm -p encoder=DIR` starts from.
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
        if model == "transformer":
            from kagglekit.hub.presets import resolve
            from kagglekit.hub.pretrain import MlmParams

            settings = build_params(MlmParams, assignments, "pretrain")
            source = resolve(settings.preset, what="pretrain").path
        else:
            from kagglekit.keras.language_model import LmParams

            settings, source = build_params(LmParams, assignments, "pretrain --model lstm"), None
        comp = plugins.get_competition(competition)
        options = data_options_from(data_dir, sample, encoding, allow_empty_text, prepare, runs_dir)
        corpus, sources = competition_texts(comp, options, which)
        what = source if source is not None else "an LSTM language model"
        info(
            f"Pretraining {what} on {len(corpus)} texts of {comp.slug} "
            f"({', '.join(f'{k} {v}' for k, v in sources.items() if k != 'data_dir')}); "
            f"{settings.epochs} epochs"
        )
        kind = "MLM" if model == "transformer" else "LM"

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

        if model == "transformer":
            from kagglekit.hub.pretrain import pretrain_mlm

            directory, record, cached = pretrain_mlm(
                source, corpus, settings, output, on_epoch=on_epoch, sources=sources
            )
            use = f"-p preset={directory}"
        else:
            from kagglekit.keras.language_model import pretrain_lstm

            directory, record, cached = pretrain_lstm(
                corpus, settings, output, on_epoch=on_epoch, sources=sources
            )
            use = f"-m lstm -p encoder={directory}"
        if cached:
            info("  (cached: the same texts and parameters were pretrained before)")
        info(f"{'Preset' if model == 'transformer' else 'Encoder'}: {directory}  (use it: {use})")
        if as_json:
            emit_json({**record, "path": str(Path(directory).resolve()), "cached": cached})
