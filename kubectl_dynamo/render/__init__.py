"""Offline reproduction of what the Dynamo operator creates for a graph.

One module per operator profile (a supported Dynamo release line); see
``profiles.PROFILES``. Pure: no network, no ``kubernetes`` import.
"""
