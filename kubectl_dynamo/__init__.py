"""kubectl-dynamo: a kubectl plugin for NVIDIA Dynamo inference graphs.

The package is split by concern. ``api`` and ``render`` are pure and never touch
the network; ``cluster`` is the only package that imports ``kubernetes``; ``cli``
is the only package that imports ``click``; ``output`` turns view models into text.
"""

__version__ = "0.1.0"
