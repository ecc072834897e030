"""csvfiles.read_csv: the same frame and the same errors from pyarrow's reader and from
pandas' C parser (the path taken where pyarrow is missing), read from disk or a .zip."""

from __future__ import annotations

import importlib.util
import zipfile

import pytest

from kagglekit import csvfiles
from kagglekit.errors import DataError

pytest.importorskip("pyarrow")

FILES = {
    "plain.csv": 'id,text,target\n1,héllo wörld,1\n2,"a, quoted\nnewline",0\n3,NA,1\n4,,0\n',
    "bom.csv": "\ufeffid,text,target\n1,x,1\n2,y,0\n",
    "tabs.tsv": 'id\tsentiment\treview\n"1_2"\t1\t"He said \\"hi\\" ok"\n"3_4"\t0\tplain\n',
}


def hide_pyarrow(monkeypatch):
    """read_csv then takes the path of a core install without pyarrow."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        csvfiles.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pyarrow" else real(name, *a),
    )


def read(path):
    options = {"sep": "\t", "escapechar": "\\"} if path.suffix == ".tsv" else {}
    return csvfiles.read_csv(path, columns_needed=("id",), **options)


@pytest.mark.parametrize("name", sorted(FILES))
def test_both_readers_give_the_same_text_frame(tmp_path, monkeypatch, name):
    path = tmp_path / name
    path.write_text(FILES[name], encoding="utf-8")
    fast = read(path)
    hide_pyarrow(monkeypatch)
    assert csvfiles.importlib.util.find_spec("pyarrow") is None
    slow = read(path)
    assert list(fast.columns) == list(slow.columns) and fast.columns[0] == "id"
    assert (
        fast.astype(object).where(fast.notna(), None).values.tolist()
        == slow.astype(object).where(slow.notna(), None).values.tolist()
    )
    if name == "plain.csv":  # "NA" stays text; only an empty cell is missing
        assert fast["text"].tolist()[1:3] == ["a, quoted\nnewline", "NA"]
        assert fast["text"].isna().tolist() == [False, False, False, True]
        assert fast["target"].tolist() == ["1", "0", "1", "0"]  # text, not numbers


def test_a_zipped_csv_is_read_from_the_archive(tmp_path):
    with zipfile.ZipFile(tmp_path / "train.csv.zip", "w") as archive:
        archive.writestr("train.csv", FILES["plain.csv"])
    frame = csvfiles.read_csv(tmp_path / "train.csv", columns_needed=("text",))
    assert len(frame) == 4 and frame["id"].tolist() == ["1", "2", "3", "4"]


@pytest.mark.parametrize("fast", [True, False])
def test_errors_name_the_file_on_both_paths(tmp_path, monkeypatch, fast):
    if not fast:
        hide_pyarrow(monkeypatch)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id,text\n1,ok\n2,caf\xe9\n")
    with pytest.raises(
        DataError,
        match=r"bad.csv: byte 0xe9 at offset 18 \(line 3\) is not "
        r"valid utf-8",
    ):
        csvfiles.read_csv(bad)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\xef\xbb\xbf  \n\n")
    with pytest.raises(DataError, match="empty.csv: the file is empty"):
        csvfiles.read_csv(empty)
    missing = tmp_path / "cols.csv"
    missing.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"cols.csv: missing column 'text' \(found: a, b\)"):
        csvfiles.read_csv(missing, columns_needed=("text",))


def test_a_file_pyarrow_refuses_is_read_by_the_c_parser_as_before(tmp_path):
    # a ragged row: pyarrow refuses it; pandas' C parser reads it (as kagglekit always has),
    # and validation downstream names what is wrong with the row
    path = tmp_path / "ragged.csv"
    path.write_text("id,text\n1,a,b\n2,x\n")
    frame = csvfiles.read_csv(path)
    assert len(frame) == 2
