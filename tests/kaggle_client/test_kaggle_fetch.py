"""kagglekit fetch: the real kaggle client end to end against a stand-in Kaggle on loopback."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("kagglesdk", reason="needs the kaggle client: pip install 'kagglekit[kaggle]'")

import support
from kagglekit import kaggle_client, plugins
from kagglekit.competition import Competition
from kagglekit.hookspecs import hookimpl
from support.fake_kaggle import (
    KEY,
    TOKEN,
    USERNAME,
    assert_no_secrets,
    closed_port_url,
    csv_files,
    flat_zip,
    invoke,
    nested_zip,
    one_line_error,
    point_client_at,
    toxic_files,
    zip_bytes,
)

TWEETS = "nlp-getting-started"
TOXIC = "kk-test-toxic-layout"
TOXIC_LABELS = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")


class ToxicLayoutPlugin:
    """An in-test competition with Jigsaw toxic's columns (its zip nests train.csv.zip ...)."""

    @staticmethod
    @hookimpl
    def register_competitions(register):
        register(
            Competition(
                name=TOXIC,
                title="toxic layout",
                task="multilabel",
                id_column="id",
                text_columns=("comment_text",),
                target_columns=TOXIC_LABELS,
                metric="mean_auc",
            )
        )


@pytest.fixture
def toxic_plugin():
    plugins.register_plugin(ToxicLayoutPlugin, name="kk-test-toxic")
    try:
        yield TOXIC
    finally:
        plugins.unregister_plugin("kk-test-toxic")


def tweets_zip(tmp_path, seed=0) -> bytes:
    comp = plugins.get_competition("disaster-tweets")
    folder = tmp_path / f"tweets-src-{seed}"
    folder.mkdir(exist_ok=True)
    comp.make_sample(folder, n_train=120, n_test=40, seed=seed)
    return flat_zip(csv_files(folder))


def test_fetch_downloads_unzips_and_validates(kaggle_server, tmp_path):
    kaggle_server.add(TWEETS, tweets_zip(tmp_path))
    root = tmp_path / "data"
    result = invoke("fetch", "disaster-tweets", "--data-dir", root)
    target = root / TWEETS
    assert result.stdout.strip() == str(target)
    assert sorted(p.name for p in target.iterdir()) == [
        ".kagglekit-fetch.json",
        "sample_submission.csv",
        "test.csv",
        "train.csv",
    ]
    manifest = json.loads((target / ".kagglekit-fetch.json").read_text())
    assert manifest["files"]["train.csv"] == (target / "train.csv").stat().st_size
    assert kaggle_server.count("DownloadDataFiles") == 1 and kaggle_server.downloads() == 1
    assert kaggle_server.auth_headers[0].startswith("Basic ")
    # the files are the competition's: the core loads and validates them
    data = json.loads(invoke("data", "disaster-tweets", "--data-dir", root, "--json").stdout)
    assert (data["n_train"], data["n_test"], data["path"]) == (120, 40, str(target))
    # nothing but the target folder in the data root (no temporary leftovers)
    assert [p.name for p in root.iterdir()] == [TWEETS]


def test_second_fetch_does_nothing_and_force_downloads_again(kaggle_server, tmp_path):
    kaggle_server.add(TWEETS, tweets_zip(tmp_path, seed=0))
    root = tmp_path / "data"
    invoke("fetch", "disaster-tweets", "--data-dir", root)
    before = (root / TWEETS / "train.csv").read_bytes()
    again = invoke("fetch", "disaster-tweets", "--data-dir", root, "--json")
    payload = json.loads(again.stdout)
    assert payload["status"] == "complete" and payload["bytes_downloaded"] == 0
    assert "nothing to download" in again.stderr
    assert kaggle_server.count("DownloadDataFiles") == 1
    # --force: downloaded again, new content replaces the old files
    kaggle_server.add(TWEETS, tweets_zip(tmp_path, seed=1))
    forced = json.loads(
        invoke("fetch", "disaster-tweets", "--data-dir", root, "--force", "--json").stdout
    )
    assert forced["status"] == "downloaded" and forced["bytes_downloaded"] > 0
    assert kaggle_server.count("DownloadDataFiles") == 2
    after = (root / TWEETS / "train.csv").read_bytes()
    assert after != before
    assert sorted(p.name for p in root.iterdir()) == [TWEETS]


