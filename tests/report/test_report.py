"""`kagglekit report`: the HTML page of a tfidf run, a neural run (a tiny in-test model
with a history), a multilabel Jigsaw run, a blend and a comparison, on generated files."""

from __future__ import annotations

import base64
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib", reason="reports need the report extra")
pytest.importorskip("jinja2", reason="reports need the report extra")

from kagglekit import plugins  # noqa: E402
from kagglekit.errors import KaggleKitError  # noqa: E402
from kagglekit.hookspecs import hookimpl  # noqa: E402
from kagglekit.model import Model  # noqa: E402
from support import make_competition_dir  # noqa: E402

SCRIPT = "<script>alert('kk')</script> & \"quoted\""


def report(cli, *runs, output="reports") -> Path:
    payload = cli.json("report", *runs, "--output", output)
    path = Path(payload["path"])
    assert path.is_file() and path.suffix == ".html"
    return path


def section_ids(html: str) -> list[str]:
    return re.findall(r'<section id="([a-z-]+)"', html)


def part(html: str, section: str) -> str:
    """One section's HTML."""
    start = html.index(f'<section id="{section}"')
    return html[start : html.index("</section>", start)]


def images(html: str) -> list[np.ndarray]:
    """Every inline image decoded (PNG with matplotlib, SVG parsed as XML); none empty."""
    import matplotlib.image as mpimg

    sources = re.findall(r'<img src="([^"]+)"', html)
    assert sources, "no images"
    out = []
    for src in sources:
        assert src.startswith("data:image/"), src[:40]  # inline: viewable offline
        kind, data = src[len("data:") :].split(",", 1)
        if kind == "image/png;base64":
            array = mpimg.imread(io.BytesIO(base64.b64decode(data)), format="png")
            assert array.shape[0] > 100 and array.shape[1] > 100
            assert float(array[..., :3].std()) > 0.01  # something is drawn
            out.append(array)
        elif kind.startswith("image/svg+xml"):
            ET.fromstring(base64.b64decode(data) if kind.endswith("base64") else data)
        else:
            raise AssertionError(f"unexpected image type {kind}")
    return out


def no_external_references(html: str) -> None:
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<script" not in html.lower()


# ---------------------------------------------------------------- a tfidf run


@pytest.fixture
def tfidf_run(cli, tweets_dir):
    payload = cli.json(
        "cv", "disaster-tweets", "-m", "tfidf-lr", "--folds", "3", "--data-dir", tweets_dir
    )
    return payload["run_id"], Path(payload["run_dir"])


def _most_wrong_id(run_dir: Path, data_dir: Path) -> str:
    oof = pd.read_csv(run_dir / "oof.csv", dtype={"id": str})
    train = pd.read_csv(data_dir / "train.csv", dtype=str, keep_default_na=False)
    y = oof["id"].map(dict(zip(train["id"], train["target"].astype(int))))
    return str(oof["id"][np.argmax(np.abs(y - oof["target"]))])


