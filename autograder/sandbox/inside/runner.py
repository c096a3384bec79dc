"""Run one submission's cells inside the sandbox and report what happened, event by event.

This file runs *inside* the bubblewrap sandbox, as a plain script (the `autograder` package is
not visible there), and so imports nothing of the project; the forked template (`zygote.py`)
imports it from beside itself and calls `read_job`, `set_limits` and `run_job`. It is
untrusted from the moment the first student cell runs: everything it reports is data for the
trusted grader to check, never a verdict. It reads the job (cells and limits) as JSON on stdin,
lowers its own resource limits and drops to the grading user before any student code runs, and
writes one JSON event per line to the file descriptor the job names.

The events, one JSON object per line, are described (and parsed, under bounds) by the trusted
side's `grading/events.py`: {"event": "start", "cell": i}; {"event": "check", "cell": i,
"kind", "number", "value" | "raised", …}; {"event": "stopped", "cell": i, "group": g, "error":
{"ename"}} when a group of a test cell's checks stopped on an exception; {"event": "end",
"cell": i, "error": null | {"ename", "timeout"}, "output": text, "dropped": n, "seconds": s}.
What a check records, and how much of it, follows the job's limits.
"""

import base64
import json
import os
import resource
import signal
import sys
import time

NUMERIC_KINDS = "biuf"
# what a check records, and what a cell's output keeps: set from the job's limits
BOUNDS = {"output_chars": 20_000, "recorded_items": 10_000, "recorded_elements": 100_000}
BOUNDS |= {"recorded_text_chars": 1_000, "recorded_depth": 20}
PR_SET_DUMPABLE = 4


class CellTimeout(BaseException):
    """Raised in the running cell when its wall-time limit is over."""


class CappedText:
    """A text stream that keeps the first `output_chars` characters and counts the rest."""

    def __init__(self):
        self.parts, self.kept, self.dropped = [], 0, 0

    def write(self, text):
        text = str(text)
        room = BOUNDS["output_chars"] - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False

    def take(self):
        """The kept text and the number of characters dropped, and start afresh."""
        text, dropped = "".join(self.parts), self.dropped
        if dropped:
            text += f"\n[{dropped} more characters of output were dropped]\n"
        self.parts, self.kept, self.dropped = [], 0, 0
        return text, dropped


def encode(value, depth=0):
    """A JSON-able description of a value: numbers, arrays, None, strings and sequences."""
    import numpy as np

    if depth >= BOUNDS["recorded_depth"]:
        return {"t": "object", "type": "nested too deeply"}
    if value is None:
        return {"t": "none"}
    if isinstance(value, bool | np.bool_):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, int | np.integer):
        return {"t": "int", "v": str(int(value))}
    if isinstance(value, float | np.floating):
        return {"t": "float", "v": float(value)}
    if isinstance(value, str):
        return {"t": "str", "v": value[: BOUNDS["recorded_text_chars"]]}
    if isinstance(value, list | tuple):
        return {
            "t": "seq",
            "n": len(value),
            "v": [encode(item, depth + 1) for item in value[: BOUNDS["recorded_items"]]],
        }
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - any object the student returned
        return {"t": "object", "type": type(value).__name__}
    if array.dtype.kind not in NUMERIC_KINDS or array.size > BOUNDS["recorded_elements"]:
        return {"t": "object", "type": type(value).__name__}
    array = np.ascontiguousarray(array)
    return {
        "t": "array",
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "data": base64.b64encode(array.tobytes()).decode("ascii"),
    }


def set_limits(limits):
    for key in BOUNDS:
        if isinstance(limits.get(key), int):
            BOUNDS[key] = limits[key]
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for name, key in [
        ("RLIMIT_AS", "memory_bytes"),
        ("RLIMIT_NPROC", "processes"),
        ("RLIMIT_FSIZE", "file_bytes"),
        ("RLIMIT_NOFILE", "open_files"),
    ]:
        value = limits.get(key)
        if value:
            resource.setrlimit(getattr(resource, name), (value, value))


