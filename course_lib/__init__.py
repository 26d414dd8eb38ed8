"""course_lib: the small library behind *Deep Generative Models - from autoencoders to LAPGAN*.

Tools students use (never switched off by grading): ``runtime`` (device, seed, budget), ``data``, ``nets``
(networks, GAN players, GLO's generator), ``models`` (the VAE), ``train`` (``fit``, the adversarial step and
loop, the GAN recipe ``train_gan``, ``History``), ``metrics``, ``plot``, ``toy``, ``domains`` (lecture 7's
image domains with known ground truth). One module per model family
holds only the reference versions of what an assignment grades, and is what grading switches off: ``vae`` (a1),
``non_adversarial`` (a2), ``gan`` (a3), ``wasserstein`` (a4), ``evaluation`` (a5), ``translation`` (a6),
``lapgan`` (a7). The student copy of the course does not hold them.
"""
from .runtime import Budget, autograding, budget, device, env_flag, rng, seed_everything
from .data import (Digits, DataUnavailableError, batches, binarize, dynamic_binarize, load_mnist, loader,
                   shift_pixels)
from .models import VAE, evaluate_nelbo
from .train import History, adversarial_step, fit, progress, train_adversarial, train_gan

__version__ = "0.1.0"

__all__ = ["Budget", "autograding", "budget", "device", "env_flag", "rng", "seed_everything", "Digits", "DataUnavailableError",
           "batches", "binarize", "dynamic_binarize", "load_mnist", "loader", "shift_pixels", "VAE",
           "evaluate_nelbo", "History", "adversarial_step", "fit", "progress", "train_adversarial", "train_gan"]
