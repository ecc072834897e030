"""Where kagglekit finds Kaggle credentials, and that they are redacted from everything."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("kagglesdk", reason="needs the kaggle client: pip install 'kagglekit[kaggle]'")

from kagglekit import kaggle_client
from support.fake_kaggle import BASIC, KEY, TOKEN, USERNAME, invoke, one_line_error


def test_key_from_variables_then_file(kaggle_home, monkeypatch):
    (kaggle_home / "kaggle.json").write_text(
        json.dumps({"username": "file-user", "key": "filekey1"})
    )
    found = kaggle_client.credentials.find_credentials()
    assert (found.kind, found.source, found.username) == (
        "key",
        str(kaggle_home / "kaggle.json"),
        "file-user",
    )
    monkeypatch.setenv("KAGGLE_USERNAME", USERNAME)
    monkeypatch.setenv("KAGGLE_KEY", KEY)
    found = kaggle_client.credentials.find_credentials()
    assert (found.source, found.username) == ("KAGGLE_USERNAME/KAGGLE_KEY", USERNAME)
    assert KEY not in repr(found)  # the secrets are not part of its repr


def test_the_xdg_config_dir_is_used_when_there_is_no_dot_kaggle(tmp_path, monkeypatch, kaggle_home):
    home = tmp_path / "bare-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "kaggle").mkdir(parents=True)
    (tmp_path / "xdg" / "kaggle" / "kaggle.json").write_text(
        json.dumps({"username": USERNAME, "key": KEY})
    )
    assert kaggle_client.credentials.find_credentials().source == str(
        tmp_path / "xdg/kaggle/kaggle.json"
    )


def test_token_first_and_every_secret_is_redacted(kaggle_home, monkeypatch):
    monkeypatch.setenv("KAGGLE_API_TOKEN", TOKEN)
    monkeypatch.setenv("KAGGLE_USERNAME", USERNAME)
    monkeypatch.setenv("KAGGLE_KEY", KEY)
    found = kaggle_client.credentials.find_credentials()
    assert (found.kind, found.source) == ("token", "KAGGLE_API_TOKEN")
    text = f"Authorization: Basic {BASIC} Bearer {TOKEN} key={KEY}"
    assert found.redact(text) == "Authorization: Basic *** Bearer *** key=***"


def test_token_file_in_dot_kaggle(kaggle_home):
    (kaggle_home / "access_token").write_text(TOKEN + "\n")
    found = kaggle_client.credentials.find_credentials()
    assert (found.kind, found.source) == ("token", "access_token")


def test_incomplete_credentials_name_what_is_missing(kaggle_home, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", USERNAME)
    with pytest.raises(kaggle_client.credentials.NoCredentials, match="KAGGLE_KEY .* is missing"):
        kaggle_client.credentials.find_credentials()


def test_what_the_client_prints_is_redacted(kaggle_server, monkeypatch):
    """Anything the client prints comes back as notes on stderr, with credentials masked."""
    kaggle_server.add("nlp-getting-started", b"")
    api_cls = kaggle_client.session._import_kaggle_api()
    real = api_cls.competition_submissions

    def chatty(self, *args, **kwargs):
        print(f"debug: using key {KEY} for {USERNAME}")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(api_cls, "competition_submissions", chatty)
    result = invoke("submissions", "disaster-tweets")
    assert f"kaggle: debug: using key *** for {USERNAME}" in result.stderr
    assert KEY not in result.stdout + result.stderr


def test_a_verbose_environment_does_not_dump_headers(kaggle_server, monkeypatch, capfd):
    """The client's verbose mode prints request headers (with the credentials): kept off."""
    kaggle_server.add("nlp-getting-started", b"")
    api_cls = kaggle_client.session._import_kaggle_api()
    monkeypatch.setattr(api_cls, "args", ["--verbose"])
    session = kaggle_client.session.connect()
    assert "--verbose" not in session.api.args
    kaggle_client.submit.submissions("nlp-getting-started", session=session)
    out, err = capfd.readouterr()
    assert BASIC not in out + err and "Authorization" not in out + err
    assert not any("Authorization" in note for note in session.notes)


def test_the_rules_error_names_the_token_user(kaggle_server, monkeypatch):
    monkeypatch.delenv("KAGGLE_USERNAME")
    monkeypatch.delenv("KAGGLE_KEY")
    monkeypatch.setenv("KAGGLE_API_TOKEN", TOKEN)
    kaggle_server.add("nlp-getting-started", b"", rules_accepted=False)
    error = one_line_error(invoke("fetch", "disaster-tweets", expect=None))
    assert f"signed in as {USERNAME}" in error
