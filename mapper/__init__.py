"""Host-side mapping of trained networks onto the chip (docs/mapping.md): networks, the layer
API, hardware-aware training, chip plans. Imports ``golden`` only."""
from .network import ACTIVATIONS, Dense, Network, activate

__all__ = ["ACTIVATIONS", "Dense", "Network", "activate"]
