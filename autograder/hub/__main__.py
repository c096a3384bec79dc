"""`python -m autograder.hub`: the class hub's commands (see command.py)."""

from .command import hub_app

hub_app(prog_name="python -m autograder.hub")
