"""Chart rendering and indicator maths.

This package's ``__init__`` imports neither matplotlib nor the renderer: import
``catalyst_interactions.charts.render`` (which pulls in matplotlib) only in processes that
draw. ``indicators`` and ``cache`` are matplotlib-free.
"""

__all__: list[str] = []
