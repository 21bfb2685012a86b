"""HTTP plumbing: the only layer besides views/ that knows Starlette."""
