"""The composition root: wires config, database, core, channels, senders and the scheduler; the CLI.
The only package that imports handlers and notifications.
"""