def drop_privileges(uid):
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        # changing user made the process undumpable, which leaves its /proc files to root: the
        # processes it forks could not raise their own oom_score_adj
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, ctypes.c_ulong(1), *[ctypes.c_ulong(0)] * 3)


def read_job():
    """The job the grader wrote on stdin: cells, limits, user id and the events descriptor."""
    job = json.loads(sys.stdin.read())
    sys.stdin.close()
    return job


def first_to_go_when_out_of_memory():
    """In a process the student's code forked: the kernel's first choice when memory runs out
    (oom_score_adj 1000), before the runner, which reports what happened."""
    try:
        with open("/proc/self/oom_score_adj", "w") as score:
            score.write("1000")
    except OSError:
        pass


def recorders(emit, current):
    """The two functions a probe calls (see the trusted side's `grading/probes.py`): `record`
    reports what one check was given, `group_stopped` that a group of checks stopped on an
    exception; both report for the cell `current["cell"]`."""

    def record(kind, number, *args, **kwargs):
        event = {"event": "check", "cell": current["cell"], "kind": kind, "number": number}
        if kind == "raises":
            exception, function, *call_args = args
            event["expected"] = getattr(exception, "__name__", str(exception))
            try:
                function(*call_args)
            except CellTimeout:
                raise
            except BaseException as error:  # noqa: BLE001 - the check is what was raised
                event["raised"] = [c.__name__ for c in type(error).__mro__]
            else:
                event["raised"] = None
        else:
            event["value"] = encode(args[0] if args else kwargs.get("actual"))
            event["rtol"] = float(kwargs.get("rtol", args[2] if len(args) > 2 else 1e-7))
            event["atol"] = float(kwargs.get("atol", args[3] if len(args) > 3 else 0.0))
        emit(event)

    def group_stopped(group, error):
        emit(
            {
                "event": "stopped",
                "cell": current["cell"],
                "group": group,
                "error": {"ename": type(error).__name__},
            }
        )

    return record, group_stopped


def run_job(job):
    """Run the cells one by one, reporting events; the process must already be confined."""
    os.register_at_fork(after_in_child=first_to_go_when_out_of_memory)
    events = os.fdopen(job["events_fd"], "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(0)

    def emit(event):
        events.write(json.dumps(event) + "\n")

    from IPython.core.interactiveshell import InteractiveShell

    output = CappedText()
    sys.stdout = sys.stderr = output
    shell = InteractiveShell.instance(colors="NoColor")
    current = {"cell": None}

    def on_alarm(signum, frame):
        raise CellTimeout("the cell ran longer than its time limit")

    signal.signal(signal.SIGALRM, on_alarm)
    record, group_stopped = recorders(emit, current)
    shell.user_ns["_rnn_course_check"] = record
    shell.user_ns["_rnn_course_group_stopped"] = group_stopped
    runner = os.getpid()
    for index, cell in enumerate(job["cells"]):
        current["cell"] = index
        emit({"event": "start", "cell": index})
        started = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, cell.get("seconds", job["limits"]["cell_seconds"]))
        error = None
        try:
            result = shell.run_cell(cell["source"], store_history=False)
            failure = result.error_before_exec or result.error_in_exec
        except CellTimeout as timeout:  # raised outside the cell's own code
            failure = timeout
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if os.getpid() != runner:  # a process the cell forked: it must not go on to run cells
            os._exit(0)
        if failure is not None:
            error = {"ename": type(failure).__name__, "timeout": isinstance(failure, CellTimeout)}
        text, dropped = output.take()
        seconds = round(time.monotonic() - started, 3)
        emit(
            {
                "event": "end",
                "cell": index,
                "error": error,
                "output": text,
                "dropped": dropped,
                "seconds": seconds,
            }
        )
    events.close()


def main():
    job = read_job()
    set_limits(job["limits"])
    drop_privileges(job.get("uid"))
    run_job(job)


if __name__ == "__main__":
    main()
