"""A stand-in for Kaggle's API on 127.0.0.1 (the fixtures are in kaggle_fixtures.py).

The official client (kaggle 2.x over kagglesdk) POSTs JSON to
``<endpoint>/v1/<service>/<method>``; the endpoint comes from kagglesdk's table
``kagglesdk.kaggle_env._env_to_endpoint`` (production: https://api.kaggle.com), chosen by
``KAGGLE_API_ENVIRONMENT``. kaggle_fixtures' ``kaggle_server`` fixture points every entry
of that table at this server and refuses any socket connection that is not to loopback, so
no test can reach the internet. The server answers exactly the calls kagglekit makes:

    POST /v1/security.OAuthService/IntrospectToken                  (KAGGLE_API_TOKEN)
    POST /v1/competitions.CompetitionApiService/DownloadDataFiles   -> 302 to /storage/<slug>.zip
    GET  /storage/<slug>.zip                                        the zip, real layout
    POST /v1/competitions.CompetitionApiService/StartSubmissionUpload -> createUrl /upload/<token>
    PUT  /upload/<token>                                            the submission file
    POST /v1/competitions.CompetitionApiService/CreateSubmission    -> ref
    POST /v1/competitions.CompetitionApiService/ListSubmissions     PENDING, then COMPLETE

and the dataset, notebook and notebook-submission calls of code competitions
(fake_kaggle_code.py),

with Kaggle's JSON errors ({"code": 401|403|404, "message": ...}) for a bad key, rules not
accepted and an unknown competition.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import socket
import threading
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from support import (  # noqa: F401 - invoke, one_line_error: the CLI helpers, re-exported
    fake_kaggle_code,
    invoke,
    one_line_error,
)

USERNAME = "kk-tester"
KEY = "0123456789abcdefKEYkagglekit9f8e7d6c"
TOKEN = "KGAT_tokenkagglekit0c1d2e3f4a5b6c7d8e9f"
BASIC = base64.b64encode(f"{USERNAME}:{KEY}".encode()).decode()
SECRETS = (KEY, TOKEN, BASIC)
SERVICE = "competitions.CompetitionApiService"


# ---------------------------------------------------------------- zips in the real layouts


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def flat_zip(files: dict[str, bytes]) -> bytes:
    """Disaster Tweets / Quora: the CSVs at the top of <slug>.zip."""
    return zip_bytes(files)


def nested_zip(files: dict[str, bytes]) -> bytes:
    """Jigsaw toxic: <slug>.zip holds train.csv.zip, test.csv.zip, ... each holding its CSV."""
    return zip_bytes({f"{name}.zip": zip_bytes({name: content}) for name, content in files.items()})


def csv_files(directory: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in sorted(Path(directory).iterdir())
        if p.is_file() and not p.name.startswith(".")
    }


def toxic_files(n_train: int = 24, n_test: int = 10) -> dict[str, bytes]:
    """Jigsaw toxic's four files in their exact columns (small)."""
    labels = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")
    train = ["id,comment_text," + ",".join(labels)]
    for i in range(n_train):
        flags = [1 if (i + j) % 3 == 0 else 0 for j in range(len(labels))]
        train.append(f'{i:016x},"comment number {i}, with a comma",' + ",".join(map(str, flags)))
    test = ["id,comment_text"] + [f"{1000 + i:016x},test comment {i}" for i in range(n_test)]
    sample = ["id," + ",".join(labels)] + [
        f"{1000 + i:016x}," + ",".join(["0.5"] * 6) for i in range(n_test)
    ]
    test_labels = ["id," + ",".join(labels)] + [
        f"{1000 + i:016x}," + ",".join(["-1"] * 6) for i in range(n_test)
    ]
    as_bytes = lambda rows: ("\n".join(rows) + "\n").encode()  # noqa: E731
    return {
        "train.csv": as_bytes(train),
        "test.csv": as_bytes(test),
        "sample_submission.csv": as_bytes(sample),
        "test_labels.csv": as_bytes(test_labels),
    }


# ---------------------------------------------------------------- the server


@dataclass
class FakeCompetition:
    zip: bytes
    rules_accepted: bool = True
    title: str = ""


@dataclass
class FakeKaggle:
    """State of the stand-in Kaggle; tests change it between calls."""

    competitions: dict[str, FakeCompetition] = field(default_factory=dict)
    submissions: dict[str, list[dict]] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)
    upload_names: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    auth_headers: list[str] = field(default_factory=list)
    polls_until_scored: int = 1
    public_score: str = "0.81234"
    score_error: str | None = None
    truncate_downloads: bool = False
    next_ref: int = 41000
    url: str = ""
    code: fake_kaggle_code.FakeCode = field(default_factory=fake_kaggle_code.FakeCode)

    def add(self, slug: str, zip_data: bytes, rules_accepted: bool = True) -> None:
        self.competitions[slug] = FakeCompetition(zip_data, rules_accepted, title=slug)

    def count(self, method: str) -> int:
        return sum(1 for _, path in self.requests if path.endswith("/" + method))

    def downloads(self) -> int:
        return sum(
            1 for verb, path in self.requests if verb == "GET" and path.startswith("/storage/")
        )


