"""The analyst's front door over HTTP: `tie-gym serve` (the `[serve]` extra: FastAPI, uvicorn)."""
