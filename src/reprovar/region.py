"""Rectangular regions of a variable, made without the rest: see :mod:`reprovar.sampler.region`
(where it lives; this is its documented import path)."""

from .sampler.region import DIRECT_RUN_BLOCKS, PIECE_BLOCKS, check_ranges, fill_region, make_region, runs

__all__ = ["DIRECT_RUN_BLOCKS", "PIECE_BLOCKS", "check_ranges", "fill_region", "make_region", "runs"]
