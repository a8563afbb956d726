"""The actgym leaderboard: submissions re-scored by the server, ranked with honest statistics.

Nobody's self-reported number is trusted. The server checks every submission in the
sandbox, trains with it on the public and on hidden task seeds, normalises each task
against ReLU and GELU and ranks by an interquartile mean with a bootstrap interval.
The rules are in docs/leaderboard.md; `actgym leaderboard --help` lists the commands.
"""
