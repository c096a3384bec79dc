"""SEntFiN 1.0: fetch the CSV reproducibly and turn it into headline- and entity-level tables.

The `Decisions` column holds one Python-style dict per headline, mapping each entity the
headline names to its sentiment. Thirteen of them are not valid Python literals because an
entity contains an apostrophe inside single quotes (`'Osian's Art Fund'`); they are parsed by a
tolerant reader rather than dropped, and anything neither reader understands stops the load
with the file, line and value named, so no headline is ever lost silently.
"""

from __future__ import annotations

import ast
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pooch

from .errors import DataError

log = logging.getLogger(__name__)

URL = (
    "https://raw.githubusercontent.com/pyRis/SEntFiN/"
    "84c747fcacea2f7bd96248b084dfa0d81fb4a181/SEntFiN.csv"
)
SHA256 = "570af7ba58f724f3fcc414dd5ba80da5b1a3b342134d76c6ebdf53a32c54a92f"
FILENAME = "SEntFiN.csv"
LOCAL_COPY_ENV = "SENTFIN_CSV"
CACHE_DIR_ENV = "RNN_COURSE_CACHE"
COLUMNS = ("S No.", "Title", "Decisions")
LABELS = ("negative", "neutral", "positive")

_ENTRY = re.compile(
    r"""\s*(?P<q>['"])(?P<entity>.*?)(?P=q)\s*:\s*(?P<vq>['"])(?P<label>\w+)(?P=vq)\s*(?:,|$)"""
)


@dataclass(frozen=True)
class SentFiN:
    """The data set at the two levels the chapter uses.

    `headlines` keeps one row per headline whose entities all share one sentiment (its label);
    `mixed` holds the headlines set aside because their entities disagree, so a single label
    would be wrong for some of them; `entities` keeps every (headline, entity, sentiment) triple.
    """

    headlines: pd.DataFrame
    mixed: pd.DataFrame
    entities: pd.DataFrame
    malformed_rows: int

    @property
    def total(self) -> int:
        return len(self.headlines) + len(self.mixed)


def cache_dir() -> Path:
    """Where downloads are kept: `$RNN_COURSE_CACHE`, else the platform's user cache folder."""
    return Path(os.environ.get(CACHE_DIR_ENV) or pooch.os_cache("rnn-course"))


def fetch_sentfin() -> Path:
    """The path of a verified copy of SEntFiN.csv, downloading it once if needed.

    `$SENTFIN_CSV` names a local copy to use instead of the download (offline machines, CI);
    it is checked against the same sha256, so every reader of the course sees the same data.
    """
    local = os.environ.get(LOCAL_COPY_ENV)
    if local:
        path = Path(local).expanduser()
        if not path.is_file():
            raise DataError(
                f"{path}: no such file (named by ${LOCAL_COPY_ENV}); point ${LOCAL_COPY_ENV} "
                f"at a copy of SEntFiN.csv, or unset it to download the file"
            )
        digest = pooch.file_hash(str(path), alg="sha256")
        if digest != SHA256:
            raise DataError(
                f"{path}: sha256 {digest} does not match the pinned SEntFiN 1.0 file ({SHA256}); "
                f"replace it with the original from {URL}"
            )
        return path
    try:
        return Path(
            pooch.retrieve(
                URL,
                known_hash=f"sha256:{SHA256}",
                fname=FILENAME,
                path=cache_dir(),
                # a bar on a terminal only: inside a notebook (a book build) it is stderr noise
                progressbar=sys.stderr.isatty(),
            )
        )
    except ValueError as err:
        if "hash" not in str(err):  # pooch signals a checksum mismatch as a ValueError on "hash"
            raise DataError(
                f"{URL}: download failed ({err}); set ${LOCAL_COPY_ENV} instead"
            ) from err
        raise DataError(
            f"{cache_dir() / FILENAME}: the downloaded file does not match the pinned sha256; "
            f"delete it and retry, or set ${LOCAL_COPY_ENV} to a verified copy ({err})"
        ) from err
    except Exception as err:  # network errors come in many types; the fix is the same
        raise DataError(
            f"{URL}: download failed ({type(err).__name__}: {err}); check the connection, or "
            f"set ${LOCAL_COPY_ENV} to a local copy of SEntFiN.csv"
        ) from err


