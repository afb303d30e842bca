"""Which files of a repository get indexed: globs and skip rules (pure), git (adapter)."""
