"""A small Django site using flowrra_django: the README's demo and the end-to-end tests."""
