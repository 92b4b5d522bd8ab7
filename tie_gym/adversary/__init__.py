"""The adversary: a trained recommender that samples campaigns, or replays real reports.

- `model.py`: `Adversary`, the artifact's model and manifest as a campaign source;
- `campaign.py`: `Campaign`, and `CampaignConfig`, where an env's campaigns come from (checked);
- `generative.py`: sampled campaigns (NumPy), with `additive.py`, the compiled EASE sampler;
- `draws.py`: the inverse-CDF draws; `ordering.py`: reveal orders; `replay.py`: real reports;
- `stream.py`: `CampaignStream`, the seeded sequence of campaigns one env or vector plays.
"""

from tie_gym.adversary.campaign import (
    DEFAULT_TEMPERATURE,
    Campaign,
    CampaignConfig,
    CampaignMode,
    pack_campaigns,
)
from tie_gym.adversary.model import DEFAULT_MODEL, Adversary
from tie_gym.adversary.ordering import ORDERS, Order
from tie_gym.adversary.stream import CampaignStream

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_TEMPERATURE",
    "ORDERS",
    "Adversary",
    "Campaign",
    "CampaignConfig",
    "CampaignMode",
    "CampaignStream",
    "Order",
    "pack_campaigns",
]
