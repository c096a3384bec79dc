# nbgrader's settings in every student's server on the class hub. The hub points the servers'
# JUPYTER_CONFIG_PATH at a copy of this folder in the students' environment (made by
# `python -m autograder.hub student-environment`), which holds no code of the course's own:
# students' servers never import the instructor's tool. The Assignments panel fetches,
# submits and fetches feedback with these settings.
import os

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "rnn-course"  # the instructor's `rnn-course` uses this id
# the shared exchange; the hub passes its RNN_HUB_EXCHANGE to every server it starts
c.Exchange.root = os.environ.get("RNN_HUB_EXCHANGE", "/srv/nbgrader/exchange")
