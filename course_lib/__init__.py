"""course_lib: the small library behind *Deep Generative Models - from autoencoders to LAPGAN*.

It supplies data, networks, training loops and plots so that notebooks can stay about ideas.
"""
from .runtime import Budget, budget, device, seed_everything
from .data import Digits, DataUnavailableError, binarize, dynamic_binarize, load_mnist, loader
from .train import History, fit, progress

__version__ = "0.1.0"

__all__ = ["Budget", "budget", "device", "seed_everything", "Digits", "DataUnavailableError", "binarize",
           "dynamic_binarize", "load_mnist", "loader", "History", "fit", "progress"]
