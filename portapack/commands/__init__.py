"""CLI commands that live in their own modules; ``portapack.cli`` registers each on ``main``."""
