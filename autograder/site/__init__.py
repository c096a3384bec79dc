"""The course website: build it with Jupyter Book, print its PDF, serve it with live code.

Beside the grading pipeline, not part of it: it reads the book's pages and the released
assignment (for the student zip) and nothing a student submitted. Trust: instructor's own
content; the live-code Jupyter server it starts is bound to this machine behind a token.
"""
