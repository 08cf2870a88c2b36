"""gan_core: the engine behind the GAN dashboard (config, data, models, losses, trainer, runner, run folders).

It never imports streamlit: everything here runs and is tested without a UI. Importing the package itself
loads nothing heavy (PEP 562's module ``__getattr__``): ``python -m gan_core`` gets to its own Ctrl-C
handling before torch loads, and ``GANConfig`` and ``ConfigError`` load with `gan_core.config` on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gan_core.config import ConfigError, GANConfig

__all__ = ["ConfigError", "GANConfig"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("gan_core.config"), name)
    raise AttributeError(f"module 'gan_core' has no attribute {name!r}")
