"""`kubectl dynamo logs`: one log stream across every pod of a graph.

``request`` contains the parsed flags, ``targets`` decides which pods and containers
to read (pure, from pod objects and the graph), ``lines`` turns raw log lines into
output (timestamps, filters, prefixes, colour, JSON) and resumes a stream without
duplicates, and ``stream`` runs the readers, the pod watch and the single writer
against a ``Cluster``.
"""
