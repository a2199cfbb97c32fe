"""Allocation: program eligibility, quotas per region, recipients and waitlists, status, publishing."""
