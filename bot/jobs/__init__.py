"""Every scheduled job (reminders, escalation, weekly plan, digest, reception brief, hot spots, report
reminders, housekeeping) and their registry. May import: bot.documents, bot.officials, bot.intake, bot.tickets,
bot.core, bot.config, storage. Never handlers, notifications or apscheduler.
"""
