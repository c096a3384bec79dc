"""`python -m autograder.hub`: the class hub's commands (see command.py)."""

from autograder.hub.command import hub_app

hub_app(prog_name="python -m autograder.hub")
