"""The back office at /can-bo: sign-in by one-time link, the queue, ticket pages and their actions,
the leaders' dashboard and the documents. Rules live in bot.backoffice and bot.officials.web_session."""