def test_report_of_a_tfidf_run_has_every_section_and_escapes_texts(cli, tfidf_run, tweets_dir):
    run_id, run_dir = tfidf_run
    # the texts are read from the run's data folder at report time: make the most wrong
    # row's text hostile HTML
    worst = _most_wrong_id(run_dir, tweets_dir)
    train = pd.read_csv(tweets_dir / "train.csv", dtype=str, keep_default_na=False)
    train.loc[train["id"] == worst, "text"] = SCRIPT
    train.to_csv(tweets_dir / "train.csv", index=False)

    path = report(cli, run_id)
    assert path == (Path("reports") / "nlp-getting-started" / f"{run_id}.html").resolve()
    html = path.read_text()
    assert section_ids(html) == [
        "scores",
        "folds",
        "curves",
        "threshold",
        "confusion",
        "calibration",
        "length",
        "wrong",
        "data",
    ]
    # the hostile text appears escaped, never as markup
    assert "&lt;script&gt;alert(&#39;kk&#39;)&lt;/script&gt; &amp; &#34;quoted&#34;" in html
    no_external_references(html)
    assert len(images(html)) == 5  # ROC+PR, threshold, confusion, calibration, length
    info = json.loads((run_dir / "run.json").read_text())
    # headline: the nested (held-out) F1 is the big number, the optimistic one beside it
    assert f"f1 {info['nested_scores']['f1']:.4f} ± {info['fold_spread']['f1']:.4f}" in html
    assert f"{info['scores']['f1']:.4f}" in html
    assert f"Threshold {info['threshold']:.4f} was chosen for f1" in html
    # the 20 most wrong rows, the worst first
    wrong = part(html, "wrong")
    assert wrong.count("<tr>") == 21 and wrong.index(worst) < wrong.index("&lt;script&gt;")
    # per-fold scores: one row per fold with its nested threshold
    folds = part(html, "folds")
    for f in info["fold_scores"]:
        assert f"<td>{f['f1']:.4f}</td>" in folds
    # data summary: class balance and the duplicates kept together
    data = part(html, "data")
    positives = int(pd.read_csv(tweets_dir / "train.csv")["target"].sum())
    assert f"<td>{positives}</td>" in data and "kept together" in data


def test_report_json_has_what_every_json_has(cli, tfidf_run, tweets_dir):
    """run_dir, competition, model and scores (README: every --json), plus the path."""
    run_id, run_dir = tfidf_run
    payload = cli.json("report", run_id)
    record = json.loads((run_dir / "run.json").read_text())
    assert payload["run_id"] == run_id and payload["run_dir"] == str(run_dir)
    assert payload["competition"] == "nlp-getting-started" and payload["model"] == "tfidf-lr"
    assert payload["scores"] == record["scores"] and payload["scores"]["f1"] > 0
    assert payload["path"] == str(
        (Path("reports") / "nlp-getting-started" / f"{run_id}.html").resolve()
    )
    assert payload["runs"] == [run_id] and len(payload["summaries"]) == 1
    other = cli.json(
        "cv", "disaster-tweets", "-m", "tfidf-nb", "--folds", "3", "--data-dir", tweets_dir
    )
    payload = cli.json("report", run_id, other["run_id"])
    assert payload["run_dir"] == str(run_dir) and payload["runs"] == [run_id, other["run_id"]]
    assert [s["scores"] for s in payload["summaries"]] == [record["scores"], other["scores"]]
    assert Path(payload["path"]).name.startswith("compare-")


def test_the_report_is_written_atomically(cli, tfidf_run, monkeypatch):
    import kagglekit.report.plots
    import kagglekit.store.atomic

    run_id, _ = tfidf_run

    def broken(data):
        raise RuntimeError("matplotlib fell over")

    with monkeypatch.context() as patch:
        patch.setattr(kagglekit.report.plots, "calibration", broken)
        with pytest.raises(RuntimeError, match="fell over"):
            _invoke_raw(run_id)
    assert not [p for p in Path(".").rglob("*") if p.is_file() and "html" in p.name]

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(kagglekit.store.atomic.os, "replace", failing_replace)
        with pytest.raises(KaggleKitError, match="No space left on device"):  # one line
            _invoke_raw(run_id)
    assert not [p for p in Path(".").rglob("*") if p.is_file() and "html" in p.name]
    path = report(cli, run_id)  # and then it works, in one piece
    assert path.read_text().rstrip().endswith("</html>")


def _invoke_raw(run_id):
    from kagglekit.report import write_report
    from kagglekit.store.refs import resolve_run

    return write_report([resolve_run(run_id, Path("runs"))], Path("reports"))


def test_report_without_the_data_folder_shows_the_record_and_says_why(cli, tfidf_run, tweets_dir):
    run_id, _ = tfidf_run
    for f in tweets_dir.iterdir():
        f.unlink()
    tweets_dir.rmdir()
    html = report(cli, run_id).read_text()
    assert section_ids(html) == ["scores", "folds", "data"]
    assert "labels not available" in html and "is gone" in html


# ---------------------------------------------------------------- a neural run (tiny model)


