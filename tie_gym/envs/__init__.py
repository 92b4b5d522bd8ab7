"""Environment families, one file each."""
