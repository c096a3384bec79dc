"""A class's own settings, set once per course folder: `<course-dir>/rnn-course.toml`.

Where the shared exchange is, the late policy, which of a student's submissions counts and the
class's time zone are decisions an instructor makes once, at the start of term, and every later
command must apply the same way. They live in one small TOML file in the course folder, written
by `rnn-course configure` and readable (and editable) by hand.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import socket
import tomllib
import zoneinfo
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from autograder.errors import CourseError

SETTINGS_FILE = "rnn-course.toml"
LATE_POLICIES = ("none", "percent", "cutoff")
PERIODS = {"day": 86_400.0, "hour": 3_600.0}
COUNTS = ("last-on-time", "last")
# what `configure` wrote as the website's address before there was no default: read as none
FORMER_DEFAULT_SITE_URL = "http://127.0.0.1:8000/"


@dataclass(frozen=True)
class LatePolicy:
    """How a late submission loses points.

    `none`: no penalty. `percent`: `percent` % of the score per started `per` (day or hour)
    after the due date and any grace period, at most `cap` %. `cutoff`: zero after the due date
    (and grace).
    """

    policy: str = "none"
    percent: float = 10.0
    per: str = "day"
    cap: float = 100.0
    grace_minutes: float = 0.0

    def check(self) -> LatePolicy:
        if self.policy not in LATE_POLICIES:
            raise CourseError(
                f"late policy {self.policy!r}: choose one of {', '.join(LATE_POLICIES)}"
            )
        if self.per not in PERIODS:
            raise CourseError(f"late penalty per {self.per!r}: choose day or hour")
        for name in ("percent", "cap"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 <= value <= 100):
                raise CourseError(f"late penalty {name} {value!r}: a number from 0 to 100")
        if not (isinstance(self.grace_minutes, int | float) and self.grace_minutes >= 0):
            raise CourseError(f"grace minutes {self.grace_minutes!r}: a number, 0 or more")
        return self

    def fraction(self, late_seconds: float) -> float:
        """The share of the score taken for a submission `late_seconds` after the due date."""
        late = late_seconds - 60 * self.grace_minutes
        if late <= 0 or self.policy == "none":
            return 0.0
        if self.policy == "cutoff":
            return 1.0
        periods = math.ceil(late / PERIODS[self.per])
        return min(self.cap, self.percent * periods) / 100

    def describe(self) -> str:
        grace = f" after {self.grace_minutes:g} minutes of grace" if self.grace_minutes else ""
        if self.policy == "none":
            return "no late penalty"
        if self.policy == "cutoff":
            return f"zero points for a late submission{grace}"
        return f"{self.percent:g}% per started {self.per} late{grace}, at most {self.cap:g}%"


@dataclass(frozen=True)
class CourseSettings:
    exchange: str | None = None  # nbgrader's exchange root; None: <course-dir>/exchange
    timezone: str = "UTC"  # due dates are given and shown in this zone
    counts: str = "last-on-time"  # which submission counts when a student resubmits
    site_url: str | None = None  # the published course website; the notebooks link to it
    late: LatePolicy = field(default_factory=LatePolicy)

    def check(self) -> CourseSettings:
        zone(self.timezone)
        if self.counts not in COUNTS:
            raise CourseError(f"counts {self.counts!r}: choose one of {', '.join(COUNTS)}")
        if self.exchange is not None and not Path(self.exchange).is_absolute():
            raise CourseError(f"exchange {self.exchange!r}: give an absolute path")
        if self.site_url is not None:
            public_site_url(self.site_url)
        self.late.check()
        return self

    @classmethod
    def load(cls, course_root: Path) -> CourseSettings:
        path = Path(course_root) / SETTINGS_FILE
        if not path.is_file():
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise CourseError(f"cannot read {path}: {error}") from None
        late = data.pop("late", {})
        if data.get("site_url") == FORMER_DEFAULT_SITE_URL:
            del data["site_url"]
        known = {f for f in cls.__dataclass_fields__ if f != "late"}
        unknown = (set(data) - known) | (set(late) - set(LatePolicy.__dataclass_fields__))
        if unknown:
            raise CourseError(f"{path}: unknown setting {', '.join(sorted(unknown))}")
        try:
            return cls(**data, late=LatePolicy(**late)).check()
        except (TypeError, CourseError) as error:
            raise CourseError(f"{path}: {error}") from None

    def save(self, course_root: Path) -> Path:
        self.check()
        path = Path(course_root) / SETTINGS_FILE
        top = {k: v for k, v in asdict(self).items() if k != "late" and v is not None}
        lines = ["# This class's settings; `rnn-course configure` writes them (see the README)."]
        lines += [f"{key} = {_toml(value)}" for key, value in top.items()]
        lines += ["", "[late]"]
        lines += [f"{key} = {_toml(value)}" for key, value in asdict(self.late).items()]
        temporary = path.with_suffix(".tmp")
        temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
        temporary.replace(path)
        return path

    def updated(self, **changes: object) -> CourseSettings:
        late = {k: changes.pop(k) for k in list(changes) if k in LatePolicy.__dataclass_fields__}
        late = {k: v for k, v in late.items() if v is not None}
        if changes.get("site_url") is not None:
            changes["site_url"] = public_site_url(str(changes["site_url"]))
        return replace(
            self,
            late=replace(self.late, **late),
            **{k: v for k, v in changes.items() if v is not None},
        ).check()


def public_site_url(url: str) -> str:
    """The course website's published address, ending in "/", or one line saying why not.

    Students open the links in their notebooks, downloads and PDF on their own machines, where
    a loopback or unspecified address (127.0.0.1 in any of its spellings, localhost, ::1,
    0.0.0.0) names that machine, not the instructor's: such an address is refused rather than
    published. So is anything that could not sit inside a Markdown link as it is.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:  # a bracketed host that is no IPv6 address
        parts, host = urlsplit(""), ""
    outside_host = url.replace(parts.netloc, "", 1) if parts.netloc else url
    if UNSAFE_IN_LINKS.search(url) or re.search(r"[\[\]]", outside_host):
        raise CourseError(
            f"site URL {url!r}: spaces, quotes, brackets and backslashes are not allowed"
        )
    if parts.scheme not in ("http", "https") or not host:
        raise CourseError(f"site URL {url!r}: give the published website's http(s) address")
    if parts.username or parts.password:
        raise CourseError(f"site URL {url!r}: a published address carries no user name or password")
    if parts.query or parts.fragment:
        raise CourseError(f"site URL {url!r}: give the website's address without ? or #")
    if this_machine(host):
        raise CourseError(
            f"site URL {url!r} is this machine's own address, which students' links would open "
            f"on their own machines: give the address where the website is published"
        )
    return parts.geturl().rstrip("/") + "/"


UNSAFE_IN_LINKS = re.compile(r"[\s\"'<>(){}\\`^|]")  # and [ ] outside an IPv6 host


def this_machine(host: str) -> bool:
    """Whether a browser would take `host` for the reader's own machine: localhost names, and
    loopback or unspecified addresses however written (127.1, 0x7f000001, 2130706433,
    ::ffff:127.0.0.1)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:  # the shorthand and numeric IPv4 forms browsers still accept
            address = ipaddress.ip_address(socket.inet_aton(host))
        except OSError:
            return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone `name` (Europe/Paris), or one line saying it does not exist."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise CourseError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Paris or UTC"
        ) from None


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string
