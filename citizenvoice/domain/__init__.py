"""The rules: plain functions over plain data; no Request, no app.state, no argparse."""
