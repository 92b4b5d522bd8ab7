"""The recommender sweep on Ray: each configuration a Ray task, the data sent once.

`python -m recommenders.train --backend ray [--address ADDR]`. The splits go into Ray's object
store once (`ray.put`) and every task reads them from there; each task fits one configuration on
both protocols with one thread, exactly as the local backend does (`recommenders.train.sweep_job`),
and the results come back in job order, so selection, refit and artifacts do not depend on the
backend. Ray is imported only here, when asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from recommenders.errors import DataError

log = logging.getLogger("recommenders.distributed")


def start_ray(address: str | None, cpus: int | None = None) -> Any:
    """`ray` connected to `address`, or to a local Ray started here with `cpus` CPUs (default:
    this machine's)."""
    try:
        import ray
    except ImportError as exc:
        raise DataError(
            None,
            "--backend ray",
            "Ray is not installed",
            "pip install 'tie-gym[scale]' (or drop --backend ray)",
        ) from exc
    if not ray.is_initialized():
        ray.init(
            address=address,
            num_cpus=None if address else cpus,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            runtime_env={
                "env_vars": {
                    "OMP_NUM_THREADS": "1",
                    "OPENBLAS_NUM_THREADS": "1",
                    "MKL_NUM_THREADS": "1",
                }
            },
        )
        log.info("ray: %s CPUs in the cluster", ray.cluster_resources().get("CPU", 0))
    return ray


def _job(
    run_job: Callable[..., Any],
    name: str,
    hparams: dict[str, Any],
    splits: tuple[Any, ...],
    config: Any,
) -> Any:
    """A Ray task: one configuration, one thread (several tasks share a machine)."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    with threadpool_limits(1):
        return run_job(name, hparams, *splits, replace(config, threads=1))


def ray_sweep(
    run_job: Callable[..., Any],
    jobs: list[tuple[str, dict[str, Any]]],
    data: tuple[Any, ...],
    config: Any,
) -> Iterator[Any]:
    """`run_job(name, hparams, *data, config)` (`recommenders.train.sweep_job`, passed in so
    that this module does not import the pipeline; `data` its splits) for every job as a Ray
    task, yielded in job order; `config` is the run's `TrainConfig` (its `address` picks the
    cluster)."""
    ray = start_ray(config.address)
    splits = ray.put(data)  # once: every task reads the same object
    task = ray.remote(num_cpus=1)(_job)
    futures = [task.remote(run_job, name, hparams, splits, config) for name, hparams in jobs]
    for future in futures:
        yield ray.get(future)
