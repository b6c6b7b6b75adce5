"""The top floor: what a run was asked for (plan), the parts wired once (runner), full duplex (duplex), and serve
(server)."""
