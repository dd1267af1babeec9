"""`kubectl dynamo scale`: change a service's replicas where the count is owned.

``request`` parses and matches what the user typed, ``plan`` decides the writes
(pure), ``live`` sends them with optimistic locking, ``gitfile`` edits and
commits the graph's file in a Git checkout, ``flux`` predicts what Flux will do
to a live change, and ``run.scale`` ties them together for the command line.
"""