class TinyNeural(Model):
    """Word log-odds 'trained' for a few epochs; keeps a Keras-like history in fit_info_."""

    @dataclass
    class Params:
        epochs: int = 4

    def fit(self, train, valid=None):
        counts = {}
        for text, label in zip(train.text, train.y[:, 0]):
            for word in str(text).lower().split():
                pos, n = counts.get(word, (0, 0))
                counts[word] = (pos + int(label), n + 1)
        rate = float(train.y.mean())
        self.weights_ = {
            w: float(np.log((p + rate) / (n - p + 1 - rate))) for w, (p, n) in counts.items()
        }
        history = [
            {
                "epoch": e + 1,
                "loss": round(0.7 / (e + 1) + 0.05 * (e == 3), 4),
                "val_loss": round(0.6 - 0.05 * e + 0.06 * (e == 3), 4),
                "val_auc": round(0.7 + 0.05 * e - 0.04 * (e == 3), 4),
                "lr": 0.001 if e < 2 else 0.0005,
            }
            for e in range(self.params.epochs)
        ]
        self.fit_info_ = {
            "history": history,
            "best_epoch": 3,
            "monitor": "val_auc",
            "early_stopping": "inner",
            "notes": ["<i>glove</i>: 9% of words new"],
            "embeddings": {
                "dim": 50,
                "vocab_size": len(counts),
                "vocab_coverage": 0.91,
                "token_coverage": 0.97,
                "files": [
                    {
                        "path": "glove.6B.50d.txt",
                        "dim": 50,
                        "vocab_coverage": 0.91,
                        "token_coverage": 0.97,
                    }
                ],
                "top_missing": [["<b>unseen</b>", 7], ["zzz", 2]],
            },
        }
        return self

    def predict(self, frame):
        scores = np.array(
            [sum(self.weights_.get(w, 0.0) for w in str(t).lower().split()) for t in frame.text]
        )
        return (1 / (1 + np.exp(-np.clip(scores, -30, 30))))[:, None]

    def save(self, directory):
        directory = self.save_params(directory)
        (directory / "weights.json").write_text(json.dumps(self.weights_))

    @classmethod
    def load(cls, directory):
        model = cls.from_saved_params(directory)
        model.weights_ = json.loads((Path(directory) / "weights.json").read_text())
        return model


@pytest.fixture
def tiny_neural():
    class Plugin:
        @staticmethod
        @hookimpl
        def register_models(register):
            register("tiny-neural", TinyNeural)

    plugins.register_plugin(Plugin, name="tiny-neural-plugin")
    yield "tiny-neural"
    plugins.unregister_plugin("tiny-neural-plugin")


def test_report_of_a_neural_run_has_learning_curves_and_embedding_coverage(
    cli, tweets_dir, tiny_neural
):
    payload = cli.json(
        "cv", "disaster-tweets", "-m", tiny_neural, "--folds", "2", "--data-dir", tweets_dir
    )
    html = report(cli, payload["run_id"]).read_text()
    ids = section_ids(html)
    assert ids[-3:] == ["learning", "embeddings", "data"] and "wrong" in ids
    assert len(images(html)) == 7  # + learning curves and learning rates
    learning = part(html, "learning")
    assert "best epoch" in learning
    folds = part(html, "folds")
    assert "<th>best epoch</th>" in folds and folds.count("<td>3</td>") >= 2
    emb = part(html, "embeddings")
    assert "glove.6B.50d.txt" in emb and "<td>0.9100</td>" in emb
    assert "&lt;b&gt;unseen&lt;/b&gt;" in emb and "<b>unseen" not in emb
    assert part(html, "data").count("Model note: &lt;i&gt;glove&lt;/i&gt;: 9% of words") == 1


# ---------------------------------------------------------------- multilabel (Jigsaw)


