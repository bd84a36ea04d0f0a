"""catalyst-interactions: Discord HTTP interactions for Catalyst Bot."""

__version__ = "0.1.0"
