"""Bit generators: raw random bits, apart from any distribution."""

from .philox import PHILOX_ROUNDS, philox4x32, philox4x32_lanes

__all__ = ["PHILOX_ROUNDS", "philox4x32", "philox4x32_lanes"]
