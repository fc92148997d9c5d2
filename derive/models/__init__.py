"""Derivation declarations, one module per built-in; :data:`derive.registry.BUILT_INS`
says which module registers which name, and :func:`derive.registry.get` imports it."""
