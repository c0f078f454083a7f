"""Two modules with a task of the same function name, as two Django apps may have."""
