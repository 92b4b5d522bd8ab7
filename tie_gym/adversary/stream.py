"""The campaigns one environment (or one vector of them) plays, in seeded order."""

from __future__ import annotations

import numpy as np

from tie_gym.adversary.campaign import Campaign, CampaignConfig, pack_campaigns, unpack_campaigns
from tie_gym.adversary.model import Adversary


class CampaignStream:
    """Generative campaigns are sampled `batch` at a time (one batched fold-in instead of a Python
    loop per campaign); replayed reports and flows are drawn one by one. `clear()` on reseeding empties the
    batch, so the same seed always gives the same campaigns."""

    def __init__(self, adversary: Adversary, config: CampaignConfig, batch: int = 64) -> None:
        self.adversary, self.config, self.batch = adversary, config, batch
        self._sequences = np.zeros((0, 1), dtype=np.int64)
        self._lengths = np.zeros(0, dtype=np.int64)
        self._offset = 0

    def clear(self) -> None:
        self._sequences, self._lengths, self._offset = self._sequences[:0], self._lengths[:0], 0

    def take(self, rng: np.random.Generator, count: int = 1) -> list[Campaign]:
        config = self.config
        if config.campaign == "replay":
            return [
                self.adversary.replay(rng, config.order, config.split)  # type: ignore[arg-type]
                for _ in range(count)
            ]
        if config.campaign == "flow":
            flows = self.adversary.flows(config.flow_dir, config.flow_split)
            return [flows.draw(rng, config.order) for _ in range(count)]  # type: ignore[arg-type]
        return unpack_campaigns(*self.take_block(rng, count), "generated")

    def take_block(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The next `count` campaigns as (count, width) columns padded with -1, and lengths."""
        config = self.config
        if config.campaign != "generative":
            return pack_campaigns(self.take(rng, count))
        if len(self._lengths) - self._offset < count:
            fresh, fresh_lengths = self.adversary.sample(
                rng,
                max(self.batch, count),
                config.temperature,
                config.top_p,
                config.order,  # type: ignore[arg-type]
                max_length=config.max_length,
            )
            rest = self._sequences[self._offset :]
            width = max(rest.shape[1], fresh.shape[1])
            merged = np.full((len(rest) + len(fresh), width), -1, dtype=np.int64)
            merged[: len(rest), : rest.shape[1]] = rest
            merged[len(rest) :, : fresh.shape[1]] = fresh
            self._sequences = merged
            self._lengths = np.concatenate([self._lengths[self._offset :], fresh_lengths])
            self._offset = 0
        taken = slice(self._offset, self._offset + count)
        self._offset += count
        return self._sequences[taken], self._lengths[taken]
