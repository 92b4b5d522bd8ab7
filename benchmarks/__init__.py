"""Speed and quality measurements; each script writes a results table under benchmarks/results/."""
