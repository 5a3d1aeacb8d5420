"""One error hierarchy for the build: each names its cause in words a user can act on."""

from __future__ import annotations


class BuildError(Exception):
    """The build stopped; ``str(error)`` is the message printed to the user."""

    exit_code = 2


class ConfigError(BuildError):
    """A Kconfig file or a defconfig is wrong (unknown symbol, value that did not take...)."""


class RecipeError(BuildError):
    """A package's recipe.toml or Config.in is malformed."""


class HostError(BuildError):
    """The build host lacks something: a tool, binfmt for the target, root, disk space."""


class StepFailed(BuildError):
    """A build step (a command) failed."""
