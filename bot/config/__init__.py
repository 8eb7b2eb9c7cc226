"""Configuration: config.yaml plus environment, loaded once into frozen, typed objects.
May import: bot.core.deadlines only (pure types); nothing with side effects.
"""
