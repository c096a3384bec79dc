# nbgrader's settings in every student's server on the class hub. jupyterhub_config.py points
# the servers' JUPYTER_CONFIG_PATH at this folder (on a hub you set up by hand: copy it to
# /etc/jupyter/). The Assignments panel fetches, submits and fetches feedback with them.
import os

from autograder.course.folder import COURSE_ID

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = COURSE_ID  # "rnn-course": the instructor's `rnn-course` uses it
# the shared exchange; the hub passes its RNN_HUB_EXCHANGE to every server it starts
c.Exchange.root = os.environ.get("RNN_HUB_EXCHANGE", "/srv/nbgrader/exchange")