def test_files_placed_by_hand_count_as_complete(kaggle_server, tmp_path):
    target = tmp_path / "data" / TWEETS
    target.mkdir(parents=True)
    for name in ("train.csv", "test.csv", "sample_submission.csv"):
        (target / name).write_text("id\n1\n")
    payload = json.loads(
        invoke("fetch", "disaster-tweets", "--data-dir", tmp_path / "data", "--json").stdout
    )
    assert payload["status"] == "complete"
    assert kaggle_server.requests == []


def test_nested_zips_are_unpacked_like_jigsaw(kaggle_server, toxic_plugin, tmp_path):
    kaggle_server.add(TOXIC, nested_zip(toxic_files()))
    root = tmp_path / "data"
    invoke("fetch", TOXIC, "--data-dir", root)
    target = root / TOXIC
    assert sorted(p.name for p in target.iterdir() if not p.name.startswith(".")) == [
        "sample_submission.csv",
        "test.csv",
        "test_labels.csv",
        "train.csv",
    ]
    assert not list(target.rglob("*.zip"))
    assert (target / "train.csv").read_bytes() == toxic_files()["train.csv"]
    data = json.loads(invoke("data", TOXIC, "--data-dir", root, "--json").stdout)
    assert data["n_train"] == 24 and set(data["positive_rate"]) == set(TOXIC_LABELS)


def test_a_nested_zip_of_folders_unpacks_into_its_own_folder(kaggle_server, tmp_path):
    """Quora's layout: the CSVs plus embeddings.zip holding one folder per embedding."""
    embeddings = zip_bytes(
        {
            "glove.840B.300d/glove.840B.300d.txt": b"the 0.1 0.2\n",
            "paragram_300_sl999/README.txt": b"paragram\n",
            "paragram_300_sl999/paragram_300_sl999.txt": b"the 0.3 0.4\n",
        }
    )
    slug = "kk-quora-layout"  # no adapter by this name: fetched as a bare Kaggle slug
    kaggle_server.add(
        slug,
        zip_bytes(
            {
                "train.csv": b"qid,question_text,target\na,b,0\n",
                "test.csv": b"qid,question_text\nc,d\n",
                "sample_submission.csv": b"qid,prediction\nc,0\n",
                "embeddings.zip": embeddings,
            }
        ),
    )
    result = invoke("fetch", slug, "--json")
    target = Path("input") / slug
    assert json.loads(result.stdout)["path"] == str(target)
    assert "no kagglekit adapter" in result.stderr
    assert (
        target / "embeddings/glove.840B.300d/glove.840B.300d.txt"
    ).read_bytes() == b"the 0.1 0.2\n"
    assert (target / "embeddings/paragram_300_sl999/README.txt").is_file()
    assert not (target / "embeddings.zip").exists()


def test_data_root_is_kagglekit_data_then_input(kaggle_server, tmp_path, monkeypatch):
    kaggle_server.add(TWEETS, tweets_zip(tmp_path))
    monkeypatch.setenv("KAGGLEKIT_DATA", str(tmp_path / "env-root"))
    assert invoke("fetch", "disaster-tweets").stdout.strip() == str(tmp_path / "env-root" / TWEETS)
    monkeypatch.delenv("KAGGLEKIT_DATA")
    assert invoke("fetch", "disaster-tweets").stdout.strip() == str(Path("input") / TWEETS)
    assert (Path("input") / TWEETS / "train.csv").is_file()
    # and the core finds it there without --data-dir
    assert json.loads(invoke("data", "disaster-tweets", "--json").stdout)["n_train"] == 120


def test_inside_a_kaggle_notebook_nothing_is_downloaded(kaggle_server, tmp_path, monkeypatch):
    import kagglekit.data

    attached = tmp_path / "kaggle-input"
    (attached / TWEETS).mkdir(parents=True)
    (attached / TWEETS / "train.csv").write_text("id,text,target\n")
    monkeypatch.setattr(kagglekit.data, "KAGGLE_INPUT", attached)
    monkeypatch.delenv("KAGGLE_USERNAME")  # no credentials needed either
    monkeypatch.delenv("KAGGLE_KEY")
    result = invoke("fetch", "disaster-tweets", "--force", "--json")
    payload = json.loads(result.stdout)
    assert payload["status"] == "kaggle-input" and payload["path"] == str(attached / TWEETS)
    assert kaggle_server.requests == []
    assert not Path("input").exists()


