"""The course: the tour of the seeds' worked examples (:mod:`~losslab.course.tour`), its figures
(:mod:`~losslab.course.figures`), the bowl-vs-mountains pair
(:mod:`~losslab.course.bowl_and_mountains`) and the lessons (:mod:`~losslab.course.lessons`: files in the format
of :mod:`~losslab.course.lesson_format`, shipped in ``lesson_files/``).

Imports every library layer below it; the CLI and the web explorer sit above it.
"""
