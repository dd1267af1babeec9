"""`kubectl dynamo get` and `status`: the readiness of graphs, computed from their live children.

``gather`` lists a graph's children through the operator's labels, ``build``,
``readiness`` and ``pods`` turn them into a ``GraphStatus`` view model
(``model``), ``wait``, ``watch`` and ``get_watch`` follow graphs over time, and
``service`` contains the entry points the commands call.
"""
