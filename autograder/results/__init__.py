"""Results: the gradebook, scores, late penalties, feedback, export, report and the formgrader.

Every output reads a student's score from one place (`scores.py`), so the CSV, nbgrader's own
export, the report and the feedback pages agree. Trust: trusted code writing for the
instructor and for each student; any text that came from a student is escaped where shown.
"""
