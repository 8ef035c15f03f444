"""Transforms from raw bits to distributions, and the elementary math they are built from."""
