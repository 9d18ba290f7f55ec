"""Electrons, lattices and the transport graph they trace into."""