def parse_decisions(value: str) -> dict[str, str]:
    """Entity → sentiment from one `Decisions` cell, tolerating unescaped apostrophes.

    Raises ValueError (with the reason) when the cell is not a non-empty mapping of entity to
    one of positive/negative/neutral.
    """
    return _parse_decisions(value)[0]


def _parse_decisions(value: str) -> tuple[dict[str, str], bool]:
    """The mapping, and whether it needed the tolerant reader (it was not a valid literal)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("the value is empty")
    text = value.strip()
    try:
        parsed, tolerant = ast.literal_eval(text), False
    except (ValueError, SyntaxError):
        parsed, tolerant = _parse_tolerantly(text), True
    if not isinstance(parsed, dict) or not parsed:
        raise ValueError("expected a non-empty mapping of entity to sentiment")
    for entity, label in parsed.items():
        if not isinstance(entity, str) or label not in LABELS:
            raise ValueError(f"entity {entity!r} has sentiment {label!r}, not one of {LABELS}")
    return parsed, tolerant


def _parse_tolerantly(text: str) -> dict[str, str]:
    """Read `{'a': 'x', 'b's c': 'y'}`: an entity ends at the quote that precedes `: 'label'`."""
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError("it is not enclosed in braces")
    body, pos, out = text[1:-1], 0, {}
    while pos < len(body):
        match = _ENTRY.match(body, pos)
        if not match:
            raise ValueError(f"cannot read an 'entity': 'sentiment' pair at {body[pos:]!r}")
        out[match["entity"]] = match["label"]
        pos = match.end()
    return out


def read_sentfin(path: str | os.PathLike[str]) -> SentFiN:
    """Parse a SEntFiN-shaped CSV (no checksum: use `load_sentfin` for the real data set)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; run the download (load_sentfin) or fix the path")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as err:
        raise DataError(f"{path}: the file is empty; download SEntFiN.csv again") from err
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a readable CSV file ({err}); download it again") from err
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(map(repr, missing))} (found "
            f"{', '.join(map(repr, frame.columns))}); is this the SEntFiN 1.0 CSV?"
        )
    if frame.empty:
        raise DataError(f"{path}: the file has a header but no rows; download SEntFiN.csv again")

    headline_rows, entity_rows, malformed = [], [], 0
    rows = zip(frame["S No."], frame["Title"], frame["Decisions"], strict=True)
    for line, (sno, title, raw) in enumerate(rows, start=2):  # line 1 is the header
        if not title.strip():
            raise DataError(f"{path}: line {line} (S No. {sno}): empty Title; fix or delete it")
        try:
            decisions, tolerant = _parse_decisions(raw)
        except ValueError as err:
            raise DataError(
                f"{path}: line {line} (S No. {sno}): cannot parse Decisions value {raw!r} "
                f"({err}); expected a mapping like {{'Entity': 'positive'}}"
            ) from err
        malformed += tolerant
        sentiments = set(decisions.values())
        headline_rows.append(
            {
                "sno": sno,
                "title": title,
                "n_entities": len(decisions),
                "label": sentiments.pop() if len(sentiments) == 1 else None,
            }
        )
        entity_rows.extend(
            {"sno": sno, "title": title, "entity": e, "sentiment": s} for e, s in decisions.items()
        )

    every = pd.DataFrame(headline_rows)
    agreed = every["label"].notna()
    if (~agreed).any():
        log.info(
            "%d headlines have mixed entity sentiments and get no single label", (~agreed).sum()
        )
    return SentFiN(
        headlines=every[agreed].reset_index(drop=True),
        mixed=every[~agreed].drop(columns="label").reset_index(drop=True),
        entities=pd.DataFrame(entity_rows),
        malformed_rows=malformed,
    )


def load_sentfin() -> SentFiN:
    """The verified SEntFiN 1.0 data set, downloaded or read from `$SENTFIN_CSV`."""
    return read_sentfin(fetch_sentfin())
