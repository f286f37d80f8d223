"""GAT generators: a style-based autoencoder with coarse / mid / fine latents."""
from .loading import clear_generator_cache, load_generator
from .psnr_metric import ReconstructionPSNR
from .style_autoencoder import LEVELS, StyleAutoEncoder

__all__ = ['LEVELS', 'StyleAutoEncoder', 'ReconstructionPSNR', 'load_generator',
           'clear_generator_cache']
