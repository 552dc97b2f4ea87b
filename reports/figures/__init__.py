"""Figures from validated posts: exact totals, the comparison of two versions, and the one
privacy module that decides which figures a public output may show."""