def test_report_of_a_multilabel_jigsaw_run_has_curves_per_label(cli, tmp_path):
    data = make_competition_dir("jigsaw", tmp_path / "data", n_train=400, n_test=50)
    payload = cli.json("cv", "jigsaw", "-m", "tfidf-lr", "--folds", "2", "--data-dir", data)
    html = report(cli, payload["run_id"]).read_text()
    ids = section_ids(html)
    assert "threshold" not in ids  # mean AUC needs no threshold
    assert ids == [
        "scores",
        "folds",
        "curves",
        "confusion",
        "calibration",
        "length",
        "wrong",
        "data",
    ]
    images(html)
    targets = (
        payload.get("target_columns")
        or json.loads((Path(payload["run_dir"]) / "run.json").read_text())["target_columns"]
    )
    assert len(targets) == 6
    confusion = part(html, "confusion")
    for target in targets:  # per-label counts
        assert f"<td>{target}</td>" in confusion
    balance = part(html, "data")
    assert all(f"<td>{t}</td>" in balance for t in targets)


# ---------------------------------------------------------------- a blend and a comparison


def test_report_of_a_blend_and_a_comparison(cli, tweets_dir):
    payload = cli.json(
        "cv",
        "disaster-tweets",
        "-m",
        "tfidf-nb",
        "-m",
        "tfidf-lr",
        "--folds",
        "3",
        "--ensemble",
        "weighted",
        "--data-dir",
        tweets_dir,
    )
    blend = payload["blends"][0]
    html = report(cli, blend["run_id"]).read_text()
    assert "blend" in section_ids(html)
    section = part(html, "blend")
    weights = [m["weights"]["target"] for m in blend["member_runs"]]
    assert sum(weights) == pytest.approx(1, abs=1e-5)
    for member, w in zip(blend["member_runs"], weights):
        assert member["run_id"] in section and f"{w:.3f}" in section
    images(html)

    members = [m["run_id"] for m in blend["member_runs"]]
    path = report(cli, *members, blend["run_id"])
    assert path.name.startswith("compare-")
    html = path.read_text()
    assert section_ids(html) == ["scores", "curves", "correlation"]
    assert len(images(html)) == 2
    corr = part(html, "correlation")
    a, b = (pd.read_csv(Path(m["path"]) / "oof.csv")["target"] for m in blend["member_runs"])
    assert f"<td>{np.corrcoef(a, b)[0, 1]:.4f}</td>" in corr
    for run_id in (*members, blend["run_id"]):
        assert run_id in html
    for m in blend["member_runs"]:  # named by model and the end of the id
        assert f"<th>{m['model']} {m['run_id'][-6:]}</th>" in corr


MATPLOTLIB_PROBE = """
import json, sys
from kagglekit.cli import cli
try:
    cli.main(args=sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print("LOADED=" + json.dumps(sorted(m for m in ("matplotlib", "jinja2") if m in sys.modules)))
"""


def _loaded(*args) -> list[str]:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", MATPLOTLIB_PROBE, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    line = [x for x in proc.stdout.splitlines() if x.startswith("LOADED=")][-1]
    return json.loads(line[len("LOADED=") :])


def test_only_report_imports_matplotlib(tweets_dir):
    assert (
        _loaded("cv", "disaster-tweets", "-m", "tfidf-nb", "--folds", "2", "--data-dir", tweets_dir)
        == []
    )
    run_id = next(
        p.name
        for p in (Path("runs") / "nlp-getting-started").iterdir()
        if not p.name.startswith(".")
    )
    assert _loaded("runs") == []
    assert _loaded("report", run_id) == ["jinja2", "matplotlib"]


def test_threshold_scores_match_the_metrics():
    from kagglekit.metrics import get_metric
    from kagglekit.report.gather import RunData, threshold_scores

    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.3).astype(np.int8)[:, None]
    p = np.clip(y[:, 0] * 0.3 + rng.random(500) * 0.7, 0, 1)[:, None]
    data = RunData(run=None, comp=None, y=y, oof=p)
    grid = np.linspace(0.005, 0.995, 199)
    for name in ("f1", "accuracy"):
        fast = threshold_scores(data, name, grid)
        slow = [get_metric(name)(y, p, t) for t in grid]
        np.testing.assert_allclose(fast, slow, atol=1e-12)
