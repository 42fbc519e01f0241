"""A person's data: everything stored about them, exported or erased."""
