"""The package's parts: the wheelhouse (only what the image lacks, followed through
dependencies, offline from --find-links), the accelerator a run asks for, blends packaged
with their members and predicting from the package alone."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from packaging.requirements import Requirement

from kagglekit.package import PackageError
from kagglekit.package.build import is_neural, run_accelerator
from kagglekit.package.kernel import kernel_metadata
from kagglekit.package.wheels import download_wheels, platform_tags, read_preinstalled
from support.fake_kaggle import invoke, one_line_error
from support.package import cv_run, package_args, write_preinstalled

TARGET = {"python_version": "3.12", "platform": "manylinux_2_35_x86_64"}


def make_wheel(directory: Path, name: str, version: str, requires=(), extras=()) -> Path:
    """A minimal pure-Python wheel with this Requires-Dist."""
    directory.mkdir(parents=True, exist_ok=True)
    info = f"{name}-{version}.dist-info"
    metadata = "".join(
        [
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
            *[f"Provides-Extra: {e}\n" for e in extras],
            *[f"Requires-Dist: {r}\n" for r in requires],
        ]
    )
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}/__init__.py", "")
        zf.writestr(f"{info}/METADATA", metadata)
        zf.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        zf.writestr(f"{info}/RECORD", "")
    return path


@pytest.fixture
def links(tmp_path) -> Path:
    links = tmp_path / "links"
    make_wheel(
        links,
        "alpha",
        "1.0",
        ["beta>=1", "numpy", "gamma; extra == 'fast'", "delta; sys_platform == 'win32'"],
        extras=["fast"],
    )
    make_wheel(links, "beta", "1.2", ["numpy>=1.0"])
    make_wheel(links, "gamma", "0.5")
    make_wheel(links, "delta", "2.0")
    return links


def test_wheelhouse_follows_dependencies_the_image_lacks_and_no_others(tmp_path, links):
    got = download_wheels(
        [Requirement("alpha")],
        tmp_path / "w1",
        preinstalled=frozenset({"numpy"}),
        find_links=[links],
        no_index=True,
        **TARGET,
    )
    assert sorted(got) == ["alpha", "beta"]  # numpy preinstalled; delta is Windows-only
    assert sorted(p.name for p in (tmp_path / "w1").iterdir()) == [
        "alpha-1.0-py3-none-any.whl",
        "beta-1.2-py3-none-any.whl",
    ]
    got = download_wheels(
        [Requirement("alpha[fast]")],
        tmp_path / "w2",
        preinstalled=frozenset({"numpy"}),
        find_links=[links],
        no_index=True,
        **TARGET,
    )
    assert sorted(got) == ["alpha", "beta", "gamma"]
    got = download_wheels(
        [Requirement("alpha")],
        tmp_path / "w3",
        preinstalled=frozenset({"numpy", "beta"}),
        find_links=[links],
        no_index=True,
        **TARGET,
    )
    assert got == ["alpha"]
    # nothing preinstalled (--include-preinstalled): numpy is needed and cannot be found
    with pytest.raises(PackageError, match="numpy"):
        download_wheels(
            [Requirement("alpha")],
            tmp_path / "w4",
            preinstalled=frozenset(),
            find_links=[links],
            no_index=True,
            **TARGET,
        )


def test_an_image_version_that_does_not_fit_is_refused_at_package_time(tmp_path, links):
    with pytest.raises(
        PackageError,
        match=r"beta needs numpy>=1.0 but the target image has "
        r"numpy 0.9",
    ):
        download_wheels(
            [Requirement("alpha")],
            tmp_path / "w",
            preinstalled=frozenset({"numpy"}),
            versions={"numpy": "0.9"},
            find_links=[links],
            no_index=True,
            **TARGET,
        )
    got = download_wheels(
        [Requirement("alpha")],
        tmp_path / "w2",
        preinstalled=frozenset({"numpy"}),
        versions={"numpy": "2.4.6"},
        find_links=[links],
        no_index=True,
        **TARGET,
    )
    assert sorted(got) == ["alpha", "beta"]


def test_a_manylinux_target_accepts_every_older_manylinux_wheel():
    tags = platform_tags("manylinux_2_35_x86_64")
    assert tags[0] == "manylinux_2_35_x86_64" and tags[-1] == "manylinux1_x86_64"
    for tag in (
        "manylinux_2_28_x86_64",
        "manylinux_2_17_x86_64",
        "manylinux2014_x86_64",
        "manylinux2010_x86_64",
    ):
        assert tag in tags
    assert "manylinux_2_36_x86_64" not in tags
    assert platform_tags("win_amd64") == ["win_amd64"]


def test_preinstalled_list_reads_pip_freeze(tmp_path):
    freeze = tmp_path / "freeze.txt"
    freeze.write_text(
        "# from a Kaggle notebook\nNumPy==2.4.6\nscikit_learn==1.6.1\n"
        "-e git+https://x/y#egg=z\nkeras @ file:///tmp/keras.whl\n\n"
    )
    assert read_preinstalled(freeze) == {"numpy", "scikit-learn", "keras"}


def test_package_with_a_plugin_ships_it_and_installs_it(tmp_path, tweets_dir, links):
    run_id = cv_run(tweets_dir, "disaster-tweets")
    out = tmp_path / "pkg"
    built = json.loads(
        invoke(
            *package_args(
                run_id,
                out,
                write_preinstalled(tmp_path / "pre.txt"),
                "--with",
                "alpha",
                "--find-links",
                links,
                "--json",
            )
        ).stdout
    )
    assert built["wheels"] == [
        "alpha-1.0-py3-none-any.whl",
        "beta-1.2-py3-none-any.whl",
        "kagglekit-0.1.0-py3-none-any.whl",
    ]
    manifest = json.loads((out / "dataset" / "kagglekit-manifest.json").read_text())
    assert manifest["install"] == ["kagglekit==0.1.0", "alpha"]
    assert "wheels/alpha-1.0-py3-none-any.whl" in manifest["files"]


def test_a_plugin_pip_cannot_find_is_one_line_and_leaves_nothing(tmp_path, tweets_dir, links):
    run_id = cv_run(tweets_dir, "disaster-tweets")
    error = one_line_error(
        invoke(
            *package_args(
                run_id,
                tmp_path / "pkg",
                write_preinstalled(tmp_path / "pre.txt"),
                "--with",
                "no-such-plugin",
                "--find-links",
                links,
            ),
            expect=None,
        )
    )
    assert "no-such-plugin" in error and "downloading wheels" in error
    assert not (tmp_path / "pkg").exists()
    error = one_line_error(
        invoke(
            *package_args(
                run_id,
                tmp_path / "pkg",
                write_preinstalled(tmp_path / "pre.txt"),
                "--with",
                "alpha>=>1",
            ),
            expect=None,
        )
    )
    assert "--with 'alpha>=>1' is not a pip requirement" in error
    assert not (tmp_path / "pkg").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".pkg")] == []


def test_neural_runs_get_an_accelerator_and_tfidf_none(tmp_path):
    def run(params, path=tmp_path / "none"):
        return SimpleNamespace(info={"params": params}, path=path)

    encoder = tmp_path / "encoder"  # no accelerator parameter, a Keras head in its models
    (encoder / "models" / "fold-0").mkdir(parents=True)
    (encoder / "models" / "fold-0" / "head.keras").write_bytes(b"k")
    assert run_accelerator([run({"hidden_units": 0}, encoder)]) == "gpu"
    assert is_neural(run({"hidden_units": 0}, encoder)) and not is_neural(run({"C": 1.0}))
    assert is_neural(run({"accelerator": "cpu"}))

    assert run_accelerator([run({"alpha": 1.0})]) is None
    assert run_accelerator([run({"accelerator": "auto"})]) == "gpu"
    assert run_accelerator([run({"alpha": 1}), run({"accelerator": "gpu"})]) == "gpu"
    assert run_accelerator([run({"accelerator": "cpu"})]) is None
    assert run_accelerator([run({"accelerator": "tpu"}), run({"accelerator": "gpu"})]) == "tpu"
    meta = kernel_metadata(
        kernel="me/k-slug",
        code_file="k.ipynb",
        dataset="me/data",
        competition="c",
        accelerator="gpu",
    )
    assert (meta["enable_gpu"], meta["enable_tpu"], meta["enable_internet"]) == (True, False, False)


def test_a_blend_is_packaged_with_its_members_and_predicts_from_the_package(tmp_path, tweets_dir):
    a = cv_run(tweets_dir, "disaster-tweets", "tfidf-nb")
    b = cv_run(tweets_dir, "disaster-tweets", "tfidf-lr")
    blend = json.loads(invoke("blend", a, b, "--method", "mean", "--json").stdout)["run_id"]
    before = invoke("predict", blend, "--input", tweets_dir / "test.csv").stdout
    out = tmp_path / "pkg"
    invoke(*package_args(blend, out, write_preinstalled(tmp_path / "pre.txt")))
    manifest = json.loads((out / "dataset" / "kagglekit-manifest.json").read_text())
    assert [r["run_id"] for r in manifest["runs"]] == [blend, a, b]
    assert manifest["submit_run"] == blend
    shutil.rmtree("runs")  # as on Kaggle: only the package's copies exist
    packaged = out / "dataset" / "runs" / "nlp-getting-started" / blend
    after = invoke("predict", packaged, "--input", tweets_dir / "test.csv").stdout
    assert (
        after == before and len(pd.read_csv(tweets_dir / "test.csv")) == len(after.splitlines()) - 1
    )


def test_runs_of_two_competitions_are_refused(tmp_path, tweets_dir):
    from support import make_competition_dir

    tweets = cv_run(tweets_dir, "disaster-tweets")
    quora = cv_run(
        make_competition_dir("quora", tmp_path / "data", n_train=120, n_test=30), "quora"
    )
    error = one_line_error(invoke("package", tweets, quora, "--owner", "kk-tester", expect=None))
    assert "several competitions" in error and "nlp-getting-started" in error
    assert not Path("packages").exists()


def test_include_preinstalled_ships_what_the_image_has_too(tmp_path, tweets_dir, links):
    run_id = cv_run(tweets_dir, "disaster-tweets")
    # offline, only alpha and beta can be found: shipping kagglekit's own requirements
    # (numpy, pandas, ...) is attempted and fails, naming them
    error = one_line_error(
        invoke(
            *package_args(
                run_id,
                tmp_path / "pkg",
                write_preinstalled(tmp_path / "pre.txt"),
                "--with",
                "alpha",
                "--find-links",
                links,
                "--include-preinstalled",
            ),
            expect=None,
        )
    )
    assert "downloading wheels for Python" in error and "numpy" in error
    assert not (tmp_path / "pkg").exists()


def test_default_slugs_are_distinct_valid_and_named_as_documented():
    """Kaggle slugs have at most 50 characters; a long competition slug gives way to its
    alias instead of being cut (which made the notebook's slug equal the dataset's)."""
    import re

    from kagglekit import plugins
    from kagglekit.package.build import default_slugs

    registry = plugins.competitions()
    seen = {}
    for name, comp in registry.items.items():
        dataset, kernel = default_slugs(comp)
        assert kernel == f"{dataset}-submission" and dataset != kernel
        assert 6 <= len(dataset) <= 50 and 5 <= len(kernel) <= 50
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", kernel)
        assert dataset not in seen, (name, seen.get(dataset))
        seen[dataset] = name
    quora = plugins.get_competition("quora")
    assert default_slugs(quora) == ("kagglekit-quora", "kagglekit-quora-submission")
    assert default_slugs(plugins.get_competition("disaster-tweets")) == (
        "kagglekit-nlp-getting-started",
        "kagglekit-nlp-getting-started-submission",
    )
    assert (
        default_slugs(plugins.get_competition("jigsaw-multilingual"))[1]
        == "kagglekit-jigsaw-multilingual-submission"
    )
    # no slug or alias fits: shortened with a hash of the slug, still distinct and valid
    from dataclasses import replace

    long = replace(quora, name="a-very-long-competition-name-" + "x" * 40, aliases=())
    other = replace(long, name=long.name + "y")
    (d1, k1), (d2, k2) = default_slugs(long), default_slugs(other)
    assert len(k1) <= 50 and len(k2) <= 50 and k1 != k2 and d1 != d2
    assert k1 == f"{d1}-submission"


def test_a_slug_kaggle_would_refuse_is_refused_not_cut(tmp_path):
    from support import make_competition_dir

    data = make_competition_dir("quora", tmp_path / "data", n_train=120, n_test=30)
    run_id = cv_run(data, "quora")
    error = one_line_error(
        invoke("package", run_id, "--owner", "kk-tester", "--kernel", "k" * 51, expect=None)
    )
    assert "--kernel" in error and "51 characters" in error
    assert "Kaggle takes 5 to 50" in error
    error = one_line_error(
        invoke("package", run_id, "--owner", "kk-tester", "--dataset", "abc", expect=None)
    )
    assert "--dataset 'abc'" in error and "6 to 50" in error
    assert not Path("packages").exists()
