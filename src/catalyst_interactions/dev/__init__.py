"""``catalyst-interactions dev``: the bot and the local Discord together, on one machine.

The local Discord itself is :mod:`catalyst_interactions.emulator`, which knows nothing of the
bot; this package is where the two meet: :func:`build_dev` assembles the edge, the workers and
the emulator (``stack.py``), and ``demo.py`` seeds the demo world ``make run`` starts with.
"""

from .stack import DevStack, DevStartError, build_dev, run_dev

__all__ = ["DevStack", "DevStartError", "build_dev", "run_dev"]
