"""Gymnasium environments in which a trained technique recommender plays the adversary."""
