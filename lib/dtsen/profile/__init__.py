"""Profile: each family's welfare profile from all agencies, inconsistency flags, review queue, history."""
