"""``package``: a run as a Kaggle dataset + offline notebook for a code competition."""

from __future__ import annotations

from pathlib import Path

import click

from kagglekit.cli.options import json_option, runs_dir_option
from kagglekit.cli.output import emit_json, info, kaggle_notes
from kagglekit.hookspecs import hookimpl


def _owner(owner: str | None, push: bool) -> str:
    """--owner, else the user name of the Kaggle credentials (without signing in)."""
    if owner:
        return owner
    from kagglekit.package import PackageError

    try:
        from kagglekit.kaggle_client.credentials import find_credentials

        username = find_credentials().username
    except Exception:  # noqa: BLE001 - no client or no credentials: asked for below
        username = None
    if username:
        return username
    raise PackageError(
        "the Kaggle user name that will own the dataset and notebook is not "
        "known; pass --owner YOUR-KAGGLE-USERNAME"
        + (" (and set up Kaggle credentials for --push)" if push else "")
    )


@hookimpl
def register_commands(cli):
    from kagglekit.package.wheels import KAGGLE_PLATFORM, KAGGLE_PYTHON

    @cli.command()
    @click.argument("run_refs", metavar="RUN [RUN ...]", nargs=-1, required=True)
    @click.option(
        "--output",
        type=click.Path(file_okay=False, path_type=Path),
        help="Package folder [default: packages/<slug>/<run-id>].",
    )
    @click.option(
        "--owner",
        metavar="USER",
        help="Kaggle user owning the dataset and notebook [default: from the Kaggle credentials].",
    )
    @click.option(
        "--dataset",
        "dataset_slug",
        metavar="SLUG",
        help="Dataset slug, 6-50 characters [default: kagglekit-<competition>, "
        "<competition> being the Kaggle slug, or its alias when the notebook's "
        "slug would pass 50 characters: kagglekit-quora].",
    )
    @click.option(
        "--kernel",
        "kernel_slug",
        metavar="SLUG",
        help="Notebook slug, 5-50 characters [default: kagglekit-<competition>-submission].",
    )
    @click.option(
        "--python-version",
        default=KAGGLE_PYTHON,
        show_default=True,
        help="Python of the target image (Kaggle's notebooks: 3.12).",
    )
    @click.option(
        "--platform",
        default=KAGGLE_PLATFORM,
        show_default=True,
        help="pip platform tag of the target image (Kaggle: glibc 2.35, x86_64).",
    )
    @click.option(
        "--include-preinstalled",
        is_flag=True,
        help="Also ship wheels of what Kaggle's image already has (numpy, pandas, "
        "scikit-learn, tensorflow, ...).",
    )
    @click.option(
        "--preinstalled",
        "preinstalled_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="`pip freeze` of the target image, replacing kagglekit's built-in list.",
    )
    @click.option(
        "--with",
        "extra",
        multiple=True,
        metavar="REQUIREMENT",
        help="Another package the notebook installs (e.g. a model plugin); repeatable.",
    )
    @click.option(
        "--find-links",
        multiple=True,
        metavar="DIR|URL",
        help="Where else pip looks for wheels (repeatable).",
    )
    @click.option(
        "--no-index",
        is_flag=True,
        help="pip downloads the target's wheels only from --find-links (kagglekit's "
        "own wheel is built with pip's settings).",
    )
    @click.option(
        "--push",
        is_flag=True,
        help="Create or version the dataset and push the notebook (needs Kaggle credentials).",
    )
    @click.option(
        "--message",
        "-m",
        metavar="MSG",
        help="Dataset version notes for --push [default: kagglekit <run id>].",
    )
    @runs_dir_option
    @json_option
    def package(
        run_refs,
        output,
        owner,
        dataset_slug,
        kernel_slug,
        python_version,
        platform,
        include_preinstalled,
        preinstalled_file,
        extra,
        find_links,
        no_index,
        push,
        message,
        runs_dir,
        as_json,
    ):
        """Package runs for a code competition: a Kaggle dataset + an offline notebook.

        The dataset holds the run folders (a blend's members too), a wheel of kagglekit, the
        wheels Kaggle's image lacks and a checksum manifest; the notebook installs from it
        with the internet off, predicts the competition's test file and writes
        /kaggle/working/submission.csv. --push uploads both; then `kagglekit submit RUN
        --upload --wait` submits the notebook and prints the score.

        Example: kagglekit package RUN --push && kagglekit submit RUN --upload --wait
        """
        from kagglekit.package import KAGGLE_PREINSTALLED, PackageOptions, build_package
        from kagglekit.package.wheels import read_preinstalled, read_preinstalled_versions
        from kagglekit.store.refs import resolve_run

        runs = [resolve_run(ref, runs_dir) for ref in run_refs]
        if push and any(r.info.get("sample") for r in runs):
            from kagglekit.package import PackageError

            sample = next(r for r in runs if r.info.get("sample"))
            raise PackageError(
                f"run {sample.id} was trained on a generated sample, not the "
                f"real data; refusing to push it (fetch the data and rerun)"
            )
        first = runs[0]
        options = PackageOptions(
            output=output or Path("packages") / first.competition / first.id,
            owner=_owner(owner, push),
            dataset_slug=dataset_slug,
            kernel_slug=kernel_slug,
            python_version=python_version,
            platform=platform,
            include_preinstalled=include_preinstalled,
            preinstalled=read_preinstalled(preinstalled_file)
            if preinstalled_file
            else KAGGLE_PREINSTALLED,
            preinstalled_versions=read_preinstalled_versions(preinstalled_file)
            if preinstalled_file
            else {},
            extra_requirements=tuple(extra),
            find_links=tuple(find_links),
            no_index=no_index,
        )
        session = None
        if push:  # credentials first: no package is built for a push that cannot happen
            from kagglekit.kaggle_client.session import connect

            session = connect()
        built = build_package(runs, options, on_progress=info)
        info(
            f"Package for {built.competition} in {built.path}: dataset {built.dataset} "
            f"({len(built.runs)} run(s), {len(built.wheels)} wheel(s) for Python "
            f"{python_version} on {platform}; left to the image: "
            f"{', '.join(built.skipped) or 'nothing'}), notebook {built.kernel}"
            f"{f' on a {built.accelerator.upper()}' if built.accelerator else ''}"
        )
        payload = built.summary()
        if push:
            from kagglekit.kaggle_client.package import push_package

            pushed = push_package(
                built,
                message or f"kagglekit {first.id}",
                runs_dir,
                session=session,
                on_progress=info,
            )
            assert session is not None  # connected above for a push
            kaggle_notes(session.notes)
            info(f"Next: kagglekit submit {first.id} --upload --wait")
            payload["pushed"] = pushed.summary()
        if as_json:
            emit_json(payload)
        else:
            click.echo(str(built.path))
