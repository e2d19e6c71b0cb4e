"""`lab experiment`: a flag flip turned into a measured A/B report."""