def _make_handler(state: FakeKaggle):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep the test output clean
            pass

        # -- plumbing
        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = b""
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _send(
            self, status: int, payload=None, body: bytes | None = None, headers: dict | None = None
        ) -> None:
            if payload is not None:
                body = json.dumps(payload).encode()
                headers = {"Content-Type": "application/json", **(headers or {})}
            body = body or b""
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, message: str) -> None:
            self._send(status, {"code": status, "message": message})

        def _authorized(self) -> bool:
            header = self.headers.get("Authorization", "")
            state.auth_headers.append(header)
            return header in (f"Basic {BASIC}", f"Bearer {TOKEN}")

        # -- verbs
        def do_POST(self):
            path = self.path.split("?")[0]
            if path.startswith("/api/v1/"):
                path = path[len("/api") :]
            state.requests.append(("POST", path))
            try:
                request = json.loads(self._body() or b"{}")
            except ValueError:
                return self._error(400, "bad JSON")
            if path == "/v1/security.OAuthService/IntrospectToken":
                active = request.get("token") == TOKEN
                return self._send(200, {"active": active, "username": USERNAME if active else ""})
            if path.startswith(tuple(f"/v1/{s}/" for s in fake_kaggle_code.SERVICES)):
                if not self._authorized():
                    return self._error(401, "Unauthenticated")
                answered = fake_kaggle_code.handle(state, path, request)
                if answered is None:
                    return self._error(404, f"no such method {path}")
                return self._send(*answered)
            if not path.startswith(f"/v1/{SERVICE}/"):
                return self._error(404, f"no such method {path}")
            if not self._authorized():
                return self._error(401, "Unauthenticated")
            method = path.rsplit("/", 1)[1]
            slug = request.get("competitionName", "")
            comp = state.competitions.get(slug)
            if comp is None:
                return self._error(404, "Competition not found")
            if method == "ListSubmissions":
                return self._send(200, {"submissions": self._list(slug), "nextPageToken": ""})
            if not comp.rules_accepted:
                return self._error(
                    403,
                    "You must accept this competition's rules before you'll "
                    "be able to download files or submit.",
                )
            if method == "DownloadDataFiles":
                return self._send(
                    302,
                    body=b"",
                    headers={"Location": f"{state.url}/storage/{slug}.zip?X-Goog-Signature=abc123"},
                )
            if method == "StartSubmissionUpload":
                token = f"blob-{len(state.uploads) + 1}"
                state.uploads[token] = b""
                state.upload_names[token] = request.get("fileName", "")
                return self._send(200, {"token": token, "createUrl": f"{state.url}/upload/{token}"})
            if method == "CreateCodeSubmission":
                return fake_kaggle_code.create_code_submission(self, state, slug, comp, request)
            if method == "CreateSubmission":
                token = request.get("blobFileTokens", "")
                if not state.uploads.get(token):
                    return self._error(400, "Submission file was not uploaded")
                state.next_ref += 1
                state.submissions.setdefault(slug, []).insert(
                    0,
                    {
                        "ref": state.next_ref,
                        "polls": 0,
                        "date": dt.datetime(2024, 5, 1, 12, 0, 0).isoformat() + ".000Z",
                        "description": request.get("submissionDescription", ""),
                        "fileName": state.upload_names.get(token, ""),
                        "token": token,
                    },
                )
                return self._send(
                    200,
                    {"message": f"Successfully submitted to {comp.title}", "ref": state.next_ref},
                )
            return self._error(404, f"no such method {method}")

        def _list(self, slug: str) -> list[dict]:
            out = []
            for sub in state.submissions.get(slug, []):
                sub["polls"] += 1
                item = {k: sub[k] for k in ("ref", "date", "description", "fileName")}
                if sub["polls"] > state.polls_until_scored:
                    if state.score_error:
                        item.update(status="ERROR", errorDescription=state.score_error)
                    else:
                        # a test may give one submission its own scores
                        item.update(
                            status="COMPLETE",
                            publicScore=sub.get("public_score", state.public_score),
                            privateScore=sub.get("private_score", "0.80000"),
                        )
                else:
                    item["status"] = "PENDING"
                out.append(item)
            return out

        def do_GET(self):
            path = self.path.split("?")[0]
            state.requests.append(("GET", path))
            slug = path[len("/storage/") : -len(".zip")] if path.startswith("/storage/") else ""
            comp = state.competitions.get(slug)
            if comp is None:
                return self._error(404, "Not Found")
            data = comp.zip
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Last-Modified", "Wed, 01 May 2024 12:00:00 GMT")
            self.end_headers()
            if state.truncate_downloads:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(data)

        def do_PUT(self):
            path = self.path.split("?")[0]
            state.requests.append(("PUT", path))
            token = path.rsplit("/", 1)[-1]
            body = self._body()
            if token not in state.uploads:
                return self._error(404, "upload expired")
            state.uploads[token] = body
            self._send(200, {})

    return Handler


class LoopbackServer:
    def __init__(self, state: FakeKaggle):
        self.state = state
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state))
        self.httpd.daemon_threads = True
        state.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self.state

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port_url() -> str:
    """A loopback URL where nothing listens (connection refused: no network)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def point_client_at(monkeypatch, url: str) -> None:
    """Every kagglesdk environment's endpoint -> url (a loopback server)."""
    from kagglesdk import kaggle_env

    for env in list(kaggle_env._env_to_endpoint):
        monkeypatch.setitem(kaggle_env._env_to_endpoint, env, url)
    assert kaggle_env.get_endpoint(kaggle_env.KaggleEnv.PROD) == url


def assert_no_secrets(*texts: str, files_under: Path | None = None, skip: Path | None = None):
    """No credential (key, token, the Basic header) in any text or any file under a folder."""
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"a credential leaked into output: {text[:200]!r}"
    if files_under is not None:
        for path in Path(files_under).rglob("*"):
            if not path.is_file() or (skip is not None and skip in path.parents):
                continue
            content = path.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in content, f"a credential leaked into {path}"
