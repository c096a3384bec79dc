"""The course's data: the SEntFiN 1.0 headlines and the chapter's synthetic series.

Imported as `course_data` (the folder is `data/`, the name says whose data it is).
"""

from .errors import DataError
from .sentfin import SentFiN, fetch_sentfin, load_sentfin, parse_decisions, read_sentfin
from .series import Series, noise_floor_mae, synthetic_series

__all__ = [
    "DataError",
    "SentFiN",
    "Series",
    "fetch_sentfin",
    "load_sentfin",
    "noise_floor_mae",
    "parse_decisions",
    "read_sentfin",
    "synthetic_series",
]
