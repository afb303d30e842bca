"""The budget ledger: caps per job, user-month and tenant-month, held in PostgreSQL."""
