"""Defender agents for the tie_gym environments."""