def test_interrupted_download_leaves_no_partial_file(kaggle_server, tmp_path):
    kaggle_server.add(TWEETS, tweets_zip(tmp_path))
    kaggle_server.truncate_downloads = True
    root = tmp_path / "data"
    error = one_line_error(invoke("fetch", "disaster-tweets", "--data-dir", root, expect=None))
    assert "nothing was kept" in error and "run this again" in error
    assert not root.exists() or list(root.iterdir()) == []
    # a stale temporary folder of a killed fetch is cleaned up, never read as data
    stale = root / f".{TWEETS}.fetch-999999999-deadbeef" / "files"
    stale.mkdir(parents=True)
    (stale / "train.csv").write_text("partial")
    kaggle_server.truncate_downloads = False
    invoke("fetch", "disaster-tweets", "--data-dir", root)
    assert sorted(p.name for p in root.iterdir()) == [TWEETS]


def test_failed_force_keeps_the_old_complete_files(kaggle_server, tmp_path):
    kaggle_server.add(TWEETS, tweets_zip(tmp_path))
    root = tmp_path / "data"
    invoke("fetch", "disaster-tweets", "--data-dir", root)
    before = {p.name: p.read_bytes() for p in (root / TWEETS).iterdir()}
    kaggle_server.truncate_downloads = True
    one_line_error(invoke("fetch", "disaster-tweets", "--data-dir", root, "--force", expect=None))
    assert {p.name: p.read_bytes() for p in (root / TWEETS).iterdir()} == before
    assert sorted(p.name for p in root.iterdir()) == [TWEETS]


# ---------------------------------------------------------------- errors: one line, exit 2


def test_no_credentials_says_where_to_put_them(kaggle_server, monkeypatch, kaggle_home):
    monkeypatch.delenv("KAGGLE_USERNAME")
    monkeypatch.delenv("KAGGLE_KEY")
    error = one_line_error(invoke("fetch", "disaster-tweets", expect=None))
    assert "no Kaggle credentials" in error
    assert str(kaggle_home / "kaggle.json") in error
    assert "KAGGLE_USERNAME" in error and "KAGGLE_API_TOKEN" in error
    assert "https://www.kaggle.com/settings" in error
    assert kaggle_server.requests == []


def test_bad_key_is_a_401_with_the_fix(kaggle_server, monkeypatch, tmp_path):
    kaggle_server.add(TWEETS, tweets_zip(tmp_path))
    monkeypatch.setenv("KAGGLE_KEY", "wrong" + KEY)
    result = invoke("fetch", "disaster-tweets", expect=None)
    error = one_line_error(result)
    assert "HTTP 401" in error and "KAGGLE_USERNAME/KAGGLE_KEY" in error
    assert "https://www.kaggle.com/settings" in error
    assert "wrong" + KEY not in result.output + result.stderr
    assert not Path("input").exists()


def test_rules_not_accepted_is_a_403_with_the_rules_url(kaggle_server, tmp_path):
    kaggle_server.add(TWEETS, tweets_zip(tmp_path), rules_accepted=False)
    error = one_line_error(invoke("fetch", "disaster-tweets", expect=None))
    assert "HTTP 403" in error
    assert f"https://www.kaggle.com/competitions/{TWEETS}/rules" in error
    assert USERNAME in error


def test_unknown_competition_is_a_404(kaggle_server):
    error = one_line_error(invoke("fetch", "no-such-competition-xyz", expect=None))
    assert "HTTP 404" in error and "'no-such-competition-xyz'" in error


def test_a_name_that_is_no_slug_is_refused_before_any_request(kaggle_server):
    error = one_line_error(invoke("fetch", "Disaster_Tweets!", expect=None))
    assert "unknown competition" in error
    assert kaggle_server.requests == []


def test_no_network_is_one_line(kaggle_server, monkeypatch):
    point_client_at(monkeypatch, closed_port_url())
    error = one_line_error(invoke("fetch", "disaster-tweets", expect=None))
    assert "cannot reach Kaggle" in error and "Connection refused" in error
    assert not Path("input").exists()


def _enospc_writer(real_open):
    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def fake_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        return Full(f) if "w" in mode and "b" in mode else f

    return fake_open


