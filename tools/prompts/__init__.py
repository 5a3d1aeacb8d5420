"""Build-time tools for the system prompts (see generate.py)."""
