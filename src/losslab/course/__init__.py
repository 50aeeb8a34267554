"""The course: the tour of the seeds' worked examples (:mod:`~losslab.course.tour`), its figures
(:mod:`~losslab.course.figures`) and the bowl-vs-mountains pair (:mod:`~losslab.course.bowl_and_mountains`).

Imports every library layer below it; the CLI and the web explorer sit above it.
"""