def test_disk_full_while_downloading(kaggle_server, tmp_path, monkeypatch):
    kaggle_server.add(TWEETS, tweets_zip(tmp_path))
    monkeypatch.setattr(kaggle_client.fetch, "open", _enospc_writer(open), raising=False)
    root = tmp_path / "data"
    error = one_line_error(invoke("fetch", "disaster-tweets", "--data-dir", root, expect=None))
    assert "disk full" in error and str(root) in error and "--data-dir" in error
    assert not root.exists() or list(root.iterdir()) == []


def test_disk_full_while_unzipping(kaggle_server, tmp_path, monkeypatch):
    kaggle_server.add(TWEETS, tweets_zip(tmp_path))
    monkeypatch.setattr(zipfile, "open", _enospc_writer(open), raising=False)
    root = tmp_path / "data"
    error = one_line_error(invoke("fetch", "disaster-tweets", "--data-dir", root, expect=None))
    assert "disk full" in error
    assert not root.exists() or list(root.iterdir()) == []


def test_too_little_free_space_is_said_before_writing(kaggle_server, tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    kaggle_server.add(TWEETS, tweets_zip(tmp_path))
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 100, 100))
    error = one_line_error(
        invoke("fetch", "disaster-tweets", "--data-dir", tmp_path / "d", expect=None)
    )
    assert "disk full" in error and "only 100 bytes is free" in error
    assert str(tmp_path / "d") in error


# ---------------------------------------------------------------- credentials


def test_kaggle_json_in_the_config_dir_works(kaggle_server, monkeypatch, kaggle_home, tmp_path):
    kaggle_server.add(TWEETS, tweets_zip(tmp_path))
    monkeypatch.delenv("KAGGLE_USERNAME")
    monkeypatch.delenv("KAGGLE_KEY")
    (kaggle_home / "kaggle.json").write_text(json.dumps({"username": USERNAME, "key": KEY}))
    (kaggle_home / "kaggle.json").chmod(0o600)
    invoke("fetch", "disaster-tweets")
    assert kaggle_server.auth_headers[-1].startswith("Basic ")


def test_a_damaged_kaggle_json_is_one_line(kaggle_server, monkeypatch, kaggle_home):
    monkeypatch.delenv("KAGGLE_USERNAME")
    monkeypatch.delenv("KAGGLE_KEY")
    (kaggle_home / "kaggle.json").write_text("{not json")
    error = one_line_error(invoke("fetch", "disaster-tweets", expect=None))
    assert "kaggle.json is not valid JSON" in error


def test_api_token_works_and_a_bad_one_is_one_line(kaggle_server, monkeypatch, tmp_path):
    kaggle_server.add(TWEETS, tweets_zip(tmp_path))
    monkeypatch.delenv("KAGGLE_USERNAME")
    monkeypatch.delenv("KAGGLE_KEY")
    monkeypatch.setenv("KAGGLE_API_TOKEN", TOKEN)
    invoke("fetch", "disaster-tweets")
    assert kaggle_server.count("IntrospectToken") == 1
    assert kaggle_server.auth_headers[-1] == f"Bearer {TOKEN}"
    monkeypatch.setenv("KAGGLE_API_TOKEN", "KGAT_revoked0000")
    result = invoke("fetch", "disaster-tweets", "--force", expect=None)
    error = one_line_error(result)
    assert "did not accept the token from KAGGLE_API_TOKEN" in error
    assert "KGAT_revoked0000" not in result.output + result.stderr
    assert "Authentication required" not in result.output + result.stderr


def test_credentials_never_appear_in_output_logs_or_files(
    kaggle_server, tmp_path, caplog, monkeypatch
):
    import logging

    caplog.set_level(logging.DEBUG)
    kaggle_server.add(TWEETS, tweets_zip(tmp_path))
    outputs = []
    for args in (
        ("fetch", "disaster-tweets"),
        ("fetch", "disaster-tweets", "--json"),
        ("fetch", "disaster-tweets", "--force", "--json"),
    ):
        r = invoke(*args)
        outputs += [r.stdout, r.stderr]
    kaggle_server.add(TWEETS, tweets_zip(tmp_path), rules_accepted=False)
    r = invoke("fetch", "disaster-tweets", "--force", expect=2)
    outputs += [r.stdout, r.stderr]
    monkeypatch.setenv("KAGGLE_API_TOKEN", TOKEN)
    r = invoke("fetch", "no-such-competition-xyz", expect=2)
    outputs += [r.stdout, r.stderr]
    assert_no_secrets(*outputs, caplog.text, files_under=tmp_path, skip=tmp_path / "home")


