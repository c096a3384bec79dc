"""SEntFiN loading: the counts on the real file, and one clear error for each kind of bad file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from course_data import DataError, fetch_sentfin, load_sentfin, parse_decisions, read_sentfin


def write(tmp_path: Path, text: str, name: str = "sentfin.csv") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def real(sentfin_csv, monkeypatch_module):
    monkeypatch_module.setenv("SENTFIN_CSV", str(sentfin_csv))
    return load_sentfin()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_every_headline_of_the_real_file_is_accounted_for(real):
    assert real.total == 10_753
    assert len(real.headlines) == 9_520
    assert len(real.mixed) == 1_233


def test_agreed_labels_have_the_published_class_counts(real):
    assert real.headlines["label"].value_counts().to_dict() == {
        "neutral": 3_446,
        "positive": 3_363,
        "negative": 2_711,
    }


def test_the_thirteen_malformed_literals_are_parsed_not_dropped(real):
    assert real.malformed_rows == 13
    assert "Osian's Art Fund" in set(real.entities["entity"])
    assert "Dr Reddy's Labs" in set(real.entities["entity"])


def test_entity_table_keeps_every_entity_of_every_headline(real):
    single = (real.headlines["n_entities"] == 1).sum() + (real.mixed["n_entities"] == 1).sum()
    assert single == 7_906
    expected = real.headlines["n_entities"].sum() + real.mixed["n_entities"].sum()
    assert len(real.entities) == expected


def test_mixed_sentiment_headlines_are_counted_not_dropped(real):
    mixed_snos = set(real.mixed["sno"])
    sentiments = real.entities[real.entities["sno"].isin(mixed_snos)].groupby("sno")["sentiment"]
    assert (sentiments.nunique() > 1).all()
    assert (real.mixed["n_entities"] >= 2).all()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{'SpiceJet': 'neutral'}", {"SpiceJet": "neutral"}),
        (
            "{'Sebi': 'neutral', 'Osian's Art Fund': 'neutral'}",
            {"Sebi": "neutral", "Osian's Art Fund": "neutral"},
        ),
        ("{'Moody's': 'neutral', 'IOC': 'negative'}", {"Moody's": "neutral", "IOC": "negative"}),
        ("{\"Reliance's unit\": 'positive'}", {"Reliance's unit": "positive"}),
    ],
)
def test_parse_decisions_reads_valid_and_apostrophe_values(value, expected):
    assert parse_decisions(value) == expected


@pytest.mark.parametrize(
    "value", ["", "{}", "{'A': 'bullish'}", "['A', 'positive']", "{'A': 'positive'", "nonsense"]
)
def test_parse_decisions_rejects_what_it_cannot_read(value):
    with pytest.raises(ValueError):
        parse_decisions(value)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        read_sentfin(tmp_path / "nope.csv")


def test_empty_file_is_reported_as_empty(tmp_path):
    path = write(tmp_path, "")
    with pytest.raises(DataError, match=r"sentfin\.csv: the file is empty"):
        read_sentfin(path)


def test_header_only_file_is_reported(tmp_path):
    path = write(tmp_path, "S No.,Title,Decisions,Words\n")
    with pytest.raises(DataError, match="header but no rows"):
        read_sentfin(path)


def test_missing_column_is_named(tmp_path):
    path = write(tmp_path, "S No.,Title,Words\n1,Stocks rise,2\n")
    with pytest.raises(DataError, match=r"missing column\(s\) 'Decisions'"):
        read_sentfin(path)


def test_unparseable_row_names_file_line_and_value(tmp_path):
    path = write(
        tmp_path,
        """
        S No.,Title,Decisions,Words
        1,Stocks rise,{'Sensex': 'positive'},2
        2,Rupee slips,{'Rupee': 'down'},2
        """,
    )
    with pytest.raises(DataError) as err:
        read_sentfin(path)
    message = str(err.value)
    assert "sentfin.csv: line 3 (S No. 2)" in message
    assert "{'Rupee': 'down'}" in message
    assert "expected a mapping" in message


def test_small_valid_file_splits_agreed_and_mixed(tmp_path):
    path = write(
        tmp_path,
        """
        S No.,Title,Decisions,Words
        1,Stocks rise,{'Sensex': 'positive'},2
        2,"TCS up, Infosys down","{'TCS': 'positive', 'Infosys': 'negative'}",4
        3,"Moody's view on Sebi","{'Moody's': 'neutral', 'Sebi': 'neutral'}",4
        """,
    )
    data = read_sentfin(path)
    assert list(data.headlines["label"]) == ["positive", "neutral"]
    assert list(data.mixed["sno"]) == ["2"]
    assert len(data.entities) == 5
    assert data.malformed_rows == 1


def test_local_copy_with_wrong_checksum_is_refused(tmp_path, monkeypatch):
    path = write(tmp_path, "S No.,Title,Decisions,Words\n1,Stocks rise,{'Sensex': 'positive'},2\n")
    monkeypatch.setenv("SENTFIN_CSV", str(path))
    with pytest.raises(DataError, match="does not match the pinned SEntFiN 1.0 file"):
        fetch_sentfin()


def test_local_copy_that_does_not_exist_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SENTFIN_CSV", str(tmp_path / "missing.csv"))
    with pytest.raises(DataError, match=r"missing\.csv: no such file \(named by \$SENTFIN_CSV\)"):
        fetch_sentfin()


def test_download_failure_says_how_to_work_offline(tmp_path, monkeypatch):
    monkeypatch.delenv("SENTFIN_CSV", raising=False)
    monkeypatch.setenv("RNN_COURSE_CACHE", str(tmp_path))
    monkeypatch.setattr("course_data.sentfin.URL", "http://127.0.0.1:9/SEntFiN.csv")
    with pytest.raises(DataError, match=r"download failed .*set \$SENTFIN_CSV"):
        fetch_sentfin()
