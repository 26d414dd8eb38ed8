"""nbgrader configuration: solutions/ is the source, assignments/ the release (see README, "Instructors")."""
import os

c = get_config()  # noqa: F821

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "dgm"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")

# Training cells need more than the default 30 s per cell on a laptop CPU; a runaway loop is still cut off.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
c.Execute.kernel_name = "python3"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# Only the notebook is released; caches never are.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.py"]

# nbgrader's exchange (release_assignment / fetch / submit / collect / feedback on a shared server, e.g. JupyterHub):
# one folder every user can write to (mode 1777). COURSE_EXCHANGE overrides nbgrader's default for a local try.
c.Exchange.root = os.environ.get("COURSE_EXCHANGE", "/srv/nbgrader/exchange")
