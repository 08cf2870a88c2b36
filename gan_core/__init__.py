"""gan_core: the engine behind the GAN dashboard (config, data, models, losses, trainer, runner, run folders).

It never imports streamlit: everything here runs and is tested without a UI.
"""

from gan_core.config import ConfigError, GANConfig

__all__ = ["ConfigError", "GANConfig"]
