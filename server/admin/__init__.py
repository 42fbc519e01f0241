"""Administration: the audit log, room and user management, live figures."""
