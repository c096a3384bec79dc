"""Intake: submissions in, from nbgrader's exchange or an LMS archive, into `submitted/`.

Everything here reads what students control (folder and file names, links, archives, times,
bytes) and treats it as hostile: files are opened without following links, sizes are bounded
as they stream, each student is written atomically, and one bad entry never stops the class.
Trust: the boundary where student files enter; nothing here runs them.
"""
