"""Socket.IO transport: connections, the event router, cross-node delivery."""
