"""Running jobs unattended: the schedule, leases between processes, job runners and alerts."""
