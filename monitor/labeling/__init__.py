"""Human labels: the active-learning loop in the terminal and the spreadsheet round trip."""