def test_importing_the_client_does_not_authenticate_or_exit(tmp_path):
    """kaggle/__init__.py authenticates on import (help text + exit(1) without credentials);
    kagglekit imports the client without it."""
    env = {
        "HOME": str(tmp_path),
        "KAGGLE_CONFIG_DIR": str(tmp_path / "cfg"),
        "PATH": "/usr/bin:/bin",
    }
    code = (
        "from kagglekit.kaggle_client import session\n"
        "api = session._import_kaggle_api()\n"
        "print('imported', api.__name__)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "imported KaggleApi"
    assert "Authentication" not in proc.stdout + proc.stderr


def test_help_does_not_import_the_kaggle_client():
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom kagglekit.cli import cli\n"
        "r = CliRunner().invoke(cli, ['fetch', '--help'])\nassert r.exit_code == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kaggle', 'kagglesdk',"
        " 'requests')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_progress_is_reported_for_download_and_unzip(kaggle_server, tmp_path):
    """The CLI draws these events as a rich progress bar on stderr (when it is a terminal)."""
    archive = nested_zip(toxic_files())
    kaggle_server.add(TWEETS, archive)
    events = []
    result = kaggle_client.fetch.fetch(
        TWEETS,
        tmp_path / "data",
        progress=lambda stage, done, total: events.append((stage, done, total)),
    )
    assert result.status == "downloaded" and result.bytes_downloaded == len(archive)
    downloads = [e for e in events if e[0] == "download"]
    assert downloads[0] == ("download", 0, len(archive))
    assert downloads[-1] == ("download", len(archive), len(archive))
    done = [d for _, d, _ in downloads]
    assert done == sorted(done)
    unzips = [e for e in events if e[0].startswith("unzip ")]
    assert unzips and all(d <= t for _, d, t in unzips)
    assert {stage for stage, _, _ in unzips} == {
        f"unzip {TWEETS}.zip",
        "unzip train.csv.zip",
        "unzip test.csv.zip",
        "unzip sample_submission.csv.zip",
        "unzip test_labels.csv.zip",
    }
    size = len(toxic_files()["train.csv"])
    assert ("unzip train.csv.zip", size, size) in unzips


def test_data_dir_may_name_the_competition_folder_itself(kaggle_server, tmp_path):
    kaggle_server.add(TWEETS, tweets_zip(tmp_path))
    target = tmp_path / "kaggle-data" / TWEETS
    assert invoke("fetch", "disaster-tweets", "--data-dir", target).stdout.strip() == str(target)
    assert (target / "train.csv").is_file() and not (target / TWEETS).exists()


def test_an_unwritable_data_root_is_one_line(kaggle_server, tmp_path):
    kaggle_server.add(TWEETS, tweets_zip(tmp_path))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    error = one_line_error(
        invoke("fetch", "disaster-tweets", "--data-dir", blocker / "root", expect=None)
    )
    assert f"cannot write the {TWEETS} files under {blocker / 'root'}" in error
    assert "--data-dir" in error


SHARED = support.SHARED / "data"


def shared_files(slug: str) -> dict[str, bytes]:
    folder = SHARED / slug
    if not folder.is_dir():
        pytest.skip(f"{folder} not present (../shared is only on CI and dev machines)")
    return csv_files(folder)


@pytest.mark.real_data
def test_real_disaster_tweets_files_round_trip(kaggle_server, tmp_path):
    files = shared_files(TWEETS)
    kaggle_server.add(TWEETS, flat_zip(files))
    root = tmp_path / "data"
    invoke("fetch", "disaster-tweets", "--data-dir", root)
    assert csv_files(root / TWEETS) == files
    data = json.loads(invoke("data", "disaster-tweets", "--data-dir", root, "--json").stdout)
    assert (data["n_train"], data["n_test"]) == (7613, 3263)


@pytest.mark.real_data
def test_real_jigsaw_files_in_jigsaw_nested_layout(kaggle_server, toxic_plugin, tmp_path):
    files = shared_files("jigsaw-toxic-comment-classification-challenge")
    kaggle_server.add(TOXIC, nested_zip(files))
    root = tmp_path / "data"
    invoke("fetch", TOXIC, "--data-dir", root)
    assert csv_files(root / TOXIC) == files
    data = json.loads(invoke("data", TOXIC, "--data-dir", root, "--json").stdout)
    assert (data["n_train"], data["n_test"]) == (6382, 7700)
